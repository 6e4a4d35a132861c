"""The event loop a runtime runs on: the caller's, or one of its own on a daemon thread.

Graphs, model calls and checkpoints are async and bound to one loop (an async checkpointer's
connection belongs to the loop that opened it). A ``Tiller`` opened by a script, the CLI or a
test — no loop of their own — gets an ``EventLoopThread``; its sync methods hand coroutines to
that loop and wait. Async callers on another loop await them across loops without blocking
theirs. A server that has a loop (the HTTP service) starts the runtime on it instead
(``Tiller(start=False)`` then ``await tiller.astart()``): a ``CallerLoop``, where runs are awaited
directly — no second loop, no hop per event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from typing import Any, TypeVar

try:
    from uvloop import new_event_loop as _new_loop
except ImportError:  # not a dependency on Windows
    _new_loop = asyncio.new_event_loop  # type: ignore[assignment]  # a Loop is an AbstractEventLoop

T = TypeVar("T")
log = logging.getLogger("tiller.runtime")
_NOT_STARTED = "this runtime was made with start=False: await its astart() first"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """An event loop for a runtime of its own: uvloop's where it is installed (a dependency on
    Linux and macOS, and the loop ``tiller serve`` runs on through uvicorn), else asyncio's."""
    return _new_loop()


class _LoopHandle:
    """What both kinds of runtime loop do with a coroutine: hand it to ``loop`` from elsewhere."""

    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it (from any thread but the loop's own)."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:  # waiting here would block the loop that has to run it
            coro.close()
            raise RuntimeError(
                "a runtime's sync method was called on the event loop it runs on; await the async one "
                "(or call it from a worker thread)"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop from any running loop (directly when it is this one)."""
        if asyncio.get_running_loop() is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))


class CallerLoop(_LoopHandle):
    """The loop of the code that started the runtime (``Tiller.astart``): runs are awaited on it
    directly; sync callers on other threads (a worker thread of the service) hand it coroutines."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether the runtime was closed (the loop itself belongs to its owner)."""
        return self._closed or self.loop.is_closed()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """``_LoopHandle.run``, refused once the owner's loop stopped (nothing would run it)."""
        if not self.loop.is_running():
            coro.close()
            raise RuntimeError("the event loop this runtime runs on has stopped")
        return super().run(coro)

    def close(self) -> None:
        """Mark the runtime closed; the loop stays its owner's."""
        self._closed = True


class EventLoopThread(_LoopHandle):
    """An asyncio loop on a daemon thread."""

    def __init__(self, name: str = "tiller-runtime") -> None:
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def closed(self) -> bool:
        """Whether the loop was closed."""
        return self.loop.is_closed()

    def close(self) -> None:
        """Stop the loop and its thread (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class RuntimeLoop:
    """Where a runtime runs — not yet, its own ``EventLoopThread`` or the caller's loop — and
    what it opened there (``stack``: the async checkpointer), closed on that loop."""

    def __init__(self) -> None:
        self.stack = AsyncExitStack()
        self._current: EventLoopThread | CallerLoop | None = None

    @property
    def started(self) -> bool:
        """Whether the runtime started (on some loop)."""
        return self._current is not None

    @property
    def current(self) -> EventLoopThread | CallerLoop:
        """The loop the runtime runs on (``RuntimeError`` before it started)."""
        if self._current is None:
            raise RuntimeError(_NOT_STARTED)
        return self._current

    def start_own(self, opening: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start on a loop of the runtime's own, running ``opening()`` there."""
        self._current = EventLoopThread()
        self._current.run(opening())

    async def start_here(self, opening: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start on the running loop, running ``opening()`` on it."""
        if self._current is not None:
            raise RuntimeError("this runtime is started already")
        self._current = CallerLoop(asyncio.get_running_loop())
        await opening()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the runtime's loop and wait for it (callers without a loop)."""
        return self._loop_for(coro).run(coro)

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the runtime's loop from any running loop."""
        return await self._loop_for(coro).call(coro)

    def _loop_for(self, coro: Coroutine[Any, Any, Any]) -> EventLoopThread | CallerLoop:
        loop = self._current
        if loop is None or loop.closed:
            coro.close()  # it will never run: no "never awaited" warning on top of the error
            raise RuntimeError(_NOT_STARTED if loop is None else "this runtime is closed")
        return loop

    def close(self) -> None:
        """Close what was opened on the loop, then the loop (from any thread but the loop's)."""
        loop = self._current
        if loop is None:
            return
        if not loop.closed:
            try:
                loop.run(self.stack.aclose())
            except RuntimeError:  # the loop already stopped (interpreter shutdown)
                log.debug("runtime loop gone before what it opened was closed")
        loop.close()

    async def aclose(self) -> None:
        """``close`` from a running loop: on the runtime's own, what it opened closes right here."""
        loop = self._current
        if isinstance(loop, CallerLoop) and asyncio.get_running_loop() is loop.loop:
            if not loop.closed:
                await self.stack.aclose()
            loop.close()
        else:
            await asyncio.to_thread(self.close)
