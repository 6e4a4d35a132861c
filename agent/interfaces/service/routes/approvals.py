"""``/v1/approvals``: the reviewer's queue — list, show, approve, edit, reject."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from anyio import to_thread
from fastapi import APIRouter, Query

from agent.interfaces.service.auth import Context, Reviewer
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.decisions import decide
from agent.interfaces.service.history import to_messages
from agent.interfaces.service.routes.threads import _ERRORS
from agent.interfaces.service.schemas import ApprovalDetail, Approve, DecisionResult, Edit, Reject
from agent.loop.state import PendingApproval
from agent.persistence.keys import Principal

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
Status = Literal["pending", "approved", "executed", "failed", "rejected", "expired", "all"]
"""``approved``: a reviewer approved it (with or without edits), whether it ran since or not."""
_CONVERSATION = 8  # messages of context shown with an approval


@router.get("", response_model=list[PendingApproval], responses=_ERRORS)
async def list_approvals(
    who: Reviewer,
    ctx: Context,
    status: Status = "pending",
    tool: str | None = None,
    min_age_s: Annotated[int | None, Query(ge=0, description="requested at least this many seconds ago")] = None,
    max_age_s: Annotated[int | None, Query(ge=0, description="requested at most this many seconds ago")] = None,
) -> list[PendingApproval]:
    """Approvals of the key's tenant, newest first. ``approved`` lists every approval a reviewer
    approved (now ``approved``, ``executed`` or ``failed``); ``effective_args`` are the arguments
    that run (the reviewer's edit, else the requested ones)."""
    rows = await to_thread.run_sync(
        lambda: ctx.tiller.approvals.list(who.tenant, status=None if status == "all" else status, tool=tool)
    )
    now = datetime.now(UTC)
    return [
        a
        for a in rows
        if (min_age_s is None or (now - a.requested_at).total_seconds() >= min_age_s)
        and (max_age_s is None or (now - a.requested_at).total_seconds() <= max_age_s)
    ]


def approval_detail(ctx: ServiceContext, who: Principal, approval_id: str) -> ApprovalDetail:
    """An approval with the conversation so far (the agent's reasoning) and its audit log."""
    approval = ctx.tiller.approvals.get(who.tenant, approval_id)
    audit = ctx.tiller.approvals.events(who.tenant, approval_id)
    messages = ctx.tiller.messages(approval.thread_id, tenant=who.tenant)
    left = int((approval.expires_at - datetime.now(UTC)).total_seconds())
    return ApprovalDetail(
        **approval.model_dump(exclude={"effective_args"}),
        seconds_left=max(0, left) if approval.status == "pending" else 0,
        context=ctx.tiller.review(approval),
        conversation=to_messages(messages)[-_CONVERSATION:],
        audit=audit,
    )


@router.get("/{approval_id}", response_model=ApprovalDetail, responses=_ERRORS)
async def show_approval(approval_id: str, who: Reviewer, ctx: Context) -> ApprovalDetail:
    """Tool, exact arguments, risk, requester, expiry, the business facts, rule checks and policy
    that apply (read now), the conversation that led to it, audit."""
    return await to_thread.run_sync(approval_detail, ctx, who, approval_id)


@router.post("/{approval_id}/approve", response_model=DecisionResult, responses=_ERRORS)
async def approve(approval_id: str, who: Reviewer, ctx: Context, body: Approve | None = None) -> DecisionResult:
    """Approve the call with exactly the requested arguments; the thread continues."""
    body = body or Approve()
    approval, resuming = await decide(
        ctx, who, approval_id, "approve", reason=body.reason, customer_message=body.customer_message
    )
    return DecisionResult(approval=approval, resuming=resuming)


@router.post("/{approval_id}/reject", response_model=DecisionResult, responses=_ERRORS)
async def reject(approval_id: str, body: Reject, who: Reviewer, ctx: Context) -> DecisionResult:
    """Reject the call: it never runs. The reason stays internal; the agent tells the customer
    ``customer_message`` if given, else only that it could not be approved."""
    approval, resuming = await decide(
        ctx, who, approval_id, "reject", reason=body.reason, customer_message=body.customer_message
    )
    return DecisionResult(approval=approval, resuming=resuming)


@router.post("/{approval_id}/edit", response_model=DecisionResult, responses=_ERRORS)
async def edit(approval_id: str, body: Edit, who: Reviewer, ctx: Context) -> DecisionResult:
    """Approve with changed arguments, validated against the tool's schema and pre-checked
    against its business rules (422 names the field or the rule; the approval stays pending)."""
    approval, resuming = await decide(
        ctx, who, approval_id, "edit", reason=body.reason, edits=body.args, customer_message=body.customer_message
    )
    return DecisionResult(approval=approval, resuming=resuming)
