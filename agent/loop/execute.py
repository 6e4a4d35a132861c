"""Executing planned calls, exactly once each: used by ``plan_tools`` (when nothing waits for a
reviewer, in the same graph step) and by ``run_tools`` (after the decisions).

Around each execution: the tool backend's circuit breaker (an open breaker fails the call fast
with ``circuit_open``), a stop for a call that already failed the same way twice in this run
(``repeated_failure``), and the tool-output guard — results are untrusted data: secrets are
redacted and instruction-like text neutralised before the model (or the trajectory) sees them.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, ToolMessage
from pydantic import BaseModel

from agent.breakers import BreakerBoard, CircuitOpen
from agent.checks import GuardPolicy, policy_for, screen_tool_output
from agent.loop.calls import CallIdentity, Outcome, PlannedCall, PlanVerdict
from agent.loop.context import Emit, RunContext, told_unknown, turn_calls
from agent.loop.events import GuardEvent, ToolResultEvent
from agent.loop.state import AgentState, CallStatus
from tools.contract import ToolSpec
from tools.envelope import tool_error_message, tool_result_message

# Outcomes that say a backend is unhealthy (business refusals and bad arguments do not).
BACKEND_FAILURES = frozenset({"unavailable", "timeout", "outcome_unknown", "tool_crashed"})
MAX_IDENTICAL_FAILURES = 2
MAX_EARLIER_MESSAGES = 6  # enough context to resolve a follow-up, little to copy per call


class _BackendFailed(Exception):
    """Carries a failed outcome through the breaker so that it counts as a failure."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def tool_backend(spec: ToolSpec) -> str:
    """The breaker target of a tool: a ``backend:<name>`` tag, else its ``tools.<package>``."""
    for tag in spec.tags:
        if tag.startswith("backend:"):
            return "tool:" + tag.removeprefix("backend:")
    parts = getattr(spec.func, "__module__", "").split(".")
    if len(parts) > 2 and parts[0] == "tools":
        return f"tool:{parts[1]}"
    return f"tool:{spec.name}"


async def _through_breaker(board: BreakerBoard, spec: ToolSpec, run: Any) -> Outcome:
    breaker = board.get(tool_backend(spec))

    async def attempt() -> Outcome:
        outcome: Outcome = await run()
        if not outcome.ok and outcome.error_kind in BACKEND_FAILURES:
            raise _BackendFailed(outcome)
        return outcome

    try:
        return await breaker.acall(attempt)
    except _BackendFailed as failed:
        return failed.outcome
    except CircuitOpen:
        message = (
            f"{spec.name} was not run: its backend ({breaker.name}) failed repeatedly and is paused for up to "
            f"{board.settings.reset_timeout_s:g}s. Tell the user it is temporarily unavailable; nothing was changed."
        )
        return Outcome(ok=False, error_kind="circuit_open", message=message)


def _failed_before(state: AgentState, call: PlannedCall, records: list[dict[str, Any]]) -> tuple[int, bool]:
    """How often this exact call failed in this turn, and whether one of them was sent with an
    outcome that is not known (a remote write that timed out: sending it again could do it twice)."""
    earlier = [*turn_calls(dict(state)), *records]
    same = (c for c in earlier if c.get("tool") == call.tool and c.get("args") == call.args)
    failed = [c for c in same if c.get("status") == "error"]
    return len(failed), bool(told_unknown(failed, call.tool, call.args))


