"""The PostgreSQL checkpointer of an async runtime: LangGraph's ``AsyncPostgresSaver`` over a
connection pool, without its instance lock.

``AsyncPostgresSaver`` takes one ``asyncio.Lock`` of its own around every statement it runs,
whether it was given a single connection (which two coroutines must not share) or a pool (whose
connections are each held by one coroutine at a time anyway). Over a pool, that lock makes every
checkpoint read and write of every run in the process wait for the one before it — a network
round trip each, ~13 of them per one-tool run — so concurrent runs queue on one lock while the
pool's other connections sit idle (langgraph issue #7259; the fix proposed upstream, PR #7269,
drops the lock for pools in the same way). Here a pooled saver takes a connection from the pool
per statement and no lock; a saver on a single connection or a pipeline keeps the lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool


class PooledPostgresSaver(AsyncPostgresSaver):
    """``AsyncPostgresSaver`` whose statements over a pool run concurrently (see the module doc)."""

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        """A cursor on a connection of the pool's, held for this statement only; ``pipeline``:
        the statements inside run as one pipeline (or one transaction where the server has none),
        as in ``AsyncPostgresSaver._cursor``."""
        if self.pipe is not None or not isinstance(self.conn, AsyncConnectionPool):
            async with super()._cursor(pipeline=pipeline) as shared:  # one connection: the lock guards it
                yield shared
            return
        async with self.conn.connection() as conn:
            if not pipeline:
                async with conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            elif self.supports_pipeline:
                async with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            else:
                async with conn.transaction(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
