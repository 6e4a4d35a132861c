"""Runs as tasks of the service's event loop, their step events fanned out to the streams that
follow a thread.

Each run awaits the async runtime (an ``anyio`` capacity limiter bounds how many at once) and
reports its steps through ``on_event`` into the thread's ``ThreadChannel``; the hub's ``Fanout``
(``fanout.py``) shares them with the other service processes, whose followers of the thread
receive them in their own channel of it. A run is a background task of the app, not of the
request: a client that disconnects does not stop a write half-way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from agent.errors import TillerError
from agent.interfaces.service.errors import Conflict, ServiceError, from_runtime_error
from agent.interfaces.service.fanout import Fanout, LocalFanout
from agent.interfaces.service.metrics import ServiceMetrics
from agent.interfaces.service.sse import StreamEvent, translate
from agent.loop.events import RunEvent
from agent.loop.state import RunResult

log = logging.getLogger("tiller.service")

RunBody = Callable[[Callable[[RunEvent], None]], Awaitable[RunResult]]
"""``body(on_event)``: a run of the runtime (``Tiller.aask`` / ``aresume``), awaited on this loop."""
KEEP_EVENTS = 500
IDLE_CHANNEL_S = 60.0
"""A settled thread nobody follows keeps its events this long, for a client that reconnects with
Last-Event-ID; after that the thread's state is read from the API. (600 s made a busy service
hold every recent run's events: ~15 KB a run, the first ten minutes of the soak's memory growth.)"""
PRUNE_EVERY_S = IDLE_CHANNEL_S / 6
"""Idle channels are looked for at most this often (on a new thread's first channel): walking
every channel for each new thread was ~1 % of a busy server's CPU (docs/BENCHMARKS.md §9, stop 26).
An idle channel is forgotten between ``IDLE_CHANNEL_S`` and ``IDLE_CHANNEL_S + PRUNE_EVERY_S``."""


class ThreadChannel:
    """The recent events of one thread in this process — of its runs here, and of other
    processes' runs while someone here follows it — numbered; waiters wake on news."""

    def __init__(self) -> None:
        self.events: deque[StreamEvent] = deque(maxlen=KEEP_EVENTS)
        self.seq = 0
        self.running: str | None = None  # the job id of the run executing here, if any
        self.current_job: str | None = None  # the run in progress (here or elsewhere), from its events
        self.run_start_seq = 0  # the last event before that run began
        self.followers = 0
        self.watchers = 0  # followers of the whole thread (they receive other processes' runs)
        self.ready: asyncio.Future[None] | None = None  # set once the first watcher's backlog is in
        self.touched = time.monotonic()
        self._ids: set[str] = set()
        self._news = asyncio.Event()

    def append(self, kind: str, data: dict[str, Any], event_id: str | None = None) -> StreamEvent:
        """Number and keep an event (``event_id``: its SSE id across processes), and wake everyone waiting."""
        if len(self.events) == self.events.maxlen and self.events[0].id is not None:
            self._ids.discard(self.events[0].id)  # about to fall off the end
        self.seq += 1
        event = StreamEvent(self.seq, kind, data, event_id)
        self.events.append(event)
        if event_id is not None:
            self._ids.add(event_id)
        job = data.get("job_id")
        if kind == "run_started":
            self.current_job, self.run_start_seq = job, self.seq - 1
        elif kind in ("status", "error") and job == self.current_job:
            self.current_job = None
        self.touched = time.monotonic()
        news, self._news = self._news, asyncio.Event()
        news.set()
        return event

    def followed(self) -> bool:
        """Whether a stream follows this thread now (its runs then stream text tokens)."""
        return self.followers > 0

    def receive(self, event: StreamEvent) -> None:
        """An event of another process's run (from the fanout); one seen already is dropped."""
        if event.id not in self._ids:
            self.append(event.type, event.data, event.id)

    def start(self) -> int:
        """Where a new follower starts: the run in progress from its beginning, else now."""
        return self.run_start_seq if self.current_job is not None else self.seq

    def position(self, event_id: str) -> int | None:
        """The position of the event with this SSE id, if this channel still holds it."""
        if event_id in self._ids:
            return next(e.seq for e in self.events if e.id == event_id)
        return None

    def id_before(self, seq: int) -> str | None:
        """The SSE id of the last event at or before position ``seq`` (to resume after it)."""
        return next((e.id for e in reversed(self.events) if e.seq <= seq), None)

    async def after(self, seq: int, timeout: float) -> list[StreamEvent]:
        """Events numbered after ``seq``, waiting up to ``timeout`` seconds for the first."""
        new = [e for e in self.events if e.seq > seq]
        if new:
            return new
        news = self._news
        try:
            await asyncio.wait_for(news.wait(), timeout)
        except TimeoutError:
            return []
        return [e for e in self.events if e.seq > seq]


@dataclass
class RunJob:
    """A run started in the background: follow ``channel`` from ``start_seq`` for its events."""

    job_id: str
    thread_id: str
    channel: ThreadChannel
    start_seq: int
    done: asyncio.Future[RunResult] = field(repr=False)
    emitted: int = 0  # events of this run so far: the n of the next one's id ``<job_id>.<n>``


class RunHub:
    """Starts runs as tasks of the service's loop (awaiting the async runtime: no thread per
    run), keeps each thread's channel and shares its runs' events through the fanout."""

    def __init__(self, metrics: ServiceMetrics, run_threads: int, fanout: Fanout | None = None) -> None:
        self._metrics = metrics
        self._limiter = anyio.CapacityLimiter(run_threads)
        self._channels: dict[str, ThreadChannel] = {}
        self._pruned_at = time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()
        self.fanout: Fanout = fanout or LocalFanout()

    async def open(self) -> None:
        """Start receiving other processes' events (the app's startup)."""
        await self.fanout.start(self._receive)

    async def close(self) -> None:
        """Stop the fanout (the app's shutdown)."""
        await self.fanout.close()

    @property
    def live(self) -> bool:
        """Whether other processes' runs reach this process's followers as they happen."""
        return self.fanout.live

    @asynccontextmanager
    async def watch(self, thread_id: str) -> AsyncIterator[ThreadChannel]:
        """The thread's channel, receiving other processes' runs of it (their recent events
        first) while the block runs."""
        channel = self.channel(thread_id)
        channel.followers += 1
        channel.watchers += 1
        try:
            if channel.watchers == 1:
                channel.ready = asyncio.get_running_loop().create_future()
                try:
                    await self.fanout.follow(thread_id)
                finally:
                    channel.ready.set_result(None)
            elif channel.ready is not None:
                await asyncio.shield(channel.ready)
            yield channel
        finally:
            channel.watchers -= 1
            channel.followers -= 1
            if channel.watchers == 0:
                self.fanout.unfollow(thread_id)

    def _receive(self, thread_id: str, events: list[StreamEvent]) -> None:
        channel = self._channels.get(thread_id)
        if channel is None or channel.watchers == 0:
            return  # nobody here follows it (any more)
        for event in events:
            channel.receive(event)

    def channel(self, thread_id: str) -> ThreadChannel:
        """The thread's channel in this process, made on first use (idle ones are pruned then)."""
        found = self._channels.get(thread_id)
        if found is None:
            self._prune()
            found = self._channels[thread_id] = ThreadChannel()
        return found

    def is_running(self, thread_id: str) -> bool:
        """Whether this process is running the thread now."""
        found = self._channels.get(thread_id)
        return found is not None and found.running is not None

    def start(
        self, thread_id: str, kind: str, body: RunBody, on_done: Callable[[], Awaitable[None]] | None = None
    ) -> RunJob:
        """Run ``body(on_event)`` as a task; ``Conflict`` if this process runs the thread."""
        channel = self.channel(thread_id)
        if channel.running is not None:
            raise Conflict(f"thread {thread_id} is running a request now; wait for it to finish", code="thread_busy")
        job_id = "job_" + uuid.uuid4().hex[:12]
        channel.running, channel.run_start_seq = job_id, channel.seq
        job = RunJob(job_id, thread_id, channel, channel.seq, asyncio.get_running_loop().create_future())
        task = asyncio.create_task(self._execute(job, kind, body, on_done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def drain(self) -> None:
        """Wait for the runs in progress (at shutdown: a run is never cut half-way on purpose)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _execute(
        self, job: RunJob, kind: str, body: RunBody, on_done: Callable[[], Awaitable[None]] | None
    ) -> None:
        loop = asyncio.get_running_loop()
        tag = {"job_id": job.job_id, "thread_id": job.thread_id}
        channel = job.channel

        here = threading.get_ident()

        def on_event(event: RunEvent) -> None:  # on the runtime's event loop: this one, or its own
            kind_, data = translate(event)
            if threading.get_ident() == here:
                self._emit(job, kind_, {**data, **tag})  # now: a later hop could land after the status
            else:
                loop.call_soon_threadsafe(self._emit, job, kind_, {**data, **tag})

        self._emit(job, "run_started", {**tag, "kind": kind})
        self._metrics.runs_in_progress.inc()
        try:
            async with self._limiter:  # at most TILLER_RUN_THREADS runs at once in this process
                result = await body(on_event)
        except BaseException as exc:
            error = _as_service_error(exc)
            self._emit(job, "error", {**tag, "code": error.code, "message": error.message})
            job.done.set_exception(error)
            job.done.exception()  # retrieved: a follower that left must not log "never retrieved"
            if not isinstance(exc, Exception):
                raise
        else:
            self._emit(job, "status", {**result.model_dump(mode="json"), **tag})
            job.done.set_result(result)
        finally:
            channel.running = None
            self._metrics.runs_in_progress.dec()
            if on_done is not None:
                await on_done()

    def _emit(self, job: RunJob, kind: str, data: dict[str, Any]) -> None:
        """One event of a run here: into the thread's channel, and out to the other processes."""
        job.emitted += 1
        event = job.channel.append(kind, data, f"{job.job_id}.{job.emitted}")
        self.fanout.publish(job.thread_id, event)

    def _prune(self) -> None:
        """Forget channels nobody runs or follows and that have been quiet for a while (at most
        every ``PRUNE_EVERY_S``)."""
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        stale = [
            t
            for t, c in self._channels.items()
            if c.running is None and c.followers == 0 and now - c.touched > IDLE_CHANNEL_S
        ]
        for thread_id in stale:
            del self._channels[thread_id]


def _as_service_error(exc: BaseException) -> ServiceError:
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, TillerError):
        return from_runtime_error(exc)
    log.exception("run crashed", exc_info=exc)
    return ServiceError(f"the run stopped on an internal error ({type(exc).__name__}); it can be resumed")
