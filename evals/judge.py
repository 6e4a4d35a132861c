"""The LLM judge: grades an answer against a scenario's rubric, criterion by criterion.

A rubric (``expect.answer.rubric``, or a turn's ``answer.rubric``) is one criterion or a list.
The judge model (``--judge``/``TILLER_EVAL_JUDGE``, any ``make_model`` spec) is shown the
conversation up to the graded answer — the user's messages, each tool call with its outcome and
its result's summary, the reviewer's decisions, the agent's answers — and the numbered criteria,
and must reply with a structured verdict (``JudgeVerdict``, through LangChain's
``with_structured_output``): for every criterion its number, passed or not, and a reason.

A reply that is not exactly that — not JSON, the wrong shape, a criterion missing or graded
twice — or a failed call raises :class:`JudgeError`; scoring reports the check as an error of
the judge, never as a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError

from agent.models.chain import ModelChain, transient_errors
from agent.models.factory import describe_model_error
from evals.answer import excerpt
from evals.arg_matching import render_call
from evals.errors import HarnessModelError, JudgeError
from evals.results import CriterionResult
from evals.transcript import Transcript

SYSTEM_PROMPT = """\
You grade the answer of a customer-support agent against a rubric, to test the agent.
You are given the conversation: the customer's messages, the tools the agent called with their \
outcomes and result summaries (these are the facts), reviewer decisions on calls that needed \
approval, and the agent's replies. Grade only the answer named "the answer to grade".
For every numbered criterion decide whether the answer meets it, judging only from what the \
conversation shows: a claim the tool results do not support does not meet a criterion. \
Be strict; when in doubt, it fails.
Reply with one verdict per criterion, using the criterion's number, with passed true or false \
and a one-sentence reason (quote the answer where it helps)."""


class CriterionVerdict(BaseModel):
    """The judge's verdict on one criterion."""

    number: int = Field(description="the criterion's number, as listed")
    passed: bool = Field(description="true when the answer meets the criterion")
    reason: str = Field(description="one sentence: why")


class JudgeVerdict(BaseModel):
    """The judge's reply: one verdict per criterion of the rubric."""

    criteria: list[CriterionVerdict] = Field(description="one verdict per criterion, in the order listed")


class Judge:
    """Grades answers with the model of ``chain`` (its fallbacks and retries included)."""

    def __init__(self, chain: ModelChain) -> None:
        self.spec = chain.spec
        try:
            self._runnable = _structured(chain)
        except (NotImplementedError, ValueError) as exc:
            raise HarnessModelError(f"judge model {chain.spec!r} cannot give structured output: {exc}") from None

    def grade(self, criteria: Sequence[str], transcript: Transcript, turn: int) -> list[CriterionResult]:
        """The verdict on each criterion for the answer of ``turn`` (1-based); raise
        :class:`JudgeError` when the judge gives no usable verdict."""
        messages = [SystemMessage(SYSTEM_PROMPT), HumanMessage(render_task(criteria, transcript, turn))]
        try:
            reply: dict[str, Any] = self._runnable.invoke(messages)
        except Exception as exc:  # any failure of the judge is its error, reported, never a pass
            raise JudgeError(_describe(exc)) from exc
        verdict = reply.get("parsed")
        if not isinstance(verdict, JudgeVerdict):
            problem = reply.get("parsing_error")
            raw = getattr(reply.get("raw"), "content", "")
            why = f": {problem}" if problem else ""
            raise JudgeError(f"the judge's reply is not a verdict{why} (reply: {excerpt(str(raw or ''))})")
        return _results(criteria, verdict)


def _structured(chain: ModelChain) -> Runnable[Any, dict[str, Any]]:
    """Each model of the chain asked for a :class:`JudgeVerdict`, retried on transient errors,
    then the next model (as ``ModelChain.bind`` does for the agent)."""
    runnables: list[Runnable[Any, dict[str, Any]]] = []
    for model in chain.models:
        runnable: Runnable[Any, Any] = model.with_structured_output(JudgeVerdict, include_raw=True)
        if chain.retries:
            runnable = runnable.with_retry(
                retry_if_exception_type=transient_errors(), stop_after_attempt=chain.retries + 1
            )
        runnables.append(runnable)
    first, *rest = runnables
    return first.with_fallbacks(rest) if rest else first


def _results(criteria: Sequence[str], verdict: JudgeVerdict) -> list[CriterionResult]:
    """Pair each criterion with its verdict; every criterion graded exactly once, or JudgeError."""
    by_number: dict[int, CriterionVerdict] = {}
    for item in verdict.criteria:
        if item.number in by_number:
            raise JudgeError(f"the judge graded criterion {item.number} twice")
        by_number[item.number] = item
    expected = set(range(1, len(criteria) + 1))
    if set(by_number) != expected:
        missing = sorted(expected - set(by_number))
        unknown = sorted(set(by_number) - expected)
        parts = [f"no verdict on criterion {', '.join(map(str, missing))}"] if missing else []
        parts += [f"a verdict on criterion {', '.join(map(str, unknown))}, which does not exist"] if unknown else []
        raise JudgeError(f"the judge's verdict does not match the rubric of {len(criteria)}: " + "; ".join(parts))
    return [
        CriterionResult(criterion=text, passed=by_number[n].passed, reason=by_number[n].reason.strip())
        for n, text in enumerate(criteria, start=1)
    ]


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):  # the provider adapter parsed the reply against JudgeVerdict
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "reply"
        return f"the judge's reply is not a valid verdict: {where}: {first['msg']}"
    kind, message = describe_model_error(exc)
    return f"the judge model failed ({kind}): {message}"


def render_task(criteria: Sequence[str], transcript: Transcript, turn: int) -> str:
    """What the judge reads: the conversation up to ``turn``, the answer to grade, the criteria."""
    lines = ["## Conversation", *render_conversation(transcript, upto=turn)]
    answer = transcript.turns[turn - 1].answer if 0 < turn <= len(transcript.turns) else ""
    lines += ["", f"## The answer to grade (the agent's reply in turn {turn})", answer or "(no answer)"]
    lines += ["", "## Criteria", *(f"{n}. {text}" for n, text in enumerate(criteria, start=1))]
    return "\n".join(lines)


def render_conversation(transcript: Transcript, *, upto: int | None = None) -> list[str]:
    """The conversation as the judge sees it: per turn the user, the tool calls, the agent."""
    lines: list[str] = []
    for number, turn in enumerate(transcript.turns[:upto], start=1):
        lines.append(f"[turn {number}] customer: {turn.message}")
        for call in (c for c in transcript.calls if c.turn == number):
            outcome = call.status + (f" (reviewer: {call.decision})" if call.decision else "")
            detail = call.summary or call.error
            line = f"[turn {number}] tool {render_call(call.tool, call.args)} → {outcome}"
            lines.append(f"{line}: {detail}" if detail else line)
        lines.append(f"[turn {number}] agent: {turn.answer or f'(no answer; run {turn.status})'}")
    return lines
