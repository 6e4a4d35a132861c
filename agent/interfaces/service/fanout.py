"""How a thread's events reach the service processes that do not run it.

The run hub (``hub.py``) numbers and keeps each thread's events in the process that runs it. A
``Fanout`` carries them to the other processes, where followers of the thread receive them as if
the run were local:

- ``LocalFanout`` (the default, no ``TILLER_REDIS_URL``): nothing leaves the process; followers
  of another process's run see its ``status`` changes, polled from the database.
- ``RedisFanout``: each event is published on the thread's pub/sub channel and appended to a
  short list (the thread's backlog: its last events, for 60 s after its latest). A process
  subscribes to a thread while it has followers of it, and reads the backlog once subscribed,
  so a follower that arrives mid-run sees the run from its start and a ``Last-Event-ID`` of any
  process resumes after that event. A lost connection never stops a local stream: events
  published meanwhile are dropped (counted), followers fall back to polling the database, and
  the subscriber reconnects, resubscribes and reads the backlogs again to fill the gap.

Why Redis and not PostgreSQL's LISTEN/NOTIFY: Redis already shares the rate limits between
processes (without it they are per process), it gives the backlog in the same round trip, and
NOTIFY would put every step event through the database that already carries the checkpoints,
with a payload limit of 8000 bytes (a ``status`` event holds the whole run result).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from agent.interfaces.service.sse import StreamEvent

log = logging.getLogger("tiller.service")

Deliver = Callable[[str, list[StreamEvent]], None]
"""``deliver(thread_id, events)``: events of a thread from another process, oldest first."""

_CONNECT_TIMEOUT_S = 2.0
_SOCKET_TIMEOUT_S = 5.0  # a Redis that stops answering fails a publish instead of holding it
_READ_WAIT_S = 5.0  # the subscriber's read timeout: an idle connection is read again after it
_MAX_BACKOFF_S = 5.0
_OUTBOX = 2_000  # events waiting to be published; more are dropped (Redis is away)
_BATCH = 256
_FLUSH_S = 2.0  # at shutdown, how long the last events may take to go out


class Fanout(Protocol):
    """Carries a thread's events to the other service processes."""

    @property
    def live(self) -> bool:
        """True while other processes' events arrive as they happen (else followers poll)."""

    async def start(self, deliver: Deliver) -> None:
        """Begin; ``deliver`` receives other processes' events (on this event loop)."""

    def publish(self, thread_id: str, event: StreamEvent) -> None:
        """Share one event of a run of this process; never blocks, never raises."""

    async def follow(self, thread_id: str) -> None:
        """Receive the thread's events from now on, after delivering its backlog."""

    def unfollow(self, thread_id: str) -> None:
        """Stop receiving the thread's events."""

    async def close(self) -> None: ...


class LocalFanout:
    """One process: nothing to carry."""

    live = False

    async def start(self, deliver: Deliver) -> None:
        return None

    def publish(self, thread_id: str, event: StreamEvent) -> None:
        return None

    async def follow(self, thread_id: str) -> None:
        return None

    def unfollow(self, thread_id: str) -> None:
        return None

    async def close(self) -> None:
        return None


def channel_name(thread_id: str) -> str:
    """The Redis pub/sub channel of a thread's live events."""
    return f"tiller-events:{thread_id}"


def backlog_key(thread_id: str) -> str:
    """The Redis list that keeps a thread's recent events (for a follower that arrives late)."""
    return f"tiller-events-log:{thread_id}"


