"""request_approval: pause the run until a reviewer decides each pending high-risk call.

This node re-runs from the top when the run resumes, so it has no side effects: the approval
rows were created by ``plan_tools``, and decisions are recorded by ``ApprovalStore.decide``
before the resume. The resume value maps approval id → ``ReviewDecision``; this node only
applies it.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.loop.calls import ApprovalRecord, PlannedCall, PlanVerdict, ReviewDecision
from agent.loop.context import RunContext
from agent.loop.events import ApprovalDecidedEvent
from agent.loop.state import AgentState, CallStatus
from tools.envelope import tool_error_message


def _apply(call: PlannedCall, decision: ReviewDecision | None) -> tuple[PlannedCall, ToolMessage | None]:
    """The planned call after the decision, and the tool message for a refused call."""
    assert call.approval_id is not None, "a call waiting for a reviewer has an approval"
    given = decision or ReviewDecision()
    approval = ApprovalRecord(id=call.approval_id, **given.model_dump())
    if given.decision == "approve":
        return call.model_copy(update={"verdict": PlanVerdict.APPROVED, "approval": approval}), None
    if given.decision == "edit" and given.edited_args is not None:
        changes = ", ".join(f"{k}={v}" for k, v in given.edited_args.items() if call.args.get(k) != v)
        note = f"A reviewer ({given.decided_by}) changed the arguments before approving: {changes}"
        update = {"args": given.edited_args, "verdict": PlanVerdict.APPROVED, "approval": approval, "note": note}
        return call.model_copy(update=update), None
    who = given.decided_by or "the approval system"
    message = f"{call.tool} was not run: rejected by {who} ({given.reason or 'no reason given'})"
    if given.decision is None:
        message = f"{call.tool} was not run: the approval expired without a decision"
    refused = tool_error_message(call.tool, call.answers, "rejected", message)
    return call.model_copy(update={"verdict": PlanVerdict.REJECTED, "approval": approval, "message": message}), refused


def _decisions(resume: dict[str, Any]) -> dict[str, ReviewDecision]:
    return {approval_id: ReviewDecision.model_validate(d) for approval_id, d in (resume or {}).items()}


async def request_approval(
    state: AgentState, runtime: Runtime[RunContext]
) -> Command[Literal["run_tools", "call_model"]]:
    calls = [PlannedCall.from_state(p) for p in state.get("planned", [])]
    waiting = [c for c in calls if c.verdict is PlanVerdict.NEEDS_APPROVAL]
    decisions = _decisions(interrupt({"type": "approval_required", "approval_ids": [c.approval_id for c in waiting]}))
    messages: list[ToolMessage] = []
    records: list[dict[str, Any]] = []
    planned = [c for c in calls if c.verdict is not PlanVerdict.NEEDS_APPROVAL]
    for call in waiting:
        after, refused = _apply(call, decisions.get(call.approval_id or ""))
        approval = after.approval or ApprovalRecord(id=call.approval_id or "")
        runtime.stream_writer(
            ApprovalDecidedEvent(
                id=call.id,
                tool=call.tool,
                approval_id=approval.id,
                decision=approval.decision,
                decided_by=approval.decided_by,
                reason=approval.reason,
                edited_args=approval.edited_args,
            )
        )
        decided = approval.model_dump()
        if refused is not None:
            messages.append(refused)
            error = {"kind": "rejected", "message": after.message}
            records.append({"id": call.id, "status": CallStatus.REJECTED.value, "approval": decided, "error": error})
        else:
            planned.append(after)
            records.append({"id": call.id, "args": after.args, "approval": decided})
    update = {"messages": messages, "trajectory": records, "planned": [c.to_state() for c in planned]}
    return Command(goto="run_tools" if planned else "call_model", update=update)
