"""Trajectory matching: expected tool calls against the calls a trial made.

The four modes mean what agentevals' trajectory match means:

- ``strict``: the same calls in the same order;
- ``unordered``: the same calls, as a multiset, in any order;
- ``subset``: every actual call is one of the expected calls (actual ⊆ expected);
- ``superset``: every expected call was made (actual ⊇ expected), other calls allowed.

Unlike agentevals, repeated calls of one tool are aligned *optimally*: the pairing of expected
and actual calls is a maximum bipartite matching (``scipy.optimize.linear_sum_assignment``),
so a loose expected call can never "steal" the only actual call a stricter one could match.
Then the calls left over are paired per tool by fewest differences, so a failure explains
itself: ``step 3 issue_credit.amount: expected 42.00, got 40.00`` or
``missing expected call cancel_booking(booking_id=B1000003)``. Precision, recall and F1 of the
matched calls give partial credit alongside the verdict.

A call whose tool crashed (error kind ``tool_crashed``: it raised an exception that is not a
``ToolError``) is a bug of the tool, not an outcome a scenario describes: it satisfies an expected
``status`` only when the expected call names ``error_kind: tool_crashed``, and the lines that show
such a call (a status that does not match, an unexpected, substituted or forbidden call, the
calls behind partial credit) say the tool crashed and what it raised.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from evals.arg_matching import ArgDiff, compare_args, render_call
from evals.scenario import ExpectedCall, TrajectoryExpectation
from evals.transcript import CallRecord

_UNPAIRABLE = 1_000_000.0
TOOL_CRASHED = "tool_crashed"
"""The runtime's error kind for a call whose tool raised an exception that is not a ``ToolError``."""


@dataclass(frozen=True)
class Comparison:
    """One expected call against one actual call of the same tool."""

    expected: int
    actual: int
    diffs: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """Whether the two calls agree on every compared argument."""
        return not self.diffs


@dataclass
class TrajectoryVerdict:
    """The verdict, the alignment behind it and the explanations of every failure."""

    passed: bool
    mode: str
    explanations: list[str] = field(default_factory=list)
    matched: list[tuple[int, int]] = field(default_factory=list)
    """(expected index, actual index) pairs that match, 0-based."""
    precision: float = 1.0
    recall: float = 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall of the matched calls."""
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


Diffs = list[str] | None
"""Explanation lines of an (expected, actual) pair: empty when they match, ``None`` for another tool."""


def compare_call(expectation: TrajectoryExpectation, expected: ExpectedCall, actual: CallRecord) -> Diffs:
    """Differences between one expected and one actual call: ``[]`` if they match, ``None`` if
    the tools differ, else one line per difference (``step 3 issue_credit.amount: …``)."""
    if expected.tool != actual.tool:
        return None
    prefix = f"step {actual.index} {actual.tool}"
    override = expectation.tools.get(expected.tool)
    args = {**expected.args, **(override.args if override else {})}
    mode = expected.args_match or (override.args_match if override else None) or expectation.args_match
    ignore = frozenset(override.ignore_args) if override else frozenset()
    diffs: list[ArgDiff] = compare_args(args, actual.args, mode, ignore)
    lines = [d.render(prefix) for d in diffs]
    outcome = _outcome_diff(expected, actual)
    if outcome:
        lines.append(f"{prefix}: {outcome}")
    return lines


def _outcome_diff(expected: ExpectedCall, actual: CallRecord) -> str | None:
    """What is wrong with what became of the call, if anything. A crash of the tool satisfies an
    expected outcome only when the expected call names ``error_kind: tool_crashed``: a crash is a
    bug of the tool, while ``status: error`` means an error the tool returned (not found, a rule…)."""
    statuses, kinds = expected.statuses, expected.error_kinds
    if not statuses:
        return None
    if _crashed(actual) and TOOL_CRASHED not in kinds:
        want = f"error kind expected {' or '.join(kinds)}" if kinds else f"status expected {' or '.join(statuses)}"
        return f"{want}, but the tool crashed{_detail(actual)}"
    if actual.status not in statuses:
        return f"status expected {' or '.join(statuses)}, got {actual.status}"
    if kinds and actual.status == "error" and actual.error_kind not in kinds:
        return f"error kind expected {' or '.join(kinds)}, got {actual.error_kind or 'none'}{_detail(actual)}"
    return None


def _crashed(call: CallRecord) -> bool:
    """Whether the call's tool raised an exception that is not a tool error: a bug of the tool."""
    return call.status == "error" and call.error_kind == TOOL_CRASHED


