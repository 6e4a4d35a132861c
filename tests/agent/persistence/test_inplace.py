"""Store calls from async code (agent/persistence/inplace.py): on a SQLite file they run on the
loop's own thread over a connection that never waits for a lock; when SQLite is busy they run
again on a worker thread — the loop keeps serving, and nothing a call wrote is lost or doubled."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import ThreadNotFound
from agent.persistence.database import open_database
from agent.persistence.inplace import InPlace, RuntimeStores
from agent.tracing.metrics import RunMetrics
from tools.db import is_busy, make_engine, make_session_factory


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, sessionmaker[Session]]]:
    path = tmp_path / "tiller.db"
    engine, sessions = open_database(f"sqlite:///{path}", busy_timeout_s=5.0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE marks (name TEXT NOT NULL)"))
    yield path, sessions
    engine.dispose()


_MARK = text("INSERT INTO marks VALUES ('trace')")


def _stores(sessions: sessionmaker[Session]) -> InPlace[RuntimeStores]:
    return InPlace(lambda s: RuntimeStores.over(s, approval_ttl_s=60), sessions)


def _write_lock(path: Path) -> sqlite3.Connection:
    """Another connection holding the file's write lock (as a sync tool mid-transaction would)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _marks(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return [r[0] for r in session.execute(text("SELECT name FROM marks ORDER BY name"))]


def test_calls_run_on_the_loop_thread_and_reads_pass_a_held_write_lock(db: tuple[Path, sessionmaker[Session]]) -> None:
    path, sessions = db
    stores = _stores(sessions)
    assert stores.in_place
    stores.pooled.threads.open("t_1", tenant_id="acme", user_id="ann")

    async def main() -> None:
        loop_thread = threading.get_ident()
        where, row = await stores.run(lambda st: (threading.get_ident(), st.threads.get("acme", "t_1")))
        assert where == loop_thread and row.user_id == "ann"
        holder = _write_lock(path)
        try:  # WAL: a reader does not wait for a writer, so the read stays in place
            where, row = await stores.run(lambda st: (threading.get_ident(), st.threads.get("acme", "t_1")))
            assert where == loop_thread and row.id == "t_1"
        finally:
            holder.rollback()
            holder.close()
        with pytest.raises(ThreadNotFound):  # the store's own errors are the caller's, not a reason to retry
            await stores.run(lambda st: st.threads.get("other", "t_1"))

    asyncio.run(main())
    assert stores.fallbacks == 0
    stores.close()


def test_a_write_that_finds_the_lock_taken_runs_on_a_thread_without_stalling_the_loop(
    db: tuple[Path, sessionmaker[Session]],
) -> None:
    path, sessions = db
    stores = _stores(sessions)
    stores.pooled.threads.open("t_2", tenant_id="acme", user_id="ann")
    stores.pooled.threads.claim("t_2")

    async def main() -> tuple[int, int]:
        loop_thread = threading.get_ident()
        holder = _write_lock(path)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        asyncio.get_running_loop().call_later(0.3, holder.commit)  # the other writer finishes

        def release(st: RuntimeStores) -> int:
            # The lease's release with a row written in its transaction (the run's trace, in the runtime).
            st.threads.release("t_2", "idle", also=lambda conn: conn.execute(_MARK))
            return threading.get_ident()

        where = await stores.run(release)
        ticker.cancel()
        holder.close()
        assert where != loop_thread, "the write should have gone to a worker thread"
        return ticks, stores.fallbacks

    metrics = RunMetrics()
    metrics.watch_stores(dict, lambda: stores.fallbacks)
    ticks, fallbacks = asyncio.run(main())
    assert fallbacks == 1
    assert metrics.registry.get_sample_value("tiller_store_busy_fallbacks_total") == 1
    assert ticks >= 10, f"the loop served {ticks} ticks while the write waited ~0.3 s for the lock"
    assert _marks(sessions) == ["trace"], "the row written with the release was lost or doubled"
    row = stores.pooled.threads.get("acme", "t_2")
    assert row.status == "idle" and row.lease_owner is None
    stores.close()


def test_only_busy_errors_fall_back(db: tuple[Path, sessionmaker[Session]]) -> None:
    _, sessions = db
    raw = InPlace(lambda s: s, sessions)

    def missing_table(s: sessionmaker[Session]) -> None:
        with s() as session:
            session.execute(text("SELECT * FROM no_such_table"))

    async def main() -> None:
        with pytest.raises(OperationalError, match="no such table"):
            await raw.run(missing_table)

    asyncio.run(main())
    assert raw.fallbacks == 0
    raw.close()


def test_memory_databases_and_servers_run_on_a_worker_thread() -> None:
    engine = make_engine("sqlite://")
    raw = InPlace(lambda s: s, make_session_factory(engine))
    assert not raw.in_place

    async def main() -> int:
        return await raw.run(lambda _: threading.get_ident())

    assert asyncio.run(main()) != threading.get_ident()
    engine.dispose()


def test_is_busy_names_lock_refusals_only(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    assert is_busy(locked.value)
    with pytest.raises(sqlite3.OperationalError) as missing:
        other.execute("SELECT * FROM nope")
    assert not is_busy(missing.value)
    holder.rollback()
    holder.close()
    other.close()
