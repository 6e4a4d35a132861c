"""The two event streams of a thread: one run's steps, and following a thread until it settles."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi.responses import StreamingResponse

from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.decisions import resume_when_ready
from agent.interfaces.service.hub import RunJob, ThreadChannel
from agent.interfaces.service.sse import KEEPALIVE, StreamEvent
from agent.persistence.keys import Principal
from agent.persistence.tables import ThreadRow

_KEEPALIVE_S = 15.0
_POLL_S = 1.0  # how often a follower checks the database for runs of other processes, with no fanout
_LIVE_POLL_S = 5.0  # … and with one: a safety net for events lost while a publisher was cut off
UNSETTLED = ("running", "awaiting_approval")


def sse_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    """A ``text/event-stream`` answer that proxies pass on unbuffered."""
    # X-Accel-Buffering: proxies such as nginx must pass each event on at once.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def run_events(job: RunJob) -> AsyncIterator[bytes]:
    """The events of one run, from ``run_started`` to its ``status`` (or ``error``)."""
    seq = job.start_seq
    job.channel.followers += 1
    try:
        while True:
            events = await job.channel.after(seq, _KEEPALIVE_S)
            if not events:
                yield KEEPALIVE
            for event in events:
                seq = event.seq
                if event.data.get("job_id") != job.job_id:
                    continue
                yield event.encode()
                if event.type in ("status", "error"):
                    return
    finally:
        job.channel.followers -= 1


async def follow_thread(
    ctx: ServiceContext, who: Principal, row: ThreadRow, last_event_id: str | None, timeout_s: float
) -> AsyncIterator[bytes]:
    """The thread's status now, then every event until it settles (neither running nor waiting
    for a reviewer) or ``timeout_s`` passes. Other processes' runs arrive step by step through
    the hub's fanout (Redis); without one, or while it is down, they show as ``status`` events
    found by polling the thread's row."""
    async with ctx.hub.watch(row.id) as channel:
        if row.status == "awaiting_approval" and channel.current_job is None:
            # Decided, but nobody continued it (a restart) — unless a run of it is under way
            # elsewhere: the process the reviewer decided on starts it a moment before this.
            await resume_when_ready(ctx, who.tenant, row.id)
        # A run in progress (here or elsewhere) is shown from its start; otherwise from now, or
        # after the Last-Event-ID when this process still holds that event.
        seq = channel.start()
        resumed = channel.position(last_event_id) if last_event_id else None
        if resumed is not None:
            seq = resumed
        yield (await _status_event(ctx, who, row, channel, seq)).encode()
        if row.status not in UNSETTLED and channel.running is None and channel.current_job is None:
            if resumed is not None:  # a reconnect after the run ended: what it missed, still held here
                for event in await channel.after(seq, 0):
                    yield event.encode()
            return
        async for chunk in _until_settled(ctx, who, row, channel, seq, timeout_s):
            yield chunk


async def _until_settled(
    ctx: ServiceContext, who: Principal, row: ThreadRow, channel: ThreadChannel, seq: int, timeout_s: float
) -> AsyncIterator[bytes]:
    deadline = time.monotonic() + timeout_s
    seen = (row.status, row.updated_at)
    streamed: str | None = None  # the status the stream showed last, not to be shown again from the row
    quiet_since = polled = time.monotonic()
    while time.monotonic() < deadline:
        events = await channel.after(seq, _POLL_S)
        for event in events:
            seq = event.seq
            yield event.encode()
            if event.type == "status":
                streamed = event.data.get("status")
                if streamed not in UNSETTLED:
                    return
        now = time.monotonic()
        if events:
            quiet_since = now
            continue
        # The row is the truth when no event says so: another process's run without a fanout
        # (or while it is down: then poll each second), or one whose events were lost.
        if channel.running is None and now - polled >= (_LIVE_POLL_S if ctx.hub.live else _POLL_S):
            polled = now
            latest = await ctx.tiller.stores.run(lambda st: st.threads.get(who.tenant, row.id))
            changed = (latest.status, latest.updated_at) != seen
            stale = channel.current_job is not None and now - quiet_since >= _LIVE_POLL_S
            if (changed or stale) and latest.status != "running":
                seen = (latest.status, latest.updated_at)
                if latest.status != streamed or stale:
                    channel.current_job = None  # a run whose end never arrived (its process died)
                    yield (await _status_event(ctx, who, latest, channel, seq)).encode()
                streamed = None
                if latest.status not in UNSETTLED:
                    return
        if now - quiet_since > _KEEPALIVE_S:
            quiet_since = now
            yield KEEPALIVE


async def _status_event(
    ctx: ServiceContext, who: Principal, row: ThreadRow, channel: ThreadChannel, seq: int
) -> StreamEvent:
    """A ``status`` event built from the database at the stream's position ``seq`` (its id is
    that of the event before it: a client reconnecting with it resumes from there)."""
    running = channel.running is not None or channel.current_job is not None or row.status == "running"
    if row.status == "idle":  # nothing has run yet: no result to read
        data = {"thread_id": row.id, "status": "running" if running else "idle"}
    else:
        result = await to_thread.run_sync(lambda: ctx.tiller.result(row.id, tenant=who.tenant))
        data = {**result.model_dump(mode="json"), "status": "running" if running else result.status.value}
    return StreamEvent(seq, "status", data, channel.id_before(seq))
