"""Turning a thread's state into the typed ``RunResult`` callers get."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from agent.loop.state import CallStatus, ModelRoute, PendingApproval, RunResult, RunStatus, ToolCallRecord, Usage
from agent.models.request_cache import is_cache_hit
from agent.models.router import route_of


def _awaiting_answer(pending: list[PendingApproval]) -> str:
    lines = ["This request needs a reviewer's approval before it can run:"]
    for a in pending:
        args = ", ".join(f"{k}={v}" for k, v in a.args.items())
        lines.append(f"- {a.tool}({args}) — approval {a.id}, expires {a.expires_at:%Y-%m-%d %H:%M} UTC")
    lines.append(
        "A reviewer decides with `tiller approvals approve ID --as NAME` (or reject/edit); "
        "the conversation then continues where it stopped."
    )
    return "\n".join(lines)


def build_result(
    thread_id: str,
    values: dict[str, Any],
    interrupted: bool,
    pending: list[PendingApproval],
    elapsed_s: float,
    forced: RunStatus | None = None,
) -> RunResult:
    """The result of the thread whose state is ``values`` (``interrupted``: it waits for approvals)."""
    turn = values.get("turn", 0)
    records = [ToolCallRecord.model_validate(c) for c in values.get("trajectory", []) if c.get("turn") == turn]
    if interrupted:
        status, answer = RunStatus.AWAITING_APPROVAL, _awaiting_answer(pending)
    else:
        status = forced or RunStatus(values.get("status") or RunStatus.FAILED.value)
        last = next((m for m in reversed(values.get("messages", [])) if isinstance(m, AIMessage)), None)
        answer = last.text if last is not None else ""
    attempted = {CallStatus.EXECUTED, CallStatus.REPLAYED, CallStatus.ERROR}
    usage = Usage(
        steps=values.get("steps", 0),
        tool_calls=sum(1 for r in records if r.status in attempted),
        input_tokens=values.get("input_tokens", 0),
        output_tokens=values.get("output_tokens", 0),
        estimated_tokens=values.get("estimated_tokens", 0),
        cost_usd=round(values.get("cost_usd", 0.0), 8),
        elapsed_s=round(elapsed_s, 4),
    )
    return RunResult(
        thread_id=thread_id,
        status=status,
        answer=answer,
        trajectory=records,
        pending_approvals=pending,
        usage=usage,
        stop_reason=values.get("stop_reason") or ("recursion_limit" if forced else None),
        error=values.get("error"),
        routes=_routes(values.get("messages", [])),
    )


def _routes(messages: list[AnyMessage]) -> list[ModelRoute]:
    """The router's decisions for the model steps of the current turn (none without a router)."""
    routes: list[ModelRoute] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if route := route_of(message):
            model = str(message.response_metadata.get("model_name") or "")
            routes.append(ModelRoute(model=model, cache_hit=is_cache_hit(message), **route))
    return routes[::-1]
