"""The event loop a runtime runs on: the caller's, or one of its own on a daemon thread.

Graphs, model calls and checkpoints are async and bound to one loop (an async checkpointer's
connection belongs to the loop that opened it). A ``Tiller`` opened by a script, the CLI or a
test — no loop of their own — gets an ``EventLoopThread``; its sync methods hand coroutines to
that loop and wait. Async callers on another loop (the HTTP service's) await them across loops
without blocking theirs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoopThread:
    """An asyncio loop on a daemon thread."""

    def __init__(self, name: str = "tiller-runtime") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it (from any thread but the loop's own)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a runtime's sync method was called on its own event loop; await the async one")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop from any running loop (directly when it is this one)."""
        if asyncio.get_running_loop() is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        """Stop the loop and its thread (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
