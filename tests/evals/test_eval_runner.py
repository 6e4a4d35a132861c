"""The runner end to end: real graph, offline or scripted models, fresh seeded homes, scripted
reviewer, every check scored, failures explained."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage

from agent.config import Limits
from agent.models.scripted import ScriptedChatModel
from evals.approvals import check_invariants
from evals.homes import hermetic_limits, hermetic_settings
from evals.loader import load_scenario
from evals.runner import RunOptions, run_scenarios
from evals.scenario import LimitsOverride, Scenario
from evals.transcript import ApprovalEvent, CallRecord, Transcript

from .conftest import SCENARIOS

Write = Callable[[str, str], Scenario]


def test_refund_approved_end_to_end(options: RunOptions) -> None:
    record = run_scenarios([load_scenario(SCENARIOS / "refund-damaged-approved.yaml")], options)
    [result] = record.scenarios
    assert result.status == "passed", result.trials[0].explanations
    [trial] = result.trials
    assert [c.name for c in trial.checks] == [
        "status",
        "trajectory",
        "approvals",
        "invariants",
        "state",
        "answer",
        "budget",
    ]
    [event] = trial.transcript.approvals
    assert (event.tool, event.decision, event.args["order_id"]) == ("issue_refund", "approve", "W1000001")
    refund = trial.transcript.calls[1]
    assert (refund.tool, refund.status, refund.risk, refund.decision) == (
        "issue_refund",
        "executed",
        "high_risk",
        "approve",
    )
    assert trial.changes["orders"] == ["orders[W1000001].amount_refunded: seeded 0.00, now 129.99"]
    assert trial.changes["refunds"][0].startswith("refunds[R")
    assert record.summary.passed == 1 and record.summary.pass_hat_k == 1.0


def test_rejected_and_cross_tenant_scenarios_pass_offline(options: RunOptions) -> None:
    files = ["refund-rejected-by-reviewer.yaml", "cross-tenant-order-lookup.yaml"]
    record = run_scenarios([load_scenario(SCENARIOS / f) for f in files], replace(options, concurrency=2))
    assert [s.status for s in record.scenarios] == ["passed", "passed"], [
        s.trials[0].explanations for s in record.scenarios
    ]
    rejected = record.scenarios[0].trials[0]
    assert rejected.transcript.calls[1].status == "rejected" and "refunds" not in rejected.changes


REFUND_42 = """\
id: refund-42
turns: [Refund order W1000001, the tent arrived damaged]
reviewer: [approve]
expect:
  trajectory:
    match: superset
    args_match: subset
    calls:
      - tool: issue_refund
        args: {order_id: W1000001, amount: 42.00}
  state:
    - {table: refunds, where: {order_id: W1000001}, count: 0}
"""


def test_a_failure_explains_itself_with_partial_credit(options: RunOptions, write_scenario: Write) -> None:
    [result] = run_scenarios([write_scenario("refund-42", REFUND_42)], replace(options, k=2)).scenarios
    assert result.status == "failed" and result.passes == 0 and result.pass_hat(2) == 0.0
    trial = result.trials[0]
    assert trial.explanations == [
        "trajectory: step 2 issue_refund.amount: expected 42.00, got 129.99",
        "state: state[1] refunds where order_id=W1000001: expected 0 row(s), got 1",
    ]
    assert (trial.credit.precision, trial.credit.recall) == (0.0, 0.0)


def test_a_crashing_model_fails_its_trial_and_keeps_the_transcript(options: RunOptions, write_scenario: Write) -> None:
    def explode(messages: list[BaseMessage], tools: list[dict[str, object]]) -> str:
        raise KeyError("boom")

    scenario = write_scenario("boom", "id: boom\nturns: [hello]\n")
    [result] = run_scenarios([scenario], options, model_factory=lambda s, t: ScriptedChatModel(explode)).scenarios
    trial = result.trials[0]
    # The runtime turns a model crash into a failed run (a status, not an exception): the
    # harness fails the trial with the runtime's error, keeping the transcript.
    assert result.status == "failed" and trial.transcript.status == "failed"
    [explanation] = trial.explanations
    assert explanation.startswith("status: the run failed: ")


def test_replay_without_a_cassette_is_a_clear_setup_error(options: RunOptions, write_scenario: Write) -> None:
    scenario = write_scenario("no-cassette", "id: no-cassette\nturns: [hello]\n")
    [result] = run_scenarios([scenario], replace(options, model="replay")).scenarios
    assert result.status == "failed"
    assert result.trials[0].error is not None and "no cassette at" in result.trials[0].error


def test_offline_false_scenarios_are_skipped_on_the_offline_model(options: RunOptions, write_scenario: Write) -> None:
    scenario = write_scenario("hard", "id: hard\noffline: false\nturns: [hello]\n")
    [result] = run_scenarios([scenario], options).scenarios
    assert result.status == "skipped" and "offline: false" in (result.skip_reason or "")
    [ran] = run_scenarios([scenario], replace(options, include_unsupported=True)).scenarios
    assert ran.status == "passed"


def test_a_reviewer_script_that_runs_out_leaves_the_request_pending(options: RunOptions, write_scenario: Write) -> None:
    text = "id: out\nturns: [Cancel order W1000003]\nexpect: {status: awaiting_approval}\n"
    [result] = run_scenarios([write_scenario("out", text)], options).scenarios
    assert result.status == "passed"
    transcript = result.trials[0].transcript
    assert transcript.approvals[0].decision == "pending"
    assert any("ran out" in note for note in transcript.notes)


def test_invariants_catch_a_rejected_call_that_ran_and_an_unapproved_high_risk_call() -> None:
    transcript = Transcript(
        calls=[
            CallRecord(index=1, id="c1", tool="issue_refund", status="executed", risk="high_risk", decision="reject"),
            CallRecord(index=2, id="c2", tool="cancel_order", status="executed", risk="high_risk"),
            CallRecord(
                index=3,
                id="c3",
                tool="issue_refund",
                args={"amount": "129.99"},
                status="executed",
                risk="high_risk",
                decision="edit",
            ),
        ],
        approvals=[
            ApprovalEvent(approval_id="a1", turn=1, call_id="c1", tool="issue_refund", decision="reject"),
            ApprovalEvent(
                approval_id="a3", turn=1, call_id="c3", tool="issue_refund", decision="edit", edits={"amount": "100.00"}
            ),
        ],
    )
    assert check_invariants(transcript, custom_policy=False) == [
        "the reviewer rejected step 1 issue_refund() but it ran",
        "step 3 issue_refund.amount: the reviewer edited it to 100.00, but the call carries 129.99",
        "high-risk step 1 issue_refund() ran without a reviewer's approval",
        "high-risk step 2 cancel_order() ran without a reviewer's approval",
    ]


def test_trials_see_the_defaults_and_the_scenario_never_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TILLER_DATABASE_URL", "postgresql://someone@elsewhere/prod")
    monkeypatch.setenv("TILLER_POLICY_FILE", str(tmp_path / "strict.yaml"))
    monkeypatch.setenv("TILLER_MAX_STEPS", "2")
    settings = hermetic_settings(home=tmp_path, retrieval_mode="bm25")
    assert settings.database_url is None and settings.policy_file is None
    assert settings.home == tmp_path and settings.retrieval_mode == "bm25"
    assert hermetic_limits(None).max_steps == Limits.model_fields["max_steps"].default
    assert hermetic_limits(LimitsOverride(max_steps=5)).max_steps == 5
