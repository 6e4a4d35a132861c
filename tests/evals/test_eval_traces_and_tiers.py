"""Eval runs leave their traces where a person looks (CLI, /traces) and report router tiers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.config import Settings
from agent.runtime import Tiller
from evals.cli import app
from evals.loader import load_scenario
from evals.runner import RunOptions, run_scenarios
from tests.evals.conftest import SCENARIOS, ServeFake, say

REFUND = SCENARIOS / "refund-damaged-approved.yaml"
STATUS = SCENARIOS / "order-status-shipped.yaml"


def test_each_trials_traces_are_copied_into_the_home_database_with_scenario_labels(
    options: RunOptions, settings: Settings
) -> None:
    scenario = load_scenario(REFUND)
    record = run_scenarios([scenario], dataclasses.replace(options, k=2, traces_db=settings.db_url))
    with Tiller(settings) as tiller:
        kept = [tiller.traces.get(scenario.tenant, t.id) for t in tiller.traces.list(scenario.tenant, limit=100)]
    run_ids = [r for trial in record.scenarios[0].trials for turn in trial.transcript.turns for r in turn.run_ids]
    assert len(run_ids) == 4  # per trial: the ask that waits for approval, then the resume
    assert sorted(t.id for t in kept) == sorted(run_ids)
    assert {(t.labels["scenario"], t.labels["trial"]) for t in kept} == {(scenario.id, "1"), (scenario.id, "2")}
    assert all(t.spans and "eval_run" in t.labels for t in kept)
    assert any(s.kind == "tool" and s.name == "issue_refund" for t in kept for s in t.spans)


def test_without_a_traces_database_nothing_is_copied(options: RunOptions, settings: Settings) -> None:
    record = run_scenarios([load_scenario(STATUS)], options)
    assert record.scenarios[0].trials[0].transcript.turns[0].run_ids  # the ids are still reported
    with Tiller(settings) as tiller:
        assert tiller.traces.list(settings.tenant) == []


def test_the_cli_keeps_traces_only_in_an_existing_home(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TILLER_HOME", str(tmp_path / "nowhere"))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    outcome = CliRunner().invoke(app, ["run", str(STATUS), "--concurrency", "1"])
    assert outcome.exit_code == 0, outcome.output
    assert "traces not kept: no Tiller database" in outcome.output
    assert not (tmp_path / "nowhere").exists()  # an eval never creates a home
    monkeypatch.setenv("TILLER_HOME", str(settings.home))
    outcome = CliRunner().invoke(app, ["run", str(STATUS), "--concurrency", "1"])
    assert outcome.exit_code == 0, outcome.output
    with Tiller(settings) as tiller:
        assert [t.labels["scenario"] for t in tiller.traces.list(settings.tenant)] == [load_scenario(STATUS).id]


def test_a_router_run_reports_pass_rate_cost_and_latency_per_tier(options: RunOptions, fake_llm: ServeFake) -> None:
    status, refund = load_scenario(STATUS), load_scenario(REFUND)
    with fake_llm([say("I could not do that.")]) as server:
        record = run_scenarios(
            [status, refund], dataclasses.replace(options, model="router:offline,openai:gpt-4o-mini", concurrency=1)
        )
    assert len(server.requests) == 1  # only the refund (an action) was escalated
    tiers = {t.tier: t for t in record.summary.tiers}
    assert set(tiers) == {"cheap", "strong"}
    assert (tiers["cheap"].trials, tiers["cheap"].passed) == (1, 1)
    assert (tiers["strong"].trials, tiers["strong"].passed) == (1, 0)  # the scripted strong reply did nothing
    assert tiers["strong"].cost_usd > 0 and tiers["cheap"].cost_usd == 0
    assert tiers["cheap"].model_steps >= 2 and tiers["strong"].model_steps == 1
    routes = record.scenarios[1].trials[0].transcript.turns[0].routes
    assert routes[0].tier == "strong" and "issue_refund" in routes[0].reason
