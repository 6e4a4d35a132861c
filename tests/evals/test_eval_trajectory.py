"""Trajectory matching: the four modes, argument modes and matchers, optimal alignment, and the
explanations a failure prints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from evals.scenario import TrajectoryExpectation
from evals.trajectory import explain_credit, match_trajectory
from evals.transcript import CallRecord


def calls(*specs: tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str]) -> list[CallRecord]:
    return [
        CallRecord(index=i, tool=s[0], args=s[1], status=s[2] if len(s) > 2 else "executed")  # type: ignore[misc]
        for i, s in enumerate(specs, start=1)
    ]


def expect(mode: str = "strict", args_match: str = "exact", **extra: Any) -> TrajectoryExpectation:
    expected = extra.pop("calls")
    return TrajectoryExpectation.model_validate({"match": mode, "args_match": args_match, "calls": expected, **extra})


LOOKUP = {"tool": "get_order", "args": {"order_id": "W1000001"}}
REFUND = {"tool": "issue_refund", "args": {"order_id": "W1000001", "amount": Decimal("42.00"), "reason": "damaged"}}
A_LOOKUP = ("get_order", {"order_id": "W1000001"})
A_REFUND = ("issue_refund", {"order_id": "W1000001", "amount": "42", "reason": "damaged"})
A_SEARCH = ("search_knowledge_base", {"query": "refunds", "top_k": 4})


# -- the four modes ------------------------------------------------------------------------

MODES = [
    # mode, actual, passes
    ("strict", [A_LOOKUP, A_REFUND], True),
    ("strict", [A_REFUND, A_LOOKUP], False),
    ("strict", [A_LOOKUP, A_SEARCH, A_REFUND], False),
    ("unordered", [A_REFUND, A_LOOKUP], True),
    ("unordered", [A_LOOKUP, A_REFUND, A_SEARCH], False),
    ("unordered", [A_LOOKUP], False),
    ("subset", [A_LOOKUP], True),
    ("subset", [], True),
    ("subset", [A_LOOKUP, A_SEARCH], False),
    ("superset", [A_SEARCH, A_REFUND, A_LOOKUP], True),
    ("superset", [A_LOOKUP], False),
]


@pytest.mark.parametrize(("mode", "actual", "passes"), MODES)
def test_match_modes_mean_what_agentevals_means(mode: str, actual: list[Any], passes: bool) -> None:
    verdict = match_trajectory(expect(mode, calls=[LOOKUP, REFUND]), calls(*actual))
    assert verdict.passed is passes, verdict.explanations
    assert bool(verdict.explanations) is not passes


def test_unordered_is_a_multiset_match() -> None:
    twice = [LOOKUP, LOOKUP]
    assert match_trajectory(expect("unordered", calls=twice), calls(A_LOOKUP, A_LOOKUP)).passed
    assert not match_trajectory(expect("unordered", calls=twice), calls(A_LOOKUP)).passed
    assert not match_trajectory(expect("unordered", calls=[LOOKUP]), calls(A_LOOKUP, A_LOOKUP)).passed


# -- explanations --------------------------------------------------------------------------


def test_an_argument_difference_names_the_step_tool_and_values() -> None:
    actual = calls(A_LOOKUP, A_SEARCH, ("issue_refund", {"order_id": "W1000001", "amount": "40", "reason": "damaged"}))
    verdict = match_trajectory(expect("superset", calls=[LOOKUP, REFUND]), actual)
    assert verdict.explanations == ["step 3 issue_refund.amount: expected 42.00, got 40.00"]


def test_a_missing_call_is_named_with_its_arguments() -> None:
    cancel = {"tool": "cancel_order", "args": {"order_id": "W1000003"}}
    verdict = match_trajectory(expect("superset", calls=[LOOKUP, cancel]), calls(A_LOOKUP))
    assert verdict.explanations == ["missing expected call cancel_order(order_id=W1000003)"]


def test_strict_explains_an_extra_call_in_the_middle_and_keeps_aligning_after_it() -> None:
    verdict = match_trajectory(expect("strict", calls=[LOOKUP, REFUND]), calls(A_LOOKUP, A_SEARCH, A_REFUND))
    assert verdict.explanations == ["unexpected call at step 2: search_knowledge_base(query=refunds, top_k=4)"]


def test_strict_explains_a_different_tool_at_a_step() -> None:
    verdict = match_trajectory(expect("strict", calls=[LOOKUP]), calls(A_SEARCH))
    assert verdict.explanations == [
        "step 1: expected get_order(order_id=W1000001), got search_knowledge_base(query=refunds, top_k=4)"
    ]


def test_exact_args_report_missing_and_unexpected_arguments() -> None:
    actual = calls(("issue_refund", {"order_id": "W1000001", "reason": "damaged", "note": "x"}))
    verdict = match_trajectory(expect("strict", calls=[REFUND]), actual)
    assert verdict.explanations == [
        "step 1 issue_refund.amount: expected 42.00, got nothing",
        "step 1 issue_refund.note: not expected, got x",
    ]


def test_expected_status_is_part_of_the_match() -> None:
    rejected = {**REFUND, "status": "rejected"}
    assert match_trajectory(expect(calls=[rejected]), calls((*A_REFUND, "rejected"))).passed
    verdict = match_trajectory(expect(calls=[rejected]), calls((*A_REFUND, "executed")))
    assert verdict.explanations == ["step 1 issue_refund: status expected rejected, got executed"]


# -- optimal alignment ---------------------------------------------------------------------


def test_repeated_calls_are_aligned_optimally_not_greedily() -> None:
    # A greedy scan pairs the loose expectation {a: 1} with the first call, leaving the strict
    # {a: 1, b: 2} without a partner; the optimal alignment pairs them crosswise.
    expected = [{"tool": "f", "args": {"a": 1}}, {"tool": "f", "args": {"a": 1, "b": 2}}]
    actual = calls(("f", {"a": 1, "b": 2}), ("f", {"a": 1, "b": 3}))
    verdict = match_trajectory(expect("superset", "subset", calls=expected), actual)
    assert verdict.passed and verdict.matched == [(0, 1), (1, 0)]


def test_leftover_calls_are_explained_against_their_closest_counterpart() -> None:
    expected = [
        {"tool": "issue_refund", "args": {"order_id": "W1000001", "amount": 10}},
        {"tool": "issue_refund", "args": {"order_id": "W1000004", "amount": 20}},
    ]
    actual = calls(
        ("issue_refund", {"order_id": "W1000004", "amount": 25}),
        ("issue_refund", {"order_id": "W1000001", "amount": 10}),
    )
    verdict = match_trajectory(expect("unordered", "subset", calls=expected), actual)
    assert verdict.explanations == ["step 1 issue_refund.amount: expected 20, got 25"]


# -- argument modes and matchers -----------------------------------------------------------


def test_args_match_ignore_subset_and_overrides() -> None:
    loose = {"tool": "search_knowledge_base", "args": {"query": "something else"}}
    assert match_trajectory(expect(args_match="ignore", calls=[loose]), calls(A_SEARCH)).passed
    assert not match_trajectory(expect(args_match="subset", calls=[loose]), calls(A_SEARCH)).passed
    per_call = {**loose, "args_match": "ignore"}
    assert match_trajectory(expect(args_match="exact", calls=[per_call]), calls(A_SEARCH)).passed
    per_tool = {"search_knowledge_base": {"args_match": "ignore"}}
    assert match_trajectory(expect(calls=[loose], tools=per_tool), calls(A_SEARCH)).passed


def test_numbers_compare_by_value_and_nulls_count_as_absent() -> None:
    expected = [{"tool": "issue_refund", "args": {"order_id": "W1000001", "amount": 42, "reason": "damaged"}}]
    actual = calls(("issue_refund", {"order_id": "W1000001", "amount": "42.00", "reason": "damaged", "note": None}))
    assert match_trajectory(expect(calls=expected), actual).passed


@pytest.mark.parametrize(
    ("matcher", "value", "passes"),
    [
        ({"regex": "(?i)refund"}, "Refunds policy", True),
        ({"regex": "^return"}, "refunds", False),
        ({"approx": Decimal("129.99"), "tolerance": Decimal("0.01")}, "129.98", True),
        ({"approx": Decimal("129.99")}, "129.90", False),
        ({"any_of": ["damaged", "wrong_item"]}, "wrong_item", True),
        ({"any_of": ["damaged", "wrong_item"]}, "changed_mind", False),
        ({"any": True}, "anything", True),
        ({"equals": {"line1": "500 Pine St"}}, {"line1": "500 Pine St"}, True),
    ],
)
def test_argument_matchers(matcher: dict[str, Any], value: Any, passes: bool) -> None:
    expected = [{"tool": "f", "args": {"x": matcher}}]
    assert match_trajectory(expect(calls=expected), calls(("f", {"x": value}))).passed is passes


def test_per_tool_argument_matchers_and_ignored_arguments() -> None:
    tools = {"search_knowledge_base": {"args": {"query": {"regex": "refund"}}, "ignore_args": ["top_k"]}}
    expected = [{"tool": "search_knowledge_base", "args": {"query": "ignored literal"}}]
    assert match_trajectory(expect(calls=expected, tools=tools), calls(A_SEARCH)).passed


def test_failed_matcher_reads_well() -> None:
    expected = [{"tool": "f", "args": {"amount": {"approx": Decimal("42.00"), "tolerance": Decimal("0.5")}}}]
    verdict = match_trajectory(expect(calls=expected), calls(("f", {"amount": "40"})))
    assert verdict.explanations == ["step 1 f.amount: expected 42.00 ± 0.5, got 40.00"]


# -- forbidden tools, max calls, partial credit --------------------------------------------


def test_forbidden_tools_and_max_calls() -> None:
    expectation = expect("superset", calls=[LOOKUP], forbidden=["issue_refund"], max_calls={"get_order": 1})
    verdict = match_trajectory(expectation, calls(A_LOOKUP, A_LOOKUP, A_REFUND))
    assert not verdict.passed
    assert verdict.explanations == [
        "forbidden tool called at step 3: issue_refund(order_id=W1000001, amount=42, reason=damaged)",
        "get_order called 2 times, at most 1 allowed",
    ]


def test_precision_recall_and_f1_give_partial_credit() -> None:
    verdict = match_trajectory(expect("strict", calls=[LOOKUP, REFUND]), calls(A_LOOKUP, A_SEARCH))
    assert (verdict.precision, verdict.recall, verdict.f1) == (0.5, 0.5, 0.5)
    perfect = match_trajectory(expect(calls=[]), [])
    assert perfect.passed and perfect.f1 == 1.0


# -- partial credit, explained -------------------------------------------------------------


def test_a_superset_pass_with_an_extra_call_says_which_call_and_that_the_mode_allows_it() -> None:
    expectation = expect("superset", args_match="subset", calls=[LOOKUP])
    actual = calls(A_LOOKUP, A_SEARCH)
    verdict = match_trajectory(expectation, actual)
    why = explain_credit(expectation, actual, verdict)
    assert verdict.passed and round(verdict.f1, 2) == 0.67
    assert why.matched == ["get_order(order_id=W1000001) ↔ step 1 get_order(order_id=W1000001)"]
    assert why.extra == ["step 2 search_knowledge_base(query=refunds, top_k=4)"]
    assert why.missing == []
    assert why.note == (
        "F1 0.67: 1 of 2 actual call(s) matched no expected call (precision 0.50); "
        "match: superset allows calls beyond the expected ones, so the trajectory passes"
    )


def test_a_subset_pass_with_a_call_left_out_says_so() -> None:
    expectation = expect("subset", calls=[LOOKUP, REFUND])
    actual = calls(A_LOOKUP)
    why = explain_credit(expectation, actual, match_trajectory(expectation, actual))
    assert why.missing and why.missing[0].startswith("issue_refund(") and why.extra == []
    assert why.note == (
        "F1 0.67: 1 of 2 expected call(s) were not made (recall 0.50); "
        "match: subset allows expected calls to be left out, so the trajectory passes"
    )


def test_partial_credit_of_a_failing_trajectory_says_what_the_mode_does_not_allow() -> None:
    strict = expect("strict", calls=[LOOKUP])
    actual = calls(A_LOOKUP, A_SEARCH)
    why = explain_credit(strict, actual, match_trajectory(strict, actual))
    assert why.note.endswith("match: strict does not allow that, so the trajectory fails")
    banned = expect("superset", args_match="subset", calls=[LOOKUP], forbidden=["search_knowledge_base"])
    why = explain_credit(banned, actual, match_trajectory(banned, actual))
    assert why.note.endswith(
        "superset allows calls beyond the expected ones, but the trajectory fails for another reason (see its check)"
    )
    full = expect("strict", calls=[LOOKUP])
    assert explain_credit(full, calls(A_LOOKUP), match_trajectory(full, calls(A_LOOKUP))).note == ""
