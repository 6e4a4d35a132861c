"""A crash of a tool (error kind ``tool_crashed``) is a bug of the tool, not the outcome a scenario
describes: ``status: error`` is not satisfied by it, ``error_kind: tool_crashed`` is, and every
explanation that shows a crashed call says the tool crashed and what it raised."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from evals.errors import ScenarioInvalid
from evals.loader import load_scenario
from evals.runner import RunOptions, run_scenarios
from evals.scenario import TrajectoryExpectation
from evals.trajectory import explain_credit, match_trajectory
from evals.transcript import CallRecord
from tools.contract import ToolContext, ToolSpec
from tools.domain import Domain

from .conftest import SCENARIOS

LOOKUP = {"tool": "get_order", "args": {"order_id": "W1234567"}}
CRASH = "get_order failed: TypeError: OrderMissing.__init__() missing 1 required positional argument: 'reason'"


def call(status: str = "executed", kind: str | None = None, error: str | None = None, index: int = 1) -> CallRecord:
    args = {"order_id": "W1234567"}
    return CallRecord(index=index, tool="get_order", args=args, status=status, error_kind=kind, error=error)


def crashed(index: int = 1) -> CallRecord:
    return call("error", "tool_crashed", CRASH, index)


def expect(*calls: dict[str, Any], mode: str = "strict") -> TrajectoryExpectation:
    return TrajectoryExpectation.model_validate({"match": mode, "calls": list(calls)})


# -- what an expected outcome matches ------------------------------------------------------


def test_status_error_is_not_satisfied_by_a_crash_and_the_explanation_says_the_tool_crashed() -> None:
    verdict = match_trajectory(expect({**LOOKUP, "status": "error"}), [crashed()])
    assert not verdict.passed and verdict.matched == []
    assert verdict.explanations == [f"step 1 get_order: status expected error, but the tool crashed: {CRASH}"]


def test_status_error_still_matches_the_errors_a_tool_returns() -> None:
    for kind in ("not_found", "business_rule", "unavailable"):
        verdict = match_trajectory(expect({**LOOKUP, "status": "error"}), [call("error", kind, "no such order")])
        assert verdict.passed, (kind, verdict.explanations)


def test_a_list_of_statuses_is_not_satisfied_by_a_crash_either() -> None:
    verdict = match_trajectory(expect({**LOOKUP, "status": ["executed", "error"]}), [crashed()])
    assert verdict.explanations == [
        f"step 1 get_order: status expected executed or error, but the tool crashed: {CRASH}"
    ]


def test_error_kind_tool_crashed_expects_the_crash() -> None:
    assert match_trajectory(expect({**LOOKUP, "error_kind": "tool_crashed"}), [crashed()]).passed
    either = {**LOOKUP, "status": "error", "error_kind": ["not_found", "tool_crashed"]}
    assert match_trajectory(expect(either), [crashed()]).passed
    assert match_trajectory(expect(either), [call("error", "not_found")]).passed


def test_error_kind_pins_the_kind_of_error_and_implies_status_error() -> None:
    not_found = {**LOOKUP, "error_kind": "not_found"}
    assert match_trajectory(expect(not_found), [call("error", "not_found")]).passed
    refused = match_trajectory(expect(not_found), [call("error", "business_rule", "order W1234567 has shipped")])
    assert refused.explanations == [
        "step 1 get_order: error kind expected not_found, got business_rule: order W1234567 has shipped"
    ]
    assert match_trajectory(expect(not_found), [call("executed")]).explanations == [
        "step 1 get_order: status expected error, got executed"
    ]
    assert match_trajectory(expect(not_found), [crashed()]).explanations == [
        f"step 1 get_order: error kind expected not_found, but the tool crashed: {CRASH}"
    ]


def test_error_kind_with_a_status_that_is_not_an_error_does_not_load(tmp_path: Path) -> None:
    text = (
        "id: contradiction\nturns: [where is my order]\nexpect:\n  trajectory:\n    calls:\n"
        "      - {tool: get_order, status: executed, error_kind: not_found}\n"
    )
    path = tmp_path / "contradiction.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioInvalid, match="error_kind names the kind of an error") as caught:
        load_scenario(path)
    assert f"{path}:6:9: expect.trajectory.calls[0]" in str(caught.value)


def test_an_expected_call_without_a_status_matches_a_crash_and_its_credit_line_says_so() -> None:
    # It does not say what became of the call: the call was made, the crash still shows.
    expectation = expect(LOOKUP)
    verdict = match_trajectory(expectation, [crashed()])
    assert verdict.passed
    assert explain_credit(expectation, [crashed()], verdict).matched == [
        f"get_order(order_id=W1234567) ↔ step 1 get_order(order_id=W1234567) — the tool crashed: {CRASH}"
    ]


# -- crashed calls the scenario does not mention ---------------------------------------------


def test_an_unexpected_or_forbidden_crashed_call_says_the_tool_crashed() -> None:
    verdict = match_trajectory(expect(LOOKUP), [call(), crashed(index=2)])
    assert verdict.explanations == [
        f"unexpected call at step 2: get_order(order_id=W1234567) — the tool crashed: {CRASH}"
    ]
    banned = TrajectoryExpectation(match="superset", forbidden=["get_order"])
    assert match_trajectory(banned, [crashed()]).explanations == [
        f"forbidden tool called at step 1: get_order(order_id=W1234567) — the tool crashed: {CRASH}"
    ]


def test_an_extra_crashed_call_a_superset_allows_is_listed_as_crashed() -> None:
    search = {"tool": "search_knowledge_base", "args": {"query": "orders"}}
    expectation = expect(search, mode="superset")
    actual = [CallRecord(index=1, tool="search_knowledge_base", args={"query": "orders"}), crashed(index=2)]
    verdict = match_trajectory(expectation, actual)
    assert verdict.passed
    assert explain_credit(expectation, actual, verdict).extra == [
        f"step 2 get_order(order_id=W1234567) — the tool crashed: {CRASH}"
    ]


def test_a_different_tool_at_a_step_that_crashed_says_so() -> None:
    search = {"tool": "search_knowledge_base", "args": {"query": "orders"}}
    assert match_trajectory(expect(search), [crashed()]).explanations == [
        "step 1: expected search_knowledge_base(query=orders), got get_order(order_id=W1234567)"
        f" — the tool crashed: {CRASH}"
    ]


# -- end to end: a tool with a bug, on the real graph ----------------------------------------


class OrderMissing(Exception):
    def __init__(self, order_id: str, reason: str) -> None:
        super().__init__(f"order {order_id}: {reason}")


def _broken_get_order(ctx: ToolContext, args: Any) -> Any:
    raise OrderMissing(args.order_id)  # type: ignore[call-arg]  # the bug: an argument left out


@pytest.fixture
def broken_get_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every domain's ``get_order`` raises a ``TypeError``, as a tool with that bug does."""
    tool_specs = Domain.tool_specs

    def specs(domain: Domain) -> list[ToolSpec]:
        return [replace(s, func=_broken_get_order) if s.name == "get_order" else s for s in tool_specs(domain)]

    monkeypatch.setattr(Domain, "tool_specs", specs)


