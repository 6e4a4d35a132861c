"""Thread rows: which tenant and user own a conversation, and a lease so that only one process
runs a thread at a time (a chat, a resume after approval, a service worker)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import ThreadBusy, ThreadNotFound
from agent.persistence.names import normalize_name
from agent.persistence.tables import ThreadRow, read_detached, table_of
from tools.db import is_busy, utcnow

log = logging.getLogger("tiller.persistence")

LEASE_S = 300.0
"""How long a run holds its thread before another process may take it over."""


class ThreadStore:
    """Conversation threads: who owns each, its status, and the lease of the process running it."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]

    def open(
        self, thread_id: str, *, tenant_id: str, user_id: str, title: str = "", subject: str | None = None
    ) -> ThreadRow:
        """Create the thread, or return it if it exists in this tenant (and for this subject)."""
        with self._engine.begin() as conn:
            return _get_or_add(conn, thread_id, tenant_id, user_id, title, subject)[0]

    def get(self, tenant_id: str, thread_id: str) -> ThreadRow:
        """The tenant's thread, or ``ThreadNotFound`` (another tenant's threads look the same)."""
        with self._engine.connect() as conn:
            row = _row(conn, thread_id)
        if row is None or row.tenant_id != tenant_id:
            raise ThreadNotFound(f"no thread {thread_id} in tenant {tenant_id}; see `tiller threads`")
        return row

    def list(self, tenant_id: str, limit: int = 20) -> list[ThreadRow]:
        """The tenant's most recently active threads."""
        with self._sessions() as session:
            query = (
                select(ThreadRow)
                .where(ThreadRow.tenant_id == tenant_id)
                .order_by(ThreadRow.updated_at.desc())
                .limit(limit)
            )
            return list(session.scalars(query).all())

    def open_and_claim(
        self,
        thread_id: str,
        *,
        tenant_id: str,
        user_id: str,
        title: str = "",
        role: str | None = None,
        lease_s: float = LEASE_S,
        subject: str | None = None,
    ) -> tuple[ThreadRow, bool]:
        """``open`` then ``claim`` in one transaction (a new thread is created already leased),
        recording the requester's ``role`` (resumes act with it); and whether the thread is new."""
        with self._engine.begin() as conn:
            row, created = _get_or_add(conn, thread_id, tenant_id, user_id, title, subject, role=role, lease_s=lease_s)
            return (row if created else _claim_row(conn, row, lease_s, role=role)), created

    def claim(self, thread_id: str, lease_s: float = LEASE_S) -> None:
        """Take the thread's lease or raise ``ThreadBusy``.

        A lease can be taken over when it expired, or when its owner was a process on this host
        that no longer exists (a crashed CLI) — so a crash never locks a thread for long.
        """
        with self._engine.begin() as conn:
            row = _row(conn, thread_id)
            if row is None:
                raise ThreadNotFound(f"no thread {thread_id}")
            _claim_row(conn, row, lease_s)

    def release(self, thread_id: str, status: str, *, also: Callable[[Connection], None] | None = None) -> bool:
        """End the lease, leaving the thread in ``status``; ``also(connection)`` writes more in the
        same transaction (the run's trace). When the database refuses what ``also`` wrote, the
        lease is released alone (logged) and False is returned: a trace never fails its run."""
        if also is not None:
            try:
                with self._engine.begin() as conn:
                    also(conn)
                    _release(conn, thread_id, status)
                return True
            except SQLAlchemyError as exc:
                if is_busy(exc):  # locked, not refused: nothing was written; the caller may run it again
                    raise
                log.exception("could not store trace with the release of thread %s; releasing it alone", thread_id)
        with self._engine.begin() as conn:
            _release(conn, thread_id, status)
        return also is None


# The lease's statements are SQLAlchemy Core on the table, not the ORM: a run opens and releases
# its thread once each, and the ORM's session, identity map and unit of work around one or two
# statements cost ~0.3 ms per transaction more (docs/BENCHMARKS.md §9, stop 25).
_THREADS = table_of(ThreadRow)


def _row(conn: Connection, thread_id: str) -> ThreadRow | None:
    """The thread's row as a (detached) ``ThreadRow``, or ``None``."""
    return read_detached(conn, ThreadRow, thread_id)


