"""The two event streams of a thread: one run's steps, and following a thread until it settles."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi.responses import StreamingResponse

from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.hub import RunJob, ThreadChannel
from agent.interfaces.service.sse import KEEPALIVE, StreamEvent
from agent.persistence.keys import Principal
from agent.persistence.tables import ThreadRow

_KEEPALIVE_S = 15.0
_POLL_S = 1.0  # how often a follower checks the database for runs of other processes
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
    ctx: ServiceContext, who: Principal, row: ThreadRow, last_seq: int | None, timeout_s: float
) -> AsyncIterator[bytes]:
    """The thread's status now, then every event until it settles (neither running nor waiting
    for a reviewer) or ``timeout_s`` passes. Runs of other processes show as ``status`` events,
    found by polling the thread's row."""
    channel = ctx.hub.channel(row.id)
    channel.followers += 1
    try:
        # A run in progress here is shown from its start; otherwise from now (or Last-Event-ID).
        seq = channel.run_start_seq if channel.running is not None else channel.seq
        if last_seq is not None and last_seq <= channel.seq:
            seq = last_seq
        seen = (row.status, row.updated_at)
        yield (await _status_event(ctx, who, row, channel, seq)).encode()
        if row.status not in UNSETTLED and channel.running is None:
            return
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            events = await channel.after(seq, _POLL_S)
            for event in events:
                seq = event.seq
                yield event.encode()
                if event.type == "status" and event.data.get("status") not in UNSETTLED:
                    return
            if events:
                quiet_since = time.monotonic()
                continue
            if channel.running is None:
                latest = await to_thread.run_sync(ctx.tiller.threads.get, who.tenant, row.id)
                if (latest.status, latest.updated_at) != seen and latest.status != "running":
                    seen = (latest.status, latest.updated_at)
                    yield (await _status_event(ctx, who, latest, channel, seq)).encode()
                    if latest.status not in UNSETTLED:
                        return
            if time.monotonic() - quiet_since > _KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield KEEPALIVE
    finally:
        channel.followers -= 1


async def _status_event(
    ctx: ServiceContext, who: Principal, row: ThreadRow, channel: ThreadChannel, seq: int
) -> StreamEvent:
    """A ``status`` event built from the database, numbered ``seq`` (the stream's position)."""
    if row.status == "idle":
        data = {"thread_id": row.id, "status": "idle"}
    else:
        result = await to_thread.run_sync(lambda: ctx.tiller.result(row.id, tenant=who.tenant))
        status = "running" if channel.running is not None or row.status == "running" else result.status.value
        data = {**result.model_dump(mode="json"), "status": status}
    return StreamEvent(seq, "status", data)
