"""Runs on worker threads, their step events fanned out to the streams that follow a thread.

The runtime is synchronous: each run executes on a worker thread (an ``anyio`` capacity limiter
bounds how many at once) and reports its steps through ``on_event``, which hops onto the event
loop into the thread's ``ThreadChannel``. A run is a background task of the app, not of the
request: a client that disconnects does not stop a refund half-way.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from agent.errors import TillerError
from agent.interfaces.service.errors import Conflict, ServiceError, from_runtime_error
from agent.interfaces.service.metrics import ServiceMetrics
from agent.interfaces.service.sse import StreamEvent, translate
from agent.loop.events import RunEvent
from agent.loop.state import RunResult

log = logging.getLogger("tiller.service")

RunBody = Callable[[Callable[[RunEvent], None]], Awaitable[RunResult]]
"""``body(on_event)``: a run of the runtime (``Tiller.aask`` / ``aresume``), awaited on this loop."""
_KEEP_EVENTS = 500
_IDLE_CHANNEL_S = 60.0
"""A settled thread nobody follows keeps its events this long, for a client that reconnects with
Last-Event-ID; after that the thread's state is read from the API. (600 s made a busy service
hold every recent run's events: ~15 KB a run, the first ten minutes of the soak's memory growth.)"""


class ThreadChannel:
    """The recent events of one thread in this process, numbered; waiters wake on news."""

    def __init__(self) -> None:
        self.events: deque[StreamEvent] = deque(maxlen=_KEEP_EVENTS)
        self.seq = 0
        self.running: str | None = None  # the job id of the run executing here, if any
        self.run_start_seq = 0  # the last event before that run began
        self.followers = 0
        self.touched = time.monotonic()
        self._news = asyncio.Event()

    def append(self, kind: str, data: dict[str, Any]) -> StreamEvent:
        """Number and keep an event, and wake everyone waiting for news."""
        self.seq += 1
        event = StreamEvent(self.seq, kind, data)
        self.events.append(event)
        self.touched = time.monotonic()
        news, self._news = self._news, asyncio.Event()
        news.set()
        return event

    def followed(self) -> bool:
        """Whether a stream follows this thread now (its runs then stream text tokens)."""
        return self.followers > 0

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


class RunHub:
    """Starts runs as tasks of the service's loop (awaiting the async runtime: no thread per
    run) and keeps each thread's channel."""

    def __init__(self, metrics: ServiceMetrics, run_threads: int) -> None:
        self._metrics = metrics
        self._limiter = anyio.CapacityLimiter(run_threads)
        self._channels: dict[str, ThreadChannel] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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

        def on_event(event: RunEvent) -> None:  # on the runtime's event loop
            kind_, data = translate(event)
            loop.call_soon_threadsafe(channel.append, kind_, {**data, **tag})

        channel.append("run_started", {**tag, "kind": kind})
        self._metrics.runs_in_progress.inc()
        try:
            async with self._limiter:  # at most TILLER_RUN_THREADS runs at once in this process
                result = await body(on_event)
        except BaseException as exc:
            error = _as_service_error(exc)
            channel.append("error", {**tag, "code": error.code, "message": error.message})
            job.done.set_exception(error)
            job.done.exception()  # retrieved: a follower that left must not log "never retrieved"
            if not isinstance(exc, Exception):
                raise
        else:
            channel.append("status", {**result.model_dump(mode="json"), **tag})
            job.done.set_result(result)
        finally:
            channel.running = None
            self._metrics.runs_in_progress.dec()
            if on_done is not None:
                await on_done()

    def _prune(self) -> None:
        """Forget channels nobody runs or follows and that have been quiet for a while."""
        now = time.monotonic()
        stale = [
            t
            for t, c in self._channels.items()
            if c.running is None and c.followers == 0 and now - c.touched > _IDLE_CHANNEL_S
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
