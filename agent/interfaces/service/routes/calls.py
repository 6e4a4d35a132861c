"""``POST /v1/threads/{id}/calls``: one tool call a program asks for, run as a turn of the thread.

The call takes the agent's own path with no model (``Tiller.ainvoke_tool``): schema validation,
the approval policy (its arguments count as the caller's own, like values a user typed), a
reviewer for high-risk calls, the exactly-once ledger, the tool-output guard, trace and audit.
It runs in the service's hub like a message, so the thread's followers see its steps and a
shutdown waits for it. The answer is the call's ``ToolOutcome``, whatever became of it (a
refusal or a pending approval is an outcome, not an HTTP error); HTTP errors are about the
request: the key, the thread, a run holding the thread, the rate limits.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter

from agent.interfaces.service.auth import Caller, Context
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.errors import NotFound
from agent.interfaces.service.history import visible_thread
from agent.interfaces.service.routes.threads import check_owner_idle, start_run
from agent.interfaces.service.schemas import ErrorBody, PostCall
from agent.loop.direct import DirectCall
from agent.loop.state import RunResult
from agent.persistence.keys import Principal
from agent.runtime import EventHandler
from agent.runtime.direct_calls import outcome_of
from tools.outcome import OutcomeStatus, ToolOutcome

router = APIRouter(prefix="/v1/threads", tags=["threads"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 422, 429, 503)
}


@router.post("/{thread_id}/calls", response_model=ToolOutcome, responses=_ERRORS, summary="Run one tool call")
async def post_call(thread_id: str, body: PostCall, who: Caller, ctx: Context) -> ToolOutcome:
    """Run one call of a tool of the tenant's domain on the thread, as the key's user, and answer
    its outcome: ``executed`` (with the result), ``invalid``, ``refused``, ``rejected``,
    ``failed`` or ``pending_approval``. A call waiting for a reviewer continues on its own once
    approved: read it then at ``GET /v1/threads/{id}/calls/{call_id}``. The same call sent
    again while it waits answers the same pending approval."""
    await ctx.tiller.stores.run(lambda st: check_owner_idle(st, ctx.hub, who, thread_id))
    outcomes: list[ToolOutcome] = []

    async def run(on_event: EventHandler) -> RunResult:
        outcome = await ctx.tiller.ainvoke_tool(
            body.tool, body.args, thread_id=thread_id, tenant=who.tenant, user=who.name, subject=who.subject,
            on_event=on_event,
        )  # fmt: skip
        outcomes.append(outcome)
        return await _thread_result(ctx, who, thread_id)  # the thread's state, for its followers

    await (await start_run(ctx, who, thread_id, "call", run)).done
    return _for_http(outcomes[0])


@router.get(
    "/{thread_id}/calls/{call_id}", response_model=ToolOutcome, responses=_ERRORS, summary="A call's outcome now"
)
async def get_call(thread_id: str, call_id: str, who: Caller, ctx: Context) -> ToolOutcome:
    """The outcome of a call of the thread as it stands now, by its ``call_id`` (in every outcome
    of a call that was planned): how a program learns what became of a call that waited for a
    reviewer — ``executed``, ``rejected`` or ``failed`` once decided and run."""
    await ctx.tiller.stores.run(lambda st: visible_thread(st.threads, who, thread_id))
    result = await _thread_result(ctx, who, thread_id)
    record = next((r for r in result.trajectory if r.id == call_id), None)
    if record is None:
        raise NotFound(f"thread {thread_id} has no call {call_id}", code="call_not_found")
    return _for_http(outcome_of(result, DirectCall.of(record.tool, record.args), record.id))


async def _thread_result(ctx: ServiceContext, who: Principal, thread_id: str) -> RunResult:
    """The thread's result, read on the runtime's loop (which may not be this one: a worker thread waits)."""
    return await to_thread.run_sync(lambda: ctx.tiller.result(thread_id, tenant=who.tenant))


def _for_http(outcome: ToolOutcome) -> ToolOutcome:
    """The outcome with its next step said in the API's terms, not the Python runtime's."""
    if outcome.status is not OutcomeStatus.PENDING_APPROVAL:
        return outcome
    approval, thread = outcome.approval_id, outcome.thread_id
    next_step = (
        f"A reviewer decides approval {approval} (POST /v1/approvals/{approval}/approve, reject or edit, or the "
        f"inbox at /review); the service then runs the call exactly once. Its outcome then: "
        f"GET /v1/threads/{thread}/calls/{outcome.call_id} (or follow GET /v1/threads/{thread}/events). "
        "Sending the call again after that is a new request, with a review of its own."
    )
    return outcome.model_copy(update={"next_step": next_step})