def _check_visible(row: ThreadRow, tenant_id: str, subject: str | None) -> None:
    """A thread bound to one subject does not exist for a caller bound to another (nor in another tenant)."""
    if row.tenant_id != tenant_id or (subject is not None and row.subject != subject):
        raise ThreadNotFound(f"no thread {row.id} in tenant {tenant_id}")


def _get_or_add(
    conn: Connection,
    thread_id: str,
    tenant_id: str,
    user_id: str,
    title: str,
    subject: str | None = None,
    *,
    role: str | None = None,
    lease_s: float | None = None,
) -> tuple[ThreadRow, bool]:
    """The thread in this tenant, or a new one (idle, or leased for ``lease_s``); and whether it is new."""
    row = _row(conn, thread_id)
    if row is not None:
        _check_visible(row, tenant_id, subject)
        return row, False
    return _add(conn, thread_id, tenant_id, user_id, title, subject, role=role, lease_s=lease_s), True


def _add(
    conn: Connection,
    thread_id: str,
    tenant_id: str,
    user_id: str,
    title: str,
    subject: str | None,
    *,
    role: str | None = None,
    lease_s: float | None = None,
) -> ThreadRow:
    """Insert a new thread: idle, or already leased to this process (``lease_s``)."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": thread_id,
        "tenant_id": tenant_id,
        "user_id": normalize_name(user_id),
        "role": role,
        "subject": subject,
        "title": title[:200],
        "status": "idle",
        "lease_until": None,
        "lease_owner": None,
        "created_at": now,
        "updated_at": now,
    }
    if lease_s is not None:
        values["status"], values["lease_until"], values["lease_owner"], values["updated_at"] = _leased(now, lease_s)
    conn.execute(insert(_THREADS), [values])
    return ThreadRow(**values)


def _claim_row(conn: Connection, row: ThreadRow, lease_s: float, *, role: str | None = None) -> ThreadRow:
    """Take ``row``'s lease (and record ``role``, when given) or raise ``ThreadBusy``; the row as it now is."""
    now = utcnow()
    status, until, owner, updated = _leased(now, lease_s)
    values: dict[str, Any] = {"status": status, "lease_until": until, "lease_owner": owner, "updated_at": updated}
    if role is not None:
        values["role"] = role
    if _owner_is_dead(row.lease_owner):
        done = conn.execute(_TAKE_OVER, {"b_id": row.id, "b_owner": row.lease_owner, **values})
    else:
        done = conn.execute(_CLAIM, {"b_id": row.id, "b_now": now, **values})
    if done.rowcount != 1:
        current = _row(conn, row.id) or row  # the winner may have changed it since our read
        until_text = f" (lease until {current.lease_until:%H:%M:%S} UTC)" if current.lease_until else ""
        raise ThreadBusy(f"thread {row.id} is being run by {current.lease_owner}{until_text}; wait for it to finish")
    for name, value in values.items():
        setattr(row, name, value)
    return row


def _release(conn: Connection, thread_id: str, status: str) -> None:
    conn.execute(_RELEASE, {"b_id": thread_id, "status": status, "updated_at": utcnow()})


# Built once: a statement built on every call costs as much as a short one takes to run
# (``tables.by_id``). The SET clause is the parameters' column keys (``status``, ``lease_until``…);
# the WHERE clause's parameters are named ``b_*`` so that they cannot be taken for columns.
_CLAIM = update(_THREADS).where(
    _THREADS.c.id == bindparam("b_id"),
    # free: not running, or its lease ran out
    or_(_THREADS.c.status != "running", _THREADS.c.lease_until.is_(None), _THREADS.c.lease_until < bindparam("b_now")),
)
_TAKE_OVER = update(_THREADS).where(  # its owner, a process of this host, no longer exists
    _THREADS.c.id == bindparam("b_id"), _THREADS.c.lease_owner == bindparam("b_owner")
)
_RELEASE = update(_THREADS).where(_THREADS.c.id == bindparam("b_id")).values(lease_until=None, lease_owner=None)


def _leased(now: datetime, lease_s: float) -> tuple[str, datetime, str, datetime]:
    """``(status, lease_until, lease_owner, updated_at)`` of a thread this process runs."""
    return "running", now + timedelta(seconds=lease_s), _me(), now


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str | None) -> bool:
    """True when the lease belongs to a process on this host that has exited."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
