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

# What the model is told of a refusal: never the reviewer's internal note (it could repeat it).
_REJECTED = (
    "{tool} was not run: a reviewer declined it. Tell the customer it could not be approved; do not guess why, "
    "and offer further help (e.g. a ticket for a colleague)."
)
_REJECTED_WITH_MESSAGE = "{tool} was not run: a reviewer declined it. Their message for the customer: {message}"
_EXPIRED = (
    "{tool} was not run: the approval expired without a decision. Tell the customer it is still open and offer "
    "a ticket."
)


def _customer_note(given: ReviewDecision) -> str:
    return f" Their message for the customer: {given.customer_message}" if given.customer_message else ""


def _apply(call: PlannedCall, decision: ReviewDecision | None) -> tuple[PlannedCall, ToolMessage | None]:
    """The planned call after the decision, and the tool message for a refused call."""
    assert call.approval_id is not None, "a call waiting for a reviewer has an approval"
    given = decision or ReviewDecision()
    approval = ApprovalRecord(id=call.approval_id, **given.model_dump())
    if given.decision == "approve":
        note = ("A reviewer approved it." + _customer_note(given)) if given.customer_message else None
        return call.model_copy(update={"verdict": PlanVerdict.APPROVED, "approval": approval, "note": note}), None
    if given.decision == "edit" and given.edited_args is not None:
        changes = ", ".join(f"{k}={v}" for k, v in given.edited_args.items() if call.args.get(k) != v)
        note = f"A reviewer changed the arguments before approving: {changes}." + _customer_note(given)
        update = {"args": given.edited_args, "verdict": PlanVerdict.APPROVED, "approval": approval, "note": note}
        return call.model_copy(update=update), None
    if given.decision is None:
        message = _EXPIRED.format(tool=call.tool)
    elif given.customer_message:
        message = _REJECTED_WITH_MESSAGE.format(tool=call.tool, message=given.customer_message)
    else:
        message = _REJECTED.format(tool=call.tool)
    refused = tool_error_message(call.tool, call.answers, "rejected", message, customer_message=given.customer_message)
    return call.model_copy(update={"verdict": PlanVerdict.REJECTED, "approval": approval, "message": message}), refused


def _decisions(resume: dict[str, Any]) -> dict[str, ReviewDecision]:
    return {approval_id: ReviewDecision.model_validate(d) for approval_id, d in (resume or {}).items()}


async def request_approval(
    state: AgentState, runtime: Runtime[RunContext]
) -> Command[Literal["run_tools", "call_model"]]:
    """Wait for the reviewers (an interrupt), then apply their decisions: to ``run_tools``, or
    ``call_model`` when nothing is left to run."""
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
                edited_args=approval.edited_args,
                customer_message=approval.customer_message,
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
