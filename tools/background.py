"""One event loop on a dedicated thread, for tools whose client is async (MCP sessions, async-only
LangChain tools) while the runtime calling them is synchronous.

The runtime runs each tool call on a worker thread of its own pool; an async client cannot be
driven from there with ``asyncio.run`` per call without losing everything long-lived it holds
(an MCP session lives on the loop that opened it). So the async objects live on this loop,
and callers cross over with :meth:`BackgroundLoop.run` (sync, bounded by a timeout) or
:meth:`BackgroundLoop.run_async` (from another event loop: the future async runtime).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """An asyncio loop running forever on one daemon thread; started on first use."""

    def __init__(self, name: str = "tiller-async-tools") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started now if it was not)."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=serve, name=self._name, daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on the loop's own thread (where waiting on it would deadlock)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; the returned future can be waited on from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for it from this (non-loop) thread.

        On timeout the coroutine is cancelled and :class:`TimeoutError` raised.
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("BackgroundLoop.run called from its own loop thread; await the coroutine instead")
        future = self.submit(coro)
        try:
            return future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout_s:g}s") from None

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the background loop from another running event loop."""
        if self.in_loop_thread():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    def close(self) -> None:
        """Stop the loop and join its thread (pending work is cancelled)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if not loop.is_running():
            loop.close()


_shared = BackgroundLoop()


def shared_loop() -> BackgroundLoop:
    """The process-wide loop for async tools (one thread, however many tools use it)."""
    return _shared