def _guarded(
    data: dict[str, Any], policy: GuardPolicy, call: PlannedCall, emit: Emit
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The result as the model may see it, and the guard note for its envelope."""
    shown, screen = screen_tool_output(data, policy)
    if screen.clean:
        return shown, {}
    verdict = screen.verdict(policy)
    fields = screen.injections + screen.secrets
    emit(
        GuardEvent(stage="tool_output", verdict=verdict, id=call.id, tool=call.tool, fields=fields, score=screen.score)
    )
    note = {"verdict": verdict, "injection_in": screen.injections, "secrets_in": screen.secrets}
    return shown, {k: v for k, v in note.items() if v}


def earlier_user_messages(state: AgentState) -> tuple[str, ...]:
    """What the user said before this turn's message, oldest first (the last few only)."""
    said = [m.text for m in state.get("messages", []) if isinstance(m, HumanMessage)]
    return tuple(said[:-1][-MAX_EARLIER_MESSAGES:])


async def _execute(state: AgentState, ctx: RunContext, call: PlannedCall, done: list[dict[str, Any]]) -> Outcome:
    """Run one planned call: not at all if it already failed twice, else through its breaker."""
    deps = ctx.deps
    spec = deps.registry.get(call.tool)
    if spec is None:  # planned before a restart with other tools (a resumed thread): a tool error, not a crash
        known = ", ".join(deps.registry.names)
        return Outcome(
            ok=False, error_kind="unknown_tool", message=f"there is no tool named {call.tool!r}; tools: {known}"
        )
    failures, unknown = _failed_before(state, call, done)
    if unknown:
        message = f"not run: this exact {call.tool} call was sent before and its outcome is not known yet"
        return Outcome(ok=False, error_kind="repeated_failure", message=message)
    if failures >= MAX_IDENTICAL_FAILURES:
        message = f"not run: this exact {call.tool} call already failed {MAX_IDENTICAL_FAILURES} times in this run"
        return Outcome(ok=False, error_kind="repeated_failure", message=message)
    args: BaseModel = spec.args_model.model_validate(call.args)
    caller = ctx.caller
    who = CallIdentity(
        caller.tenant, caller.user, caller.thread, call.id, earlier_user_messages(state), subject=caller.subject
    )
    approval_id = call.approval_id if call.verdict is PlanVerdict.APPROVED else None

    async def run() -> Outcome:
        return await deps.executor.execute(spec, args, who, approval_id)

    return await _through_breaker(deps.breakers, spec, run)


def _for_model(data: dict[str, Any], spec: ToolSpec | None) -> dict[str, Any]:
    """The result as the model's tool message carries it: without the fields the tool keeps for
    the trajectory only (``ToolSpec.model_hidden``, e.g. a LangChain tool's artifact)."""
    hidden = spec.model_hidden if spec is not None else ()
    return {k: v for k, v in data.items() if k not in hidden} if hidden else data


async def execute_planned(
    state: AgentState, ctx: RunContext, planned: list[PlannedCall], emit: Emit
) -> tuple[list[ToolMessage], list[dict[str, Any]]]:
    """Execute ``planned`` calls in order: the tool messages the model reads next, and the
    trajectory records."""
    policy = policy_for(ctx)
    messages: list[ToolMessage] = []
    records: list[dict[str, Any]] = []
    for call in planned:
        out = await _execute(state, ctx, call, records)
        record: dict[str, Any] = {"id": call.id, "provider_call_id": call.provider_call_id, "tool": call.tool}
        record |= {"args": call.args, "turn": state.get("turn", 0), "step": state.get("steps", 0)}
        record |= {"latency_ms": round(out.latency_ms, 2), "cache_hit": out.cache_hit}
        if out.ok and out.data is not None:
            shown, guard = _guarded(out.data, policy, call, emit)
            visible = _for_model(shown, ctx.deps.registry.get(call.tool))
            messages.append(tool_result_message(call.tool, call.answers, visible, note=call.note, guard=guard))
            status = CallStatus.REPLAYED if out.replayed else CallStatus.EXECUTED
            record |= {"status": status.value, "result": shown}
        else:
            kind = out.error_kind or "tool_error"
            messages.append(tool_error_message(call.tool, call.answers, kind, out.message or ""))
            record |= {"status": CallStatus.ERROR.value, "error": {"kind": kind, "message": out.message}}
        records.append(record)
        summary = _summary(record.get("result"), out.message)
        emit(
            ToolResultEvent(
                id=call.id, tool=call.tool, ok=out.ok, replayed=out.replayed, cache_hit=out.cache_hit, summary=summary
            )
        )
    return messages, records


def _summary(data: dict[str, Any] | None, message: str | None) -> str:
    if data is None:
        return message or ""
    return str(data.get("summary") or ", ".join(sorted(data))[:200])
