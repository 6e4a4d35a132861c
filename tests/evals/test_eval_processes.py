"""Trials in worker processes give the same record as trials in threads."""

from __future__ import annotations

import dataclasses

from agent.config import Settings
from agent.runtime import Tiller
from evals.loader import load_scenario
from evals.runner import RunOptions, run_scenarios
from evals.scenario import Scenario
from tests.evals.conftest import SCENARIOS

NAMES = ("order-status-shipped", "refund-damaged-approved", "cancel-pending-payment", "policy-refund-timing")


def _verdicts(record_scenarios: list) -> list[tuple[str, str, list[str]]]:
    return [(s.id, s.status, [c.tool for t in s.trials for c in t.transcript.calls]) for s in record_scenarios]


def test_worker_processes_run_every_trial_once_and_agree_with_threads(options: RunOptions, settings: Settings) -> None:
    scenarios: list[Scenario] = [load_scenario(SCENARIOS / f"{name}.yaml") for name in NAMES]
    seen: list[tuple[str, int]] = []
    threads = run_scenarios(scenarios, dataclasses.replace(options, concurrency=2))
    processes = run_scenarios(
        scenarios,
        dataclasses.replace(options, concurrency=2, processes=2, traces_db=settings.db_url),
        on_trial=lambda scenario, trial: seen.append((scenario.id, trial.trial)),
    )
    assert sorted(seen) == sorted((s.id, 1) for s in scenarios)  # progress reported for every trial
    assert _verdicts(processes.scenarios) == _verdicts(threads.scenarios)
    assert processes.summary.trials == 4 and processes.summary.pass_rate == threads.summary.pass_rate
    with Tiller(settings) as tiller:  # each worker copied its trials' traces
        kept = {t.labels["scenario"] for t in tiller.traces.list("acme", limit=100)}
    assert kept == {s.id for s in scenarios if s.tenant == "acme"}
