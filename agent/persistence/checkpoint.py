"""LangGraph checkpointers: SQLite file by default, PostgreSQL when the database URL says so."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.errors import DatabaseUnavailable

SCHEMA_LOCK = 7_411_155_001  # pg advisory lock keys held while Tiller creates its tables
CHECKPOINT_LOCK = 7_411_155_002  # … and while LangGraph's checkpointer migrates its own


@contextmanager
def open_checkpointer(db_url: str, sqlite_path: Path) -> Iterator[BaseCheckpointSaver[str]]:
    """Yield a ready checkpointer; its connection closes when the context ends."""
    if db_url.startswith(("postgresql", "postgres:")):
        yield from _postgres(db_url)
        return
    from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: PLC0415  # SQLite only: a PostgreSQL home never loads it

    conn = _sqlite_connection(sqlite_path)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


def _sqlite_connection(sqlite_path: Path) -> sqlite3.Connection:
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(sqlite_path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives any process crash (only power loss can drop the newest
    # checkpoints, and a re-run step is deduplicated by the business database's ledger); FULL
    # fsynced each of the ~40 checkpoint rows of a run: 20 load-test users went 7.8 -> 9.1 runs/s.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@asynccontextmanager
async def open_async_checkpointer(db_url: str, sqlite_path: Path) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """Yield a ready async checkpointer on the running loop (``InlineSqliteSaver``, or
    ``PooledPostgresSaver``: LangGraph's ``AsyncPostgresSaver`` over a connection pool, without
    its lock); its connections close when the context ends."""
    if db_url.startswith(("postgresql", "postgres:")):
        async with _async_postgres(db_url) as saver:
            yield saver
        return
    # SQLite only: a PostgreSQL home never loads the SQLite saver. Awaited in place, not on a
    # thread per statement: agent/persistence/sqlite_saver.py says why.
    from agent.persistence.sqlite_saver import InlineSqliteSaver  # noqa: PLC0415

    conn = _sqlite_connection(sqlite_path)
    try:
        saver = InlineSqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


@asynccontextmanager
async def _async_postgres(db_url: str, max_size: int = 10) -> AsyncIterator[BaseCheckpointSaver[str]]:
    # PostgreSQL only: a SQLite home never loads psycopg and its pool (~0.3 s).
    import psycopg  # noqa: PLC0415
    from psycopg.rows import DictRow, dict_row  # noqa: PLC0415
    from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415

    from agent.persistence.postgres_saver import PooledPostgresSaver  # noqa: PLC0415

    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    with open_checkpointer(db_url, Path()):  # migrate the tables once, under the lock (sync path)
        pass
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    # The row factory arrives through kwargs, so the connections' row type is declared here.
    pool: AsyncConnectionPool[psycopg.AsyncConnection[DictRow]] = AsyncConnectionPool(
        url, min_size=1, max_size=max_size, kwargs=kwargs, open=False
    )
    try:
        await pool.open(wait=True, timeout=30)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL for checkpoints ({exc}); check TILLER_DATABASE_URL"
        ) from None
    try:
        yield PooledPostgresSaver(pool)  # no lock around every statement: postgres_saver.py says why
    finally:
        await pool.close()


def _postgres(db_url: str) -> Iterator[BaseCheckpointSaver[str]]:
    # PostgreSQL only: a SQLite home never loads psycopg (~0.3 s).
    import psycopg  # noqa: PLC0415
    from langgraph.checkpoint.postgres import PostgresSaver  # noqa: PLC0415
    from psycopg.rows import dict_row  # noqa: PLC0415

    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL for checkpoints ({exc}); check TILLER_DATABASE_URL"
        ) from None
    with conn:
        saver = PostgresSaver(conn)
        # Processes starting together on a fresh database would race on the migrations table.
        _lock_politely(conn, CHECKPOINT_LOCK)
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (CHECKPOINT_LOCK,))
        yield saver


def _lock_politely(conn: Any, key: int, timeout_s: float = 120.0) -> None:
    """Take a session advisory lock by polling, never by waiting inside a statement.

    The checkpointer's migrations run CREATE INDEX CONCURRENTLY, which waits for every open
    transaction — including a blocked ``pg_advisory_lock`` call of another process waiting for
    us, a deadlock. A failed ``pg_try_advisory_lock`` ends its transaction at once.
    """
    deadline = time.monotonic() + timeout_s
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (key,)).fetchone()["locked"]:
        if time.monotonic() > deadline:
            raise DatabaseUnavailable("another process has been creating the checkpoint tables for too long")
        time.sleep(0.05)
