"""Scoring one trial: every expectation of the scenario, each as a named check with reasons.

Checks, in report order: ``status``, ``limit`` (a run stopped at a limit the scenario does not
expect), ``trajectory``, ``approvals``, ``invariants`` (always),
``state``, ``answer`` and ``answer rubric`` (and ``turn N answer``, ``turn N answer rubric``),
``budget``. A trial passes when no check fails; skipped checks (a rubric without a judge) are
shown but do not fail it; a check in error (the judge gave no usable verdict) fails it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from evals.answer import AnswerVerdict, check_answer
from evals.approvals import check_approvals, check_invariants
from evals.errors import JudgeError
from evals.judge import Judge
from evals.results import CheckResult, PartialCredit
from evals.scenario import AnswerExpectation, Budget, Expectations, Scenario
from evals.state import check_state
from evals.trajectory import explain_credit, match_trajectory
from evals.transcript import Transcript
from tools.rows import RowReader


@dataclass
class Score:
    """The checks of one trial, its partial credit and the trajectory alignment behind it."""

    checks: list[CheckResult] = field(default_factory=list)
    credit: PartialCredit = field(default_factory=PartialCredit)
    matched: list[tuple[int, int]] = field(default_factory=list)


def score_trial(
    scenario: Scenario,
    transcript: Transcript,
    after: RowReader | None,
    before: RowReader | None,
    *,
    skip: Collection[str] = (),
    judge: Judge | None = None,
) -> Score:
    """All checks of ``scenario`` on ``transcript`` (``skip``: kinds of check to leave out;
    ``judge``: grades rubrics, which are skipped without one)."""
    expect = scenario.expect
    checks: list[CheckResult] = []
    credit = PartialCredit()
    matched: list[tuple[int, int]] = []
    if expect.status or expect.stop_reason or transcript.status == "failed":
        checks.append(_status(expect, transcript))
    limit = _limit(expect, transcript)
    if limit is not None:
        checks.append(limit)
    if expect.trajectory:
        verdict = match_trajectory(expect.trajectory, transcript.calls)
        checks.append(CheckResult(name="trajectory", passed=verdict.passed, details=verdict.explanations))
        matched = verdict.matched
        why = explain_credit(expect.trajectory, transcript.calls, verdict)
        credit = PartialCredit(
            precision=round(verdict.precision, 4),
            recall=round(verdict.recall, 4),
            f1=round(verdict.f1, 4),
            mode=expect.trajectory.match,
            matched=why.matched,
            extra=why.extra,
            missing=why.missing,
            note=why.note,
        )
    if expect.approvals:
        problems = check_approvals(expect.approvals, transcript)
        checks.append(CheckResult(name="approvals", passed=not problems, details=problems))
    invariants = check_invariants(transcript, custom_policy=scenario.policy is not None)
    checks.append(CheckResult(name="invariants", passed=not invariants, details=invariants))
    if expect.state and after is not None:
        problems = check_state(expect.state, after, before, scenario.tenant)
        checks.append(CheckResult(name="state", passed=not problems, details=problems))
    if "answer" not in skip:  # before the judge is called: selfcheck probes must not pay for it
        checks += _answers(scenario, transcript, judge)
    if expect.budget:
        problems = check_budget(expect.budget, transcript)
        checks.append(CheckResult(name="budget", passed=not problems, details=problems))
    return Score([c for c in checks if _kind(c.name) not in skip], credit, matched)


def _kind(name: str) -> str:
    """The kind of a check: ``turn 2 answer`` and ``answer rubric`` are ``answer`` checks."""
    return "answer" if name.endswith(("answer", "answer rubric")) else name


def _status(expect: Expectations, transcript: Transcript) -> CheckResult:
    problems = []
    if expect.status and transcript.status != expect.status:
        problems.append(f"expected status {expect.status}, got {transcript.status}")
    if not expect.status and transcript.status == "failed":  # unless a scenario expects it, failing fails
        error = transcript.turns[-1].error or {}
        problems.append(f"the run failed: {error.get('kind', 'error')}: {error.get('message', 'no detail')}")
    if expect.stop_reason and transcript.stop_reason != expect.stop_reason:
        problems.append(f"expected stop reason {expect.stop_reason}, got {transcript.stop_reason or 'none'}")
    return CheckResult(name="status", passed=not problems, details=problems)


def _limit(expect: Expectations, transcript: Transcript) -> CheckResult | None:
    """A run that stopped at a limit the scenario did not expect fails a check of its own, named
    ``limit``, whatever the other checks say: its best-effort answer is not the agent finishing."""
    if expect.status == "limit_reached" or expect.stop_reason:
        return None
    stopped = [(n, t) for n, t in enumerate(transcript.turns, start=1) if t.status == "limit_reached"]
    if not stopped:
        return None
    details = [f"turn {n} stopped at a limit: {t.stop_reason or 'unknown'}" for n, t in stopped]
    return CheckResult(name="limit", passed=False, details=details)


def _answers(scenario: Scenario, transcript: Transcript, judge: Judge | None) -> list[CheckResult]:
    checks: list[CheckResult] = []
    for number, turn in enumerate(scenario.conversation, start=1):
        if turn.answer is None:
            continue
        name = f"turn {number} answer"
        if number > len(transcript.turns):  # its text checks and its rubric alike: nothing to check
            checks.append(CheckResult(name=name, passed=False, details=[f"turn {number} was not run"]))
            continue
        checks += _answer_checks(name, turn.answer, transcript, number, judge)
    if scenario.expect.answer:
        checks += _answer_checks("answer", scenario.expect.answer, transcript, len(transcript.turns), judge)
    return checks


def _answer_checks(
    name: str, expectation: AnswerExpectation, transcript: Transcript, turn: int, judge: Judge | None
) -> list[CheckResult]:
    """The text checks of one answer, then its rubric (each a check of its own)."""
    checks = []
    if expectation.has_text_checks or not expectation.criteria:
        answer = _answer_text(expectation, transcript, turn)
        checks.append(_answer_check(name, check_answer(expectation, answer, label=name)))
    if expectation.criteria:
        checks.append(judge_rubric(f"{name} rubric", expectation.criteria, transcript, turn, judge))
    return checks


def _answer_text(expectation: AnswerExpectation, transcript: Transcript, turn: int) -> str:
    """The answer of ``turn``, or with ``messages: all`` every answer up to it, as one text."""
    if not turn:
        return ""
    if expectation.messages == "final":
        return transcript.turns[turn - 1].answer
    return "\n\n".join(a for t in transcript.turns[:turn] for a in (t.answers or [t.answer]))


def _answer_check(name: str, verdict: AnswerVerdict) -> CheckResult:
    return CheckResult(name=name, passed=verdict.passed, details=verdict.problems)


NO_JUDGE = "no judge model: run with --judge openai:<model> (or set TILLER_EVAL_JUDGE)"


def judge_rubric(name: str, criteria: list[str], transcript: Transcript, turn: int, judge: Judge | None) -> CheckResult:
    """The judge's verdict on the answer of ``turn``: skipped without a judge or an answer, an
    error when the judge gives no usable verdict, failed when a criterion is not met."""
    if judge is None:
        return _not_judged(name, NO_JUDGE)
    if turn == 0:
        return _not_judged(name, "the conversation did not run")
    try:
        results = judge.grade(criteria, transcript, turn)
    except JudgeError as exc:
        return CheckResult(name=name, passed=False, error=True, details=[f"judge error ({judge.spec}): {exc}"])
    failed = [r for r in results if not r.passed]
    shown = failed or results
    details = [f"{'✓' if r.passed else '✗'} {r.criterion!r}: {r.reason or 'no reason given'}" for r in shown]
    return CheckResult(name=name, passed=not failed, details=details, criteria=results)


def _not_judged(name: str, why: str) -> CheckResult:
    return CheckResult(name=name, passed=False, skipped=True, details=[f"not judged: {why}"])


def check_budget(budget: Budget, transcript: Transcript) -> list[str]:
    """Budget overruns, each with the measured value."""
    measured = {
        "steps": (budget.max_steps, transcript.steps),
        "tool calls": (budget.max_tool_calls, transcript.tool_calls),
        "tokens": (budget.max_tokens, transcript.tokens),
        "cost (USD)": (budget.max_cost_usd, transcript.cost_usd),
        "latency (s)": (budget.max_latency_s, transcript.latency_s),
    }
    return [
        f"{name}: {value} over the budget of {limit}"
        for name, (limit, value) in measured.items()
        if limit is not None and value > limit
    ]
