"""Reviewer decisions, shared by the API and the inbox page: validate, record, resume the thread."""

from __future__ import annotations

from typing import Any

from anyio import to_thread

from agent.errors import ThreadBusy
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.errors import Conflict, Forbidden, Unprocessable
from agent.loop.state import PendingApproval
from agent.persistence.approvals import Decision
from agent.persistence.keys import Principal
from agent.workflows.runner import WORKFLOW_THREAD_PREFIX


async def decide(
    ctx: ServiceContext,
    who: Principal,
    approval_id: str,
    decision: Decision,
    *,
    reason: str | None = None,
    edits: dict[str, Any] | None = None,
    customer_message: str | None = None,
) -> tuple[PendingApproval, bool]:
    """Record the decision as ``who``; start the paused thread's continuation when nothing else
    of it waits. Returns the approval and whether the thread is resuming. An edit the tool would
    refuse (its schema or its business rules) is a 422 naming the field or the rule, and the
    approval stays pending."""
    if not who.can_review:
        raise Forbidden(f"a {who.role} key cannot decide approvals; use a reviewer key", code="role_forbidden")
    if decision == "reject" and not (reason or "").strip():
        raise Unprocessable(
            "a rejection needs a reason (an internal note for reviewers and the audit log)", code="reason_required"
        )

    def record() -> PendingApproval:
        return ctx.tiller.decide(
            approval_id,
            decision=decision,
            decided_by=who.name,
            tenant=who.tenant,
            reason=reason,
            edits=edits,
            customer_message=customer_message,
        )

    approval = await to_thread.run_sync(record)
    return approval, await resume_when_ready(ctx, who.tenant, approval.thread_id)


async def resume_when_ready(ctx: ServiceContext, tenant: str, thread_id: str) -> bool:
    """Continue the thread in the background once none of its approvals is pending.

    A workflow task's thread is left to its runner (``tiller run`` or a worker): two processes
    resuming one thread at once race inside the runtime (see docs/SERVICE.md).
    """
    if thread_id.startswith(WORKFLOW_THREAD_PREFIX):
        return False
    waiting = await ctx.tiller.stores.run(lambda st: st.approvals.list(tenant, thread_id=thread_id, status="pending"))
    if waiting or ctx.hub.is_running(thread_id):
        return False

    followed = ctx.hub.channel(thread_id).followed  # tokens only while someone follows the thread

    async def body(on_event: Any) -> Any:
        return await ctx.tiller.aresume(thread_id, tenant=tenant, on_event=on_event, tokens=followed)

    try:
        ctx.hub.start(thread_id, "resume", body)
    except (Conflict, ThreadBusy):
        return False
    return True
