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
from tools.errors import ArgumentsInvalid
from tools.validation import validate_args


def check_edit(ctx: ServiceContext, tenant: str, approval_id: str, edits: dict[str, Any]) -> None:
    """422 naming each bad field when edited arguments fail the tool's schema."""
    current = ctx.tiller.approvals.get(tenant, approval_id)
    spec = ctx.tiller.registry.get(current.tool)
    if current.status != "pending" or spec is None:
        return  # the decision itself reports the conflict or the missing tool
    if not edits:
        raise Unprocessable("no arguments to change: send at least one in `args`", code="invalid_edit")
    try:
        validate_args(spec, {**current.args, **edits})
    except ArgumentsInvalid as exc:
        fields = [{"field": f"args.{p.field}" if p.field else "args", "message": p.problem} for p in exc.problems]
        raise Unprocessable(str(exc), code="invalid_edit", fields=fields) from None


async def decide(
    ctx: ServiceContext,
    who: Principal,
    approval_id: str,
    decision: Decision,
    *,
    reason: str | None = None,
    edits: dict[str, Any] | None = None,
) -> tuple[PendingApproval, bool]:
    """Record the decision as ``who``; start the paused thread's continuation when nothing else
    of it waits. Returns the approval and whether the thread is resuming."""
    if not who.can_review:
        raise Forbidden(f"a {who.role} key cannot decide approvals; use a reviewer key", code="role_forbidden")
    if decision == "reject" and not (reason or "").strip():
        raise Unprocessable("a rejection needs a reason (it is told to the agent)", code="reason_required")
    if decision == "edit":
        await to_thread.run_sync(check_edit, ctx, who.tenant, approval_id, edits or {})

    def record() -> PendingApproval:
        return ctx.tiller.decide(
            approval_id, decision=decision, decided_by=who.name, tenant=who.tenant, reason=reason, edits=edits
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
    waiting = await to_thread.run_sync(lambda: ctx.tiller.approvals.list(tenant, thread_id=thread_id, status="pending"))
    if waiting or ctx.hub.is_running(thread_id):
        return False

    async def body(on_event: Any) -> Any:
        return await ctx.tiller.aresume(thread_id, tenant=tenant, on_event=on_event)

    try:
        ctx.hub.start(thread_id, "resume", body)
    except (Conflict, ThreadBusy):
        return False
    return True
