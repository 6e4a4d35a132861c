"""Database plumbing for the tools: engines, sessions and the declarative base.

SQLite (a file under ``TILLER_HOME``) by default; PostgreSQL when the URL says so. The URL is
passed in by the caller (the runtime's typed config), never read from the environment here.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Engine, TypeDecorator, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from tools.errors import database_unavailable


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (what every timestamp column stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time, so values read back
    naive and get UTC re-attached here. Naive values are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """An aware datetime to UTC for storage (SQLite keeps it without offset); a naive one is refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite would otherwise store the offset-less wall time of whatever zone came in.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """A stored datetime as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table owned by the tools layer (business data, ledger)."""


PG_POOL_SIZE = min(20, 8 + min(32, (os.cpu_count() or 1) + 4))
"""PostgreSQL connections an engine keeps open once opened: as many as threads may hold at once
(a runtime's 8 tool workers and its event loop's default executor, min(32, CPUs + 4)), at most
20. SQLAlchemy's default keeps 5 and closes every connection past them when it is returned, so
under load about every other run opened a connection — a new PostgreSQL backend process — and
closed it again. Up to 10 more are opened past these when needed (and closed after), as
SQLAlchemy's default allows: at most 30 for a runtime's engine, besides its checkpointer's pool
of at most 10 — PostgreSQL's ``max_connections`` (100 by default) must cover the processes run."""


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for bare PostgreSQL URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_postgres(url: str) -> bool:
    """Whether the URL is PostgreSQL's (in any of its spellings)."""
    return normalize_url(url).startswith("postgresql")


def make_engine(url: str, *, busy_timeout_s: float = 30.0, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys on.

    ``busy_timeout_s``: how long an SQLite write waits for another connection's lock before it
    fails with "database is locked" (PostgreSQL waits on row locks instead).
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        connect_args = {"timeout": busy_timeout_s, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    kwargs = {"pool_size": PG_POOL_SIZE, "max_overflow": 10} | kwargs
    return create_engine(url, pool_pre_ping=True, **kwargs)


_LOCK_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite refusing a statement because another connection holds a lock
    it needs (``database is locked``): the transaction rolled back and may simply run again."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(orig, sqlite3.OperationalError) and isinstance(code, int) and code & 0xFF in _LOCK_CODES


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine`` whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session in one transaction: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def refusals_as_tool_errors() -> Iterator[None]:
    """A database that refuses a statement — a lock held past the busy timeout, a lost
    connection — raises ``ToolUnavailable`` saying so (nothing was committed)."""
    try:
        yield
    except OperationalError as exc:
        raise database_unavailable(str(exc.orig)) from None
