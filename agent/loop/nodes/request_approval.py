"""request_approval: pause the run until a reviewer decides each pending high-risk call.

This node re-runs from the top when the run resumes, so it has no side effects: the approval
rows were created by ``plan_tools``, and decisions are recorded by ``ApprovalStore.decide``
before the resume. The resume value maps approval id → decision; this node only applies it.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.loop.context import RunContext
from agent.loop.state import AgentState, CallStatus
from tools.envelope import tool_error_message


def _apply(planned: dict[str, Any], decision: dict[str, Any] | None) -> tuple[dict[str, Any], ToolMessage | None]:
    """The planned call after the decision, and the tool message for a refused call."""
    approval = {"id": planned["approval_id"], **(decision or {})}
    kind = (decision or {}).get("decision")
    if kind == "approve":
        return {**planned, "verdict": "approved", "approval": approval}, None
    if kind == "edit":
        edited = decision["edited_args"]  # type: ignore[index]
        changes = ", ".join(f"{k}={v}" for k, v in edited.items() if planned["args"].get(k) != v)
        note = f"A reviewer ({decision['decided_by']}) changed the arguments before approving: {changes}"  # type: ignore[index]
        return {**planned, "args": edited, "verdict": "approved", "approval": approval, "note": note}, None
    reason = (decision or {}).get("reason") or "no reason given"
    who = (decision or {}).get("decided_by") or "the approval system"
    message = f"{planned['tool']} was not run: rejected by {who} ({reason})"
    if kind is None:
        message = f"{planned['tool']} was not run: the approval expired without a decision"
    refused = tool_error_message(planned["tool"], planned.get("pairing_id") or planned["id"], "rejected", message)
    return {**planned, "verdict": "rejected", "approval": approval, "message": message}, refused


def request_approval(state: AgentState, runtime: Runtime[RunContext]) -> Command[Literal["run_tools", "call_model"]]:
    waiting = [p for p in state.get("planned", []) if p["verdict"] == "needs_approval"]
    decisions: dict[str, dict[str, Any]] = interrupt(
        {"type": "approval_required", "approval_ids": [p["approval_id"] for p in waiting]}
    )
    messages: list[ToolMessage] = []
    records: list[dict[str, Any]] = []
    planned: list[dict[str, Any]] = [p for p in state.get("planned", []) if p["verdict"] != "needs_approval"]
    for p in waiting:
        after, refused = _apply(p, decisions.get(p["approval_id"]))
        runtime.stream_writer({"type": "approval_decided", "id": p["id"], "tool": p["tool"], **after["approval"]})
        if refused is not None:
            messages.append(refused)
            records.append(
                {
                    "id": p["id"],
                    "status": CallStatus.REJECTED.value,
                    "approval": after["approval"],
                    "error": {"kind": "rejected", "message": after["message"]},
                }
            )
        else:
            planned.append(after)
            records.append({"id": p["id"], "args": after["args"], "approval": after["approval"]})
    update = {"messages": messages, "trajectory": records, "planned": planned}
    return Command(goto="run_tools" if planned else "call_model", update=update)
