"""Thread rows: which tenant and user own a conversation, and a lease so that only one process
runs a thread at a time (a chat, a resume after approval, a service worker)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import ThreadBusy, ThreadNotFound
from agent.persistence.names import normalize_name
from agent.persistence.tables import ThreadRow
from tools.db import transaction, utcnow

log = logging.getLogger("tiller.persistence")

LEASE_S = 300.0
"""How long a run holds its thread before another process may take it over."""


class ThreadStore:
    """Conversation threads: who owns each, its status, and the lease of the process running it."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def open(
        self, thread_id: str, *, tenant_id: str, user_id: str, title: str = "", subject: str | None = None
    ) -> ThreadRow:
        """Create the thread, or return it if it exists in this tenant (and for this subject)."""
        with transaction(self._sessions) as session:
            return _get_or_add(session, thread_id, tenant_id, user_id, title, subject)[0]

    def get(self, tenant_id: str, thread_id: str) -> ThreadRow:
        """The tenant's thread, or ``ThreadNotFound`` (another tenant's threads look the same)."""
        with self._sessions() as session:
            row = session.get(ThreadRow, thread_id)
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
        with transaction(self._sessions) as session:
            row, created = _get_or_add(session, thread_id, tenant_id, user_id, title, subject)
            if created:
                row.status, row.lease_until, row.lease_owner, row.updated_at = _leased(row.created_at, lease_s)
            else:
                self._claim_row(session, row, lease_s)
            if role is not None and row.role != role:
                row.role = role
            return row, created

    def claim(self, thread_id: str, lease_s: float = LEASE_S) -> None:
        """Take the thread's lease or raise ``ThreadBusy``.

        A lease can be taken over when it expired, or when its owner was a process on this host
        that no longer exists (a crashed CLI) — so a crash never locks a thread for long.
        """
        with transaction(self._sessions) as session:
            row = session.get(ThreadRow, thread_id)
            if row is None:
                raise ThreadNotFound(f"no thread {thread_id}")
            self._claim_row(session, row, lease_s)

    def _claim_row(self, session: Session, row: ThreadRow, lease_s: float) -> None:
        now = utcnow()
        status, until, owner, updated = _leased(now, lease_s)
        free = or_(ThreadRow.status != "running", ThreadRow.lease_until.is_(None), ThreadRow.lease_until < now)
        condition = free if not _owner_is_dead(row.lease_owner) else ThreadRow.lease_owner == row.lease_owner
        done = cast(
            "CursorResult[Any]",
            session.execute(
                update(ThreadRow)
                .where(ThreadRow.id == row.id, condition)
                .values(status=status, lease_until=until, lease_owner=owner, updated_at=updated)
                .execution_options(synchronize_session=False)
            ),
        )
        if done.rowcount != 1:
            session.refresh(row)  # the winner may have changed it since our read
            until_text = f" (lease until {row.lease_until:%H:%M:%S} UTC)" if row.lease_until else ""
            raise ThreadBusy(f"thread {row.id} is being run by {row.lease_owner}{until_text}; wait for it to finish")

    def release(self, thread_id: str, status: str, *, also: Callable[[Session], None] | None = None) -> bool:
        """End the lease, leaving the thread in ``status``; ``also(session)`` writes more in the
        same transaction (the run's trace). When the database refuses what ``also`` wrote, the
        lease is released alone (logged) and False is returned: a trace never fails its run."""
        if also is not None:
            try:
                with transaction(self._sessions) as session:
                    also(session)
                    self._release(session, thread_id, status)
                return True
            except SQLAlchemyError:
                log.exception("could not store trace with the release of thread %s; releasing it alone", thread_id)
        with transaction(self._sessions) as session:
            self._release(session, thread_id, status)
        return also is None

    @staticmethod
    def _release(session: Session, thread_id: str, status: str) -> None:
        session.execute(
            update(ThreadRow)
            .where(ThreadRow.id == thread_id)
            .values(status=status, lease_until=None, lease_owner=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _get_or_add(
    session: Session, thread_id: str, tenant_id: str, user_id: str, title: str, subject: str | None = None
) -> tuple[ThreadRow, bool]:
    """The thread in this tenant, or a new idle one added to ``session``; and whether it is new.
    A thread bound to one subject does not exist for a caller bound to another."""
    row = session.get(ThreadRow, thread_id)
    if row is not None:
        if row.tenant_id != tenant_id or (subject is not None and row.subject != subject):
            raise ThreadNotFound(f"no thread {thread_id} in tenant {tenant_id}")
        return row, False
    now = utcnow()
    row = ThreadRow(
        id=thread_id,
        tenant_id=tenant_id,
        user_id=normalize_name(user_id),
        subject=subject,
        title=title[:200],
        status="idle",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row, True


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
