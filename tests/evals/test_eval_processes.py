"""Trials in worker processes give the same record as trials in threads."""

from __future__ import annotations

import dataclasses

import pytest

from agent.config import Settings
from agent.runtime import Tiller
from evals.loader import load_scenario
from evals.runner import AUTO_MIN_TRIALS, RunOptions, _processes, auto_processes, run_scenarios
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


@pytest.mark.parametrize(
    ("model", "concurrency", "trials", "cores", "expected"),
    [
        ("replay", 8, 1000, 2, 2),  # a CPU-bound model, a large run: one worker per core
        ("offline", 8, 1000, 16, 8),  # … but never more than the concurrency asked for
        ("llamacpp:/m.gguf", 4, 100, 8, 4),
        ("replay", 8, AUTO_MIN_TRIALS - 1, 2, 0),  # a small run: worker start-up would dominate
        ("replay", 1, 1000, 2, 0),  # concurrency 1 means one at a time
        ("openai:gpt-4o-mini", 8, 1000, 2, 0),  # a live model waits on the network: threads
        ("offline,openai:gpt-4o-mini", 8, 1000, 2, 0),
        ("replay", 8, 1000, 1, 0),  # one core: nothing to gain
    ],
)
def test_worker_processes_are_chosen_for_large_cpu_bound_runs(
    model: str, concurrency: int, trials: int, cores: int, expected: int
) -> None:
    wanted = auto_processes(model, concurrency, trials, cores=cores)
    assert (wanted if wanted >= 2 else 0) == expected


def test_an_explicit_process_count_wins_over_auto() -> None:
    large = RunOptions(model="replay", concurrency=8)
    assert _processes(dataclasses.replace(large, processes=0), 1000, custom=False) == 0
    assert _processes(dataclasses.replace(large, processes=3), 10, custom=False) == 3
    assert _processes(large, 1000, custom=True) == 0  # a model factory given in code stays in this process
