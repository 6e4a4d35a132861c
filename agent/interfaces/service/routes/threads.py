"""``/v1/threads``: conversations, their messages (streamed as server-sent events) and history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from agent.interfaces.service.auth import Caller, Context
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.decisions import resume_when_ready
from agent.interfaces.service.errors import Conflict, Forbidden, PayloadTooLarge, ServiceError
from agent.interfaces.service.history import summary, thread_view, visible_thread
from agent.interfaces.service.hub import RunBody, RunHub, RunJob
from agent.interfaces.service.schemas import CreateThread, ErrorBody, PostMessage, ThreadSummary, ThreadView
from agent.interfaces.service.streams import follow_thread, run_events, sse_response
from agent.loop.state import RunResult
from agent.persistence.inplace import RuntimeStores
from agent.persistence.keys import Principal
from agent.persistence.names import same_person
from agent.persistence.tables import ThreadRow
from agent.runtime import EventHandler, new_thread_id

router = APIRouter(prefix="/v1/threads", tags=["threads"])
# Every error a route may answer (400: a body that cannot be parsed at all; 503: the database is down).
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "the run's steps as server-sent events"}
}


@router.post("", status_code=201, response_model=ThreadSummary, responses=_ERRORS)
async def create_thread(body: CreateThread, who: Caller, ctx: Context) -> ThreadSummary:
    """Start a conversation owned by the key's user."""

    def create(stores: RuntimeStores) -> ThreadRow:
        return stores.threads.open(
            new_thread_id(), tenant_id=who.tenant, user_id=who.name, title=body.title, subject=who.subject
        )

    return summary(await ctx.tiller.stores.run(create))


@router.get("", response_model=list[ThreadSummary], responses=_ERRORS)
async def list_threads(
    who: Caller, ctx: Context, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[ThreadSummary]:
    """Recent threads of the tenant (a user key sees its own only), most recently active first."""
    # A sort over the tenant's threads (it grows with them): on a worker thread, not in place.
    rows = await to_thread.run_sync(lambda: ctx.tiller.threads.list(who.tenant, limit=limit))
    return [summary(r) for r in rows if who.role != "user" or same_person(r.user_id, who.name)]


@router.get("/{thread_id}", response_model=ThreadView, responses=_ERRORS)
async def get_thread(thread_id: str, who: Caller, ctx: Context) -> ThreadView:
    """The thread's messages, status, pending approvals and its latest run's result."""
    return await to_thread.run_sync(thread_view, ctx.tiller, who, thread_id)


@router.post(
    "/{thread_id}/messages",
    response_model=RunResult,
    responses={**_ERRORS, **_SSE},
    summary="Post a message and stream the run",
)
async def post_message(thread_id: str, body: PostMessage, who: Caller, ctx: Context) -> Any:
    """Run the agent on a new message. With ``stream`` (default) the answer is a stream of
    server-sent events (``run_started``, ``model``, ``tool_call``, ``approval_requested``,
    ``tool_result``, ``final``, ``status``); otherwise the run's ``RunResult`` once it ends.
    The run continues if the client disconnects."""
    limit = min(ctx.service.max_message_chars, ctx.tiller.settings.max_message_chars)  # the runtime's holds too
    if len(body.content) > limit:
        raise PayloadTooLarge(
            f"message is {len(body.content)} characters; at most {limit} are accepted (TILLER_MAX_MESSAGE_CHARS)",
            code="message_too_large",
        )
    if await ctx.tiller.stores.run(lambda st: _check_can_post(st, ctx.hub, who, thread_id)):
        await resume_when_ready(ctx, who.tenant, thread_id)  # decided, but nobody continued it (a restart)
        raise Conflict(
            f"thread {thread_id} is continuing after its approvals were decided; follow its events",
            code="awaiting_approval",
        )
    # A streamed request shows tokens; a JSON one only while someone follows the thread's events.
    tokens = True if body.stream else ctx.hub.channel(thread_id).followed

    async def run(on_event: EventHandler) -> RunResult:
        return await ctx.tiller.aask(
            body.content,
            thread_id=thread_id,
            tenant=who.tenant,
            user=who.name,
            subject=who.subject,
            on_event=on_event,
            tokens=tokens,
        )

    job = await start_run(ctx, who, thread_id, "message", run)
    if body.stream:
        return sse_response(run_events(job))
    return await job.done


async def start_run(ctx: ServiceContext, who: Principal, thread_id: str, kind: str, run: RunBody) -> RunJob:
    """Start ``run`` on the thread in the hub, holding one of the key's concurrent-run slots
    until it ends (given back at once when it cannot start)."""
    token = await ctx.limits.take_run_slot(who)

    async def give_back() -> None:
        await ctx.limits.give_back_run_slot(who, token)

    try:
        return ctx.hub.start(thread_id, kind, run, on_done=give_back)
    except ServiceError:
        await give_back()
        raise


def check_owner_idle(stores: RuntimeStores, hub: RunHub, who: Principal, thread_id: str) -> ThreadRow:
    """The thread, when ``who`` owns it and no run holds it now (here or in another process)."""
    row = visible_thread(stores.threads, who, thread_id)
    if not same_person(row.user_id, who.name):
        raise Forbidden(f"only the thread's owner ({row.user_id}) can post to it", code="not_thread_owner")
    leased = row.lease_until is not None and row.lease_until > datetime.now(UTC)
    if (row.status == "running" and leased) or hub.is_running(thread_id):
        raise Conflict(f"thread {thread_id} is running a request now; wait for it to finish", code="thread_busy")
    return row


def _check_can_post(stores: RuntimeStores, hub: RunHub, who: Principal, thread_id: str) -> bool:
    """The owner posts, and only while the thread is neither running nor waiting for a reviewer.

    True when the thread still shows its pause although every approval is decided."""
    row = check_owner_idle(stores, hub, who, thread_id)
    if row.status != "awaiting_approval":
        return False
    pending = stores.approvals.list(who.tenant, thread_id=thread_id, status="pending")
    if not pending:
        return True
    raise Conflict(
        f"thread {thread_id} waits for a reviewer's decision on {', '.join(a.id for a in pending)}; "
        "it continues once decided (follow GET /v1/threads/{id}/events)",
        code="awaiting_approval",
    )


@router.get(
    "/{thread_id}/events",
    response_class=StreamingResponse,
    responses={**_ERRORS, **_SSE},
    summary="Follow a thread's events",
)
async def thread_events(
    thread_id: str,
    who: Caller,
    ctx: Context,
    timeout: Annotated[float | None, Query(gt=0, le=3600, description="seconds to wait at most")] = None,
    last_event_id: Annotated[
        str | None, Header(description="resume after this event id (an id from any process of the service)")
    ] = None,
) -> Response:
    """Server-sent events: the thread's current ``status`` first, then every step of its runs —
    in particular the continuation after a reviewer decides — until the thread settles
    (neither running nor waiting for a reviewer) or ``timeout`` seconds pass."""
    row = await ctx.tiller.stores.run(lambda st: visible_thread(st.threads, who, thread_id))
    last = (last_event_id or "").strip() or None
    return sse_response(follow_thread(ctx, who, row, last, timeout or ctx.service.follow_timeout_s))
