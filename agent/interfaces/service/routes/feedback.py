"""Feedback on a run (thumbs up or down and a comment) and the runs' traces."""

from __future__ import annotations

from dataclasses import asdict

from anyio import to_thread
from fastapi import APIRouter

from agent.interfaces.service.auth import Caller, Context
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.errors import Conflict, Unprocessable
from agent.interfaces.service.history import visible_thread
from agent.interfaces.service.routes.threads import _ERRORS
from agent.interfaces.service.schemas import FeedbackIn, FeedbackOut
from agent.persistence.keys import Principal
from agent.persistence.traces import TraceNotFound, TraceView

router = APIRouter(tags=["feedback and traces"])


def _record(ctx: ServiceContext, who: Principal, thread_id: str, body: FeedbackIn) -> FeedbackOut:
    visible_thread(ctx.tiller.threads, who, thread_id)
    if body.run_id is None:
        latest = ctx.tiller.traces.list(who.tenant, thread_id=thread_id, limit=1)
        if not latest:
            raise Conflict(f"thread {thread_id} has no run to rate yet", code="nothing_to_rate")
        run_id = latest[0].id
    else:
        run_id = body.run_id
        try:
            found = ctx.tiller.traces.get(who.tenant, run_id)
        except TraceNotFound:
            found = None
        if found is None or found.thread_id != thread_id:
            problem = f"no run {run_id} in thread {thread_id}"
            raise Unprocessable(problem, code="invalid_run", fields=[{"field": "run_id", "message": problem}])
    saved = ctx.feedback.add(
        tenant=who.tenant, thread_id=thread_id, run_id=run_id, rating=body.rating, comment=body.comment, user=who.name
    )
    return FeedbackOut(**asdict(saved))


@router.post("/v1/threads/{thread_id}/feedback", status_code=201, response_model=FeedbackOut, responses=_ERRORS)
async def add_feedback(thread_id: str, body: FeedbackIn, who: Caller, ctx: Context) -> FeedbackOut:
    """Rate a run of the thread (default: its latest), with an optional comment."""
    saved = await to_thread.run_sync(_record, ctx, who, thread_id, body)
    ctx.metrics.feedback.labels(body.rating).inc()
    return saved


@router.get("/v1/threads/{thread_id}/feedback", response_model=list[FeedbackOut], responses=_ERRORS)
async def list_feedback(thread_id: str, who: Caller, ctx: Context) -> list[FeedbackOut]:
    """Feedback given on the thread's runs, oldest first."""

    def read() -> list[FeedbackOut]:
        visible_thread(ctx.tiller.threads, who, thread_id)
        return [FeedbackOut(**asdict(f)) for f in ctx.feedback.list(who.tenant, thread_id)]

    return await to_thread.run_sync(read)


@router.get("/v1/threads/{thread_id}/traces", response_model=list[TraceView], responses=_ERRORS)
async def thread_traces(thread_id: str, who: Caller, ctx: Context) -> list[TraceView]:
    """The thread's runs (newest first) with timings, tokens and cost; spans via ``/v1/traces/{id}``."""

    def read() -> list[TraceView]:
        visible_thread(ctx.tiller.threads, who, thread_id)
        return ctx.tiller.traces.list(who.tenant, thread_id=thread_id, limit=100)

    return await to_thread.run_sync(read)


@router.get("/v1/traces/{run_id}", response_model=TraceView, responses=_ERRORS)
async def trace(run_id: str, who: Caller, ctx: Context) -> TraceView:
    """One run's trace: spans for nodes, model calls, tool calls, guard verdicts, approval events."""

    def read() -> TraceView:
        found = ctx.tiller.traces.get(who.tenant, run_id)
        visible_thread(ctx.tiller.threads, who, found.thread_id)  # a user key sees its own threads' traces only
        return found

    return await to_thread.run_sync(read)