def _detail(call: CallRecord) -> str:
    return f": {call.error}" if call.error else ""


def _crash_note(call: CallRecord) -> str:
    """`` — the tool crashed: <what it raised>`` after a crashed call, so no line hides the bug."""
    return f" — the tool crashed{_detail(call)}" if _crashed(call) else ""


def match_trajectory(expectation: TrajectoryExpectation, actual: Sequence[CallRecord]) -> TrajectoryVerdict:
    """Score ``actual`` against ``expectation`` (mode, args, forbidden tools, max calls)."""
    expected = expectation.calls
    table = [[compare_call(expectation, e, a) for a in actual] for e in expected]
    matched = _maximum_matching(table)
    verdict = TrajectoryVerdict(passed=True, mode=expectation.match, matched=matched)
    verdict.precision = len(matched) / len(actual) if actual else 1.0
    verdict.recall = len(matched) / len(expected) if expected else 1.0
    if expectation.match == "strict":
        verdict.passed = len(expected) == len(actual) and all(table[i][i] == [] for i in range(len(expected)))
        if not verdict.passed:
            verdict.explanations = _explain_strict(expectation, actual, table)
    else:
        verdict.passed = _mode_holds(expectation.match, len(matched), len(expected), len(actual))
        if not verdict.passed:
            verdict.explanations = _explain_unordered(expectation, actual, table, matched)
    problems = _forbidden(expectation, actual) + _over_limit(expectation, actual)
    verdict.explanations += problems
    verdict.passed = verdict.passed and not problems
    return verdict


def _mode_holds(mode: str, matched: int, n_expected: int, n_actual: int) -> bool:
    if mode == "unordered":
        return matched == n_expected == n_actual
    if mode == "subset":
        return matched == n_actual
    return matched == n_expected  # superset


def _maximum_matching(table: list[list[Diffs]]) -> list[tuple[int, int]]:
    return maximum_matching([[diffs == [] for diffs in row] for row in table])


def maximum_matching(ok: Sequence[Sequence[bool]]) -> list[tuple[int, int]]:
    """The most (row, column) pairs with ``ok[row][column]``, each row and column used once.

    A maximum bipartite matching by the Hungarian algorithm on 0/1 costs: unlike a greedy scan,
    it never lets a loose expectation take the only candidate a stricter one could match.
    """
    if not ok or not ok[0]:
        return []
    cost = np.array([[0.0 if cell else 1.0 for cell in row] for row in ok])
    rows, cols = linear_sum_assignment(cost)
    return sorted((int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] == 0.0)


def _closest_pairs(table: list[list[Diffs]], expected: list[int], actual: list[int]) -> list[tuple[int, int]]:
    """Unmatched calls paired by tool with the fewest differences (for explanations only)."""
    if not expected or not actual:
        return []
    cost = np.array([[_pair_cost(table[e][a]) for a in actual] for e in expected])
    rows, cols = linear_sum_assignment(cost)
    pairs = [(expected[r], actual[c]) for r, c in zip(rows, cols, strict=True) if cost[r, c] < _UNPAIRABLE]
    return sorted(pairs, key=lambda p: p[1])


def _pair_cost(diffs: Diffs) -> float:
    return _UNPAIRABLE if diffs is None else float(len(diffs))


def _explain_unordered(
    expectation: TrajectoryExpectation,
    actual: Sequence[CallRecord],
    table: list[list[Diffs]],
    matched: list[tuple[int, int]],
) -> list[str]:
    mode = expectation.match
    free_expected = [i for i in range(len(expectation.calls)) if i not in {e for e, _ in matched}]
    free_actual = [j for j in range(len(actual)) if j not in {a for _, a in matched}]
    lines: list[str] = []
    for e, a in _closest_pairs(table, free_expected, free_actual):
        lines += table[e][a] or []
        free_expected.remove(e)
        free_actual.remove(a)
    if mode != "subset":
        lines += [_missing(expectation.calls[e]) for e in free_expected]
    if mode != "superset":
        lines += [_unexpected(actual[a]) for a in free_actual]
    if not lines and mode == "unordered":
        lines.append(f"expected {len(expectation.calls)} call(s), got {len(actual)}")
    return lines