@pytest.mark.usefixtures("broken_get_order")
def test_a_scenario_expecting_an_error_fails_when_the_tool_crashes(options: RunOptions) -> None:
    scenario = load_scenario(SCENARIOS / "order-not-found.yaml")  # get_order, status: error
    [result] = run_scenarios([scenario], options).scenarios
    [trial] = result.trials
    assert trial.transcript.calls[0].error_kind == "tool_crashed"
    [trajectory] = [c for c in trial.checks if c.name == "trajectory"]
    assert not trajectory.passed and result.status == "failed"
    assert trajectory.details == [f"step 1 get_order: status expected error, but the tool crashed: {CRASH}"]


@pytest.mark.usefixtures("broken_get_order")
def test_a_scenario_that_names_the_crash_passes_its_trajectory(options: RunOptions, tmp_path: Path) -> None:
    text = (SCENARIOS / "order-not-found.yaml").read_text(encoding="utf-8")
    path = tmp_path / "order-lookup-crashes.yaml"
    path.write_text(text.replace("status: error", "error_kind: tool_crashed"), encoding="utf-8")
    [result] = run_scenarios([load_scenario(path)], replace(options, skip_checks=("answer",))).scenarios
    [trial] = result.trials
    assert trial.transcript.calls[0].error == CRASH
    assert result.status == "passed", trial.explanations
