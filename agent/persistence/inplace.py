"""Store calls from async code: in place on a SQLite file, on a worker thread otherwise.

The runtime's stores (threads, approvals, traces, keys) are short synchronous SQLAlchemy
transactions. Sent to a worker thread, each costs two thread hand-offs, a wake-up of the loop and
a wait for the GIL — more than the transaction itself on a local SQLite file in WAL mode, where a
read by id takes ~40 µs and a write commits without an fsync (docs/BENCHMARKS.md §9, stop 27). So
on such a file :class:`InPlace` runs the call on the event loop itself, over a connection of the
loop's own that **never waits for a lock** (``busy_timeout`` 0): when SQLite says the database is
busy — another connection holds the write lock (a sync tool writing from the pool, a CLI on the
same home) — the transaction has rolled back and the call runs again on a worker thread with the
normal busy timeout. The loop therefore never sleeps in SQLite's busy handler; a call that finds
the lock taken costs one failed attempt more than before. WAL readers do not wait for writers, so
reads almost never fall back.

What this needs of a call: that it be one or more whole transactions with no effect outside the
database before a statement can fail (so that running it again is the same as running it once),
and that it not block on anything but SQLite. Network I/O (trace exporters) stays on a thread.

PostgreSQL, in-memory SQLite and anything else go to a worker thread (``asyncio.to_thread``): their
round trips are waits the loop must not make.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool

from agent.persistence.approvals import ApprovalStore
from agent.persistence.keys import KeyStore
from agent.persistence.threads import ThreadStore
from agent.persistence.traces import TraceStore
from tools.db import is_busy, make_engine, make_session_factory

S = TypeVar("S")
R = TypeVar("R")
log = logging.getLogger("tiller.persistence")


def inline_sessions(engine: Engine) -> sessionmaker[Session] | None:
    """Sessions for the event loop's own use on ``engine``'s SQLite file (one connection per
    thread, no busy wait); ``None`` when the database is not a SQLite file."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or "memory" in str(url.query):
        return None
    twin = make_engine(url.render_as_string(hide_password=False), busy_timeout_s=0.0, poolclass=SingletonThreadPool)
    return make_session_factory(twin)


class InPlace(Generic[S]):
    """A store (or a bundle of stores) used from async code: :meth:`run` calls it in place on a
    SQLite file, or on a worker thread (see the module)."""

    def __init__(self, make: Callable[[sessionmaker[Session]], S], sessions: sessionmaker[Session]) -> None:
        """``make(sessions)`` builds the store; it is built twice on a SQLite file (the pool's,
        for threads and sync callers, and the loop's)."""
        self.pooled: S = make(sessions)
        self._loop_sessions = inline_sessions(sessions.kw["bind"])
        self._inline: S | None = make(self._loop_sessions) if self._loop_sessions is not None else None
        self.fallbacks = 0
        """How many in-place calls found the database busy and ran on a thread instead."""

    @property
    def in_place(self) -> bool:
        """Whether calls run on the loop (a SQLite file)."""
        return self._inline is not None

    async def run(self, call: Callable[[S], R]) -> R:
        """``call(store)``: in place when it can, else (or when SQLite is busy) on a worker thread."""
        if self._inline is not None:
            try:
                return call(self._inline)
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                self.fallbacks += 1
                log.debug("database busy for an in-place store call; running it on a thread")
        return await asyncio.to_thread(call, self.pooled)

    def close(self) -> None:
        """Close the loop's connections (the pooled store's engine belongs to its owner)."""
        if self._loop_sessions is not None:
            self._loop_sessions.kw["bind"].dispose()


@dataclass(frozen=True)
class RuntimeStores:
    """The runtime's own stores over one set of sessions (a bundle for :class:`InPlace`)."""

    threads: ThreadStore
    approvals: ApprovalStore
    traces: TraceStore
    keys: KeyStore
    """The service's API keys (every request authenticates)."""
    sessions: sessionmaker[Session]
    """The sessions they run on, for a short read of the tools' own tables (the ledger's)."""

    @classmethod
    def over(cls, sessions: sessionmaker[Session], *, approval_ttl_s: int) -> RuntimeStores:
        """The stores on ``sessions``."""
        approvals = ApprovalStore(sessions, ttl_s=approval_ttl_s)
        return cls(ThreadStore(sessions), approvals, TraceStore(sessions), KeyStore(sessions), sessions)
