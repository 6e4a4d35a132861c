"""The runtime's SQLite checkpointer runs its statements on the calling loop (no thread per
statement, agent/persistence/sqlite_saver.py), and the same saver serves sync callers on other
threads: the sync facade and the async runtime share one file and see each other's writes."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint

from agent.persistence.checkpoint import open_async_checkpointer
from agent.persistence.sqlite_saver import InlineSqliteSaver


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


def test_statements_run_on_the_loop_thread_and_sync_callers_share_the_file(tmp_path: Path) -> None:
    seen: list[int] = []

    async def main() -> None:
        async with open_async_checkpointer(f"sqlite:///{tmp_path / 'tiller.db'}", tmp_path / "cp.sqlite") as saver:
            assert isinstance(saver, InlineSqliteSaver)
            original = saver.cursor

            def cursor(*args: Any, **kwargs: Any) -> Any:
                seen.append(threading.get_ident())
                return original(*args, **kwargs)

            saver.cursor = cursor  # type: ignore[method-assign]
            checkpoint = empty_checkpoint()
            stored = await saver.aput(_config("t1"), checkpoint, {"step": 1}, {})
            await saver.aput_writes(stored, [("messages", "hello")], task_id="task-1")
            assert seen and set(seen) == {threading.get_ident()}, "a statement ran off the loop's thread"

            # A sync caller (the facade's thread) reads what the loop wrote, and the loop its writes.
            read = await asyncio.to_thread(saver.get_tuple, _config("t1"))
            assert read is not None and read.checkpoint["id"] == checkpoint["id"]
            assert read.pending_writes == [("task-1", "messages", "hello")]
            other = empty_checkpoint()
            await asyncio.to_thread(saver.put, _config("t2"), other, {"step": 1}, {})
            listed = [t.checkpoint["id"] async for t in saver.alist(_config("t2"))]
            assert listed == [other["id"]]

            await saver.adelete_thread("t1")
            assert await saver.aget_tuple(_config("t1")) is None

    asyncio.run(main())