class RedisFanout:
    """Events on Redis pub/sub, with a capped backlog list per thread (see the module docstring)."""

    def __init__(self, url: str, *, keep: int, keep_s: float, on_drop: Callable[[int], None] = lambda _n: None) -> None:
        tag = uuid.uuid4().hex[:8]
        self.origin = f"{socket.gethostname()}:{os.getpid()}:{tag}"
        self.client_name = f"tiller-events-{os.getpid()}-{tag}"  # in Redis's CLIENT LIST
        options: dict[str, Any] = {
            "socket_connect_timeout": _CONNECT_TIMEOUT_S,
            "socket_timeout": _SOCKET_TIMEOUT_S,
            "client_name": self.client_name,
        }
        # Commands retry once, at once: a pooled connection Redis closed meanwhile is reopened.
        self._redis = redis.asyncio.Redis.from_url(url, retry=Retry(NoBackoff(), 1), **options)
        # The subscriber never retries inside redis-py (which would resubscribe behind our back):
        # a failure reaches ``_subscribe_loop``, which reconnects and reads what was missed.
        self._subscriber = redis.asyncio.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)
        self._keep, self._keep_s, self._on_drop = keep, int(keep_s), on_drop
        self._deliver: Deliver | None = None
        self._outbox: asyncio.Queue[tuple[str, StreamEvent]] | None = None
        self._pubsub: Any = None
        self._connected = False
        self._wanted: set[str] = set()  # threads this process has followers of
        self._held: dict[str, list[bytes | str]] = {}  # live messages of a thread whose backlog is being read
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._catch_ups: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._publish_failing = False

    @property
    def live(self) -> bool:
        return self._connected

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._outbox = asyncio.Queue(_OUTBOX)
        self._spawn(self._publish_loop())
        self._spawn(self._subscribe_loop())

    def publish(self, thread_id: str, event: StreamEvent) -> None:
        if self._outbox is None:
            return  # not started (an app used without its lifespan): nothing to share with
        try:
            self._outbox.put_nowait((thread_id, event))
        except asyncio.QueueFull:
            self._on_drop(1)

    async def follow(self, thread_id: str) -> None:
        self._wanted.add(thread_id)
        if self._connected:
            await asyncio.shield(self._catching_up(thread_id))

    def unfollow(self, thread_id: str) -> None:
        self._wanted.discard(thread_id)
        if self._connected:
            self._spawn(self._unsubscribe(thread_id))

    async def _unsubscribe(self, thread_id: str) -> None:
        if thread_id not in self._wanted and self._pubsub is not None:  # not followed again meanwhile
            await self._quietly(self._pubsub.unsubscribe(channel_name(thread_id)))

    async def close(self) -> None:
        if self._outbox is not None:  # the last runs' events (drained at shutdown) go out first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), _FLUSH_S)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pubsub is not None:
            await self._quietly(self._pubsub.aclose())
        await self._quietly(self._redis.aclose())
        await self._quietly(self._subscriber.aclose())

    # -- publishing ---------------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        """Publish queued events in order, many per round trip."""
        assert self._outbox is not None
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < _BATCH:
                batch.append(self._outbox.get_nowait())
            try:
                await self._send(batch)
            except Exception as exc:  # any Redis or network failure: drop, log once, keep going
                self._on_drop(len(batch))
                if not self._publish_failing:
                    log.warning("cannot publish stream events to Redis (%s); other processes' followers poll", exc)
                self._publish_failing = True
                await asyncio.sleep(0.5)
            else:
                if self._publish_failing:
                    log.warning("publishing stream events to Redis again")
                self._publish_failing = False
            finally:
                for _ in batch:
                    self._outbox.task_done()

    async def _send(self, batch: list[tuple[str, StreamEvent]]) -> None:
        # The backlog first, then the messages: a follower that subscribed after a message was
        # sent finds the event in the backlog it reads next (duplicates are dropped by id).
        # One RPUSH, LTRIM and EXPIRE per thread of the batch, one PUBLISH per event.
        by_thread: dict[str, list[str]] = {}
        for thread_id, event in batch:
            body = {"o": self.origin, "id": event.id, "t": event.type, "d": event.data}
            by_thread.setdefault(thread_id, []).append(json.dumps(body, ensure_ascii=False, default=str))
        async with self._redis.pipeline(transaction=False) as pipe:
            for thread_id, payloads in by_thread.items():
                key = backlog_key(thread_id)
                pipe.rpush(key, *payloads)
                pipe.ltrim(key, -self._keep, -1)
                pipe.expire(key, self._keep_s)
                for payload in payloads:
                    pipe.publish(channel_name(thread_id), payload)
            await pipe.execute()

    # -- subscribing --------------------------------------------------------------------------

    async def _subscribe_loop(self) -> None:
        """Hold a subscriber connection; on failure, reconnect with backoff and catch up."""
        backoff = 0.25
        while True:
            try:
                self._pubsub = self._subscriber.pubsub()
                await self._pubsub.connect()
                if not self._connected and backoff > 0.25:
                    log.warning("receiving stream events from Redis again")
                self._connected, backoff = True, 0.25
                for thread_id in list(self._wanted):  # after a reconnect: what was missed meanwhile
                    self._catching_up(thread_id)
                while True:
                    message = await self._pubsub.get_message(timeout=_READ_WAIT_S)
                    if message is not None:
                        self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused, reset, timed out: the same recovery
                if self._connected or backoff == 0.25:
                    log.warning("lost the Redis subscriber (%s); followers poll the database until it is back", exc)
                self._lost()
                await self._quietly(self._pubsub.aclose())
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _lost(self) -> None:
        self._connected = False
        self._held.clear()
        for waiting in self._confirmations.values():
            if not waiting.done():
                waiting.cancel()
        self._confirmations.clear()

    def _catching_up(self, thread_id: str) -> asyncio.Task[None]:
        """The thread's catch-up in progress, or a new one (one at a time per thread)."""
        task = self._catch_ups.get(thread_id)
        if task is None or task.done():
            task = self._catch_ups[thread_id] = self._spawn(self._catch_up(thread_id))
            task.add_done_callback(lambda done: self._forget_catch_up(thread_id, done))
        return task

    def _forget_catch_up(self, thread_id: str, done: asyncio.Task[None]) -> None:
        if self._catch_ups.get(thread_id) is done:
            del self._catch_ups[thread_id]

    async def _catch_up(self, thread_id: str) -> None:
        """Subscribe to the thread, then deliver its backlog and what arrived meanwhile."""
        name = channel_name(thread_id)
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[name] = confirmed
        self._held[name] = []
        try:
            await self._pubsub.subscribe(name)
            await asyncio.wait_for(confirmed, _SOCKET_TIMEOUT_S)
            backlog: list[bytes | str] = await self._redis.lrange(backlog_key(thread_id), 0, -1)
        except asyncio.CancelledError:
            self._held.pop(name, None)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # closing; otherwise the connection was lost (the subscriber loop catches up)
            return
        except Exception as exc:  # the subscriber loop notices a broken connection and catches up
            self._held.pop(name, None)
            log.warning("cannot read the backlog of thread %s from Redis (%s)", thread_id, exc)
            return
        finally:
            self._confirmations.pop(name, None)
        self._receive(thread_id, [*backlog, *self._held.pop(name, [])])

    def _on_message(self, message: dict[str, Any]) -> None:
        name = _text(message.get("channel"))
        if message["type"] == "subscribe":
            waiting = self._confirmations.get(name)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
        elif message["type"] == "message":
            held = self._held.get(name)
            if held is not None:
                held.append(message["data"])
            else:
                self._receive(name.removeprefix("tiller-events:"), [message["data"]])

    def _receive(self, thread_id: str, payloads: list[bytes | str]) -> None:
        events = []
        for raw in payloads:
            try:
                body = json.loads(raw)
                if body["o"] != self.origin:  # our own runs are in our channels already
                    events.append(StreamEvent(0, str(body["t"]), dict(body["d"]), str(body["id"])))
            except (ValueError, KeyError, TypeError):
                log.warning("ignored a malformed stream event on thread %s: %r", thread_id, raw[:200])
        if events and self._deliver is not None and thread_id in self._wanted:
            self._deliver(thread_id, events)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _quietly(awaitable: Any) -> None:
        with contextlib.suppress(Exception):
            await awaitable


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def event_fanout(redis_url: str | None, *, keep: int, keep_s: float, on_drop: Callable[[int], None]) -> Fanout:
    """Redis pub/sub when a Redis URL is configured, else nothing leaves the process."""
    if not redis_url:
        return LocalFanout()
    return RedisFanout(redis_url, keep=keep, keep_s=keep_s, on_drop=on_drop)