def _explain_strict(
    expectation: TrajectoryExpectation, actual: Sequence[CallRecord], table: list[list[Diffs]]
) -> list[str]:
    """Align the two sequences by tool name, then explain each difference in order."""
    names_e = [c.tool for c in expectation.calls]
    names_a = [c.tool for c in actual]
    lines: list[str] = []
    opcodes = difflib.SequenceMatcher(a=names_e, b=names_a, autojunk=False).get_opcodes()
    for op, e0, e1, a0, a1 in opcodes:
        if op == "equal":
            for e, a in zip(range(e0, e1), range(a0, a1), strict=True):
                lines += table[e][a] or []
            continue
        pairs = list(zip(range(e0, e1), range(a0, a1), strict=False)) if op == "replace" else []
        lines += [_substituted(expectation.calls[e], actual[a]) for e, a in pairs]
        lines += [_missing(expectation.calls[e]) for e in range(e0 + len(pairs), e1)]
        lines += [_unexpected(actual[a]) for a in range(a0 + len(pairs), a1)]
    return lines or ["the calls are the right ones but not in the expected order"]


def _substituted(expected: ExpectedCall, actual: CallRecord) -> str:
    want = render_call(expected.tool, expected.args, expected=True)
    return f"step {actual.index}: expected {want}, got {render_call(actual.tool, actual.args)}{_crash_note(actual)}"


def _missing(call: ExpectedCall) -> str:
    return f"missing expected call {render_call(call.tool, call.args, expected=True)}"


def _unexpected(call: CallRecord) -> str:
    return f"unexpected call at step {call.index}: {render_call(call.tool, call.args)}{_crash_note(call)}"


def _forbidden(expectation: TrajectoryExpectation, actual: Sequence[CallRecord]) -> list[str]:
    banned = set(expectation.forbidden)
    return [
        f"forbidden tool called at step {c.index}: {render_call(c.tool, c.args)}{_crash_note(c)}"
        for c in actual
        if c.tool in banned
    ]


def _over_limit(expectation: TrajectoryExpectation, actual: Sequence[CallRecord]) -> list[str]:
    counts = Counter(c.tool for c in actual)
    return [
        f"{tool} called {counts[tool]} times, at most {limit} allowed"
        for tool, limit in expectation.max_calls.items()
        if counts[tool] > limit
    ]


@dataclass(frozen=True)
class CreditExplanation:
    """Why a trial's partial credit is what it is, in a reader's words."""

    matched: list[str]
    """``expected ↔ step N actual`` for every matched pair."""
    extra: list[str]
    """``step N call`` for actual calls no expected call matched."""
    missing: list[str]
    """Expected calls no actual call matched."""
    note: str
    """Empty at F1 1; else what lowered it and whether the match mode allows that."""


_ALLOWS = {
    "superset": "match: superset allows calls beyond the expected ones",
    "subset": "match: subset allows expected calls to be left out",
}


def explain_credit(
    expectation: TrajectoryExpectation, actual: Sequence[CallRecord], verdict: TrajectoryVerdict
) -> CreditExplanation:
    """Which calls matched, which were extra or missing, and — when F1 is below 1 — why the
    trajectory passes anyway (the mode allows it) or fails (it does not)."""
    expected = expectation.calls
    paired_e, paired_a = {e for e, _ in verdict.matched}, {a for _, a in verdict.matched}
    matched = [
        f"{render_call(expected[e].tool, expected[e].args, expected=True)} ↔ step {actual[a].index} "
        f"{render_call(actual[a].tool, actual[a].args)}{_crash_note(actual[a])}"
        for e, a in verdict.matched
    ]
    extra = [
        f"step {c.index} {render_call(c.tool, c.args)}{_crash_note(c)}"
        for j, c in enumerate(actual)
        if j not in paired_a
    ]
    missing = [render_call(c.tool, c.args, expected=True) for i, c in enumerate(expected) if i not in paired_e]
    if not extra and not missing:
        return CreditExplanation(matched, extra, missing, "")
    why = []
    if extra:
        why.append(
            f"{len(extra)} of {len(actual)} actual call(s) matched no expected call (precision {verdict.precision:.2f})"
        )
    if missing:
        why.append(f"{len(missing)} of {len(expected)} expected call(s) were not made (recall {verdict.recall:.2f})")
    mode = expectation.match
    tolerated = (mode == "superset" and not missing) or (mode == "subset" and not extra)
    if verdict.passed:
        outcome = f"{_ALLOWS.get(mode, f'match: {mode}')}, so the trajectory passes"
    elif tolerated:
        outcome = f"{_ALLOWS[mode]}, but the trajectory fails for another reason (see its check)"
    else:
        outcome = f"match: {mode} does not allow that, so the trajectory fails"
    note = f"F1 {verdict.f1:.2f}: {'; '.join(why)}; {outcome}"
    return CreditExplanation(matched, extra, missing, note)
