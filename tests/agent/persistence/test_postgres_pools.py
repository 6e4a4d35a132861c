"""Concurrency on PostgreSQL: the checkpointer's statements over its pool do not queue behind
one another (``PooledPostgresSaver``), and the business engine keeps the connections its threads
use instead of opening a new one for most checkouts (``tools.db.PG_POOL_SIZE``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import event, text

from agent.persistence.checkpoint import open_async_checkpointer
from agent.persistence.postgres_saver import PooledPostgresSaver
from tests.conftest import postgres_schema
from tools.db import PG_POOL_SIZE, make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema("tiller_pools") as url:
        yield url


def _config(thread: str) -> dict[str, dict[str, str]]:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


async def _write_while_another_statement_is_open(saver: PooledPostgresSaver, timeout_s: float) -> None:
    """Put a checkpoint while another of the saver's statements holds its connection."""
    async with saver._cursor() as held:  # another run's statement, still going
        await held.execute("SELECT 1")
        put = saver.aput(_config("t-other"), empty_checkpoint(), {"source": "input", "step": -1}, {})
        await asyncio.wait_for(put, timeout=timeout_s)


def test_pooled_saver_runs_statements_side_by_side(pg_url: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with open_async_checkpointer(pg_url, tmp_path / "unused.db") as saver:
            assert isinstance(saver, PooledPostgresSaver)
            await _write_while_another_statement_is_open(saver, timeout_s=10)
            assert await saver.aget_tuple(_config("t-other")) is not None

    asyncio.run(main())


def test_saver_on_one_connection_still_takes_turns(pg_url: str, tmp_path: Path) -> None:
    """A single connection cannot serve two statements at once: there the lock stays."""

    async def main() -> None:
        async with open_async_checkpointer(pg_url, tmp_path / "unused.db") as pooled:
            pool = pooled.conn
            assert isinstance(pool, AsyncConnectionPool)
            async with pool.connection() as conn:
                single = PooledPostgresSaver(conn)
                with pytest.raises(TimeoutError):
                    await _write_while_another_statement_is_open(single, timeout_s=1)

    asyncio.run(main())


def test_engine_keeps_the_connections_its_threads_use(pg_url: str) -> None:
    engine = make_engine(pg_url)
    opened: list[object] = []
    event.listen(engine, "connect", lambda conn, record: opened.append(conn))
    threads = 12  # a busy runtime: its tool workers and its loop's default executor
    assert threads <= PG_POOL_SIZE
    barrier = threading.Barrier(threads)

    def hold_one() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            barrier.wait(timeout=10)  # every thread holds a connection at the same time

    try:
        for _ in range(3):
            workers = [threading.Thread(target=hold_one) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        # SQLAlchemy's default pool (5 kept, overflow closed on return) opens 7 more each round.
        assert len(opened) == threads
    finally:
        engine.dispose()
