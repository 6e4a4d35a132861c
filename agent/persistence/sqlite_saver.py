"""The SQLite checkpointer of an async runtime: LangGraph's ``SqliteSaver``, awaited in place.

``AsyncSqliteSaver`` runs every statement on aiosqlite's own thread, so each checkpoint read or
write is two thread hand-offs and a wake-up of the event loop — and a run writes several per step.
On a local SQLite file in WAL mode with ``synchronous=NORMAL`` a checkpoint write commits without
an fsync and takes tens of microseconds, less than the hand-offs around it (under load the
aiosqlite thread alone was 12 % of the service's samples). So the async methods here call the
sync ones directly, on the loop: 20 users went from 19.4 to 25.5 runs/s and 46.8 to 39.0 ms of
server CPU per run (docs/BENCHMARKS.md §9).

The trade (not measured on its own): while a statement runs, the loop waits. It waits for SQLite's
write lock only when another process writes the same checkpoint file at that moment (a CLI run on
the service's home), for as long as that process's transaction — milliseconds; ``busy_timeout``
bounds it. A home on PostgreSQL uses ``PooledPostgresSaver`` (postgres_saver.py): network round
trips are awaited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.sqlite import SqliteSaver


class InlineSqliteSaver(SqliteSaver):
    """``SqliteSaver`` whose async methods run the sync ones in place (no thread per statement)."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint tuple ``config`` names (``SqliteSaver.get_tuple``)."""
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # LangGraph's parameter name
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """The matching checkpoints, newest first (``SqliteSaver.list``)."""
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint (``SqliteSaver.put``)."""
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Store a task's pending writes (``SqliteSaver.put_writes``)."""
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete a thread's checkpoints and writes (``SqliteSaver.delete_thread``)."""
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """``SqliteSaver.get_delta_channel_history``: one query instead of a walk of awaited reads."""
        return self.get_delta_channel_history(config=config, channels=channels)
