"""Thread rows: which tenant and user own a conversation, and a lease so that only one process
runs a thread at a time (a chat, a resume after approval, a service worker)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.approvals import utcnow
from agent.errors import ThreadBusy, ThreadNotFound
from agent.store import ThreadRow
from tools.db import transaction


class ThreadStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def open(self, thread_id: str, *, tenant_id: str, user_id: str, title: str = "") -> ThreadRow:
        """Create the thread, or return it if it exists in this tenant."""
        with transaction(self._sessions) as session:
            row = session.get(ThreadRow, thread_id)
            if row is None:
                now = utcnow()
                row = ThreadRow(
                    id=thread_id,
                    tenant_id=tenant_id,
                    user_id=user_id,
                    title=title[:200],
                    status="idle",
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
            elif row.tenant_id != tenant_id:
                raise ThreadNotFound(f"no thread {thread_id} in tenant {tenant_id}")
            return row

    def get(self, tenant_id: str, thread_id: str) -> ThreadRow:
        with self._sessions() as session:
            row = session.get(ThreadRow, thread_id)
            if row is None or row.tenant_id != tenant_id:
                raise ThreadNotFound(f"no thread {thread_id} in tenant {tenant_id}; see `tiller threads`")
            return row

    def list(self, tenant_id: str, limit: int = 20) -> list[ThreadRow]:
        with self._sessions() as session:
            query = (
                select(ThreadRow)
                .where(ThreadRow.tenant_id == tenant_id)
                .order_by(ThreadRow.updated_at.desc())
                .limit(limit)
            )
            return list(session.scalars(query).all())

    def claim(self, thread_id: str, lease_s: float = 300.0) -> None:
        """Take the thread's lease or raise ``ThreadBusy``.

        A lease can be taken over when it expired, or when its owner was a process on this host
        that no longer exists (a crashed CLI) — so a crash never locks a thread for long.
        """
        now = utcnow()
        values = {
            "status": "running",
            "lease_until": now + timedelta(seconds=lease_s),
            "lease_owner": _me(),
            "updated_at": now,
        }
        free = or_(ThreadRow.status != "running", ThreadRow.lease_until.is_(None), ThreadRow.lease_until < now)
        with transaction(self._sessions) as session:
            row = session.get(ThreadRow, thread_id)
            if row is None:
                raise ThreadNotFound(f"no thread {thread_id}")
            condition = free if not _owner_is_dead(row.lease_owner) else ThreadRow.lease_owner == row.lease_owner
            done = session.execute(
                update(ThreadRow)
                .where(ThreadRow.id == thread_id, condition)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                session.refresh(row)  # the winner may have changed it since our read
                until = f" (lease until {row.lease_until:%H:%M:%S} UTC)" if row.lease_until else ""
                raise ThreadBusy(f"thread {thread_id} is being run by {row.lease_owner}{until}; wait for it to finish")

    def release(self, thread_id: str, status: str) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(ThreadRow)
                .where(ThreadRow.id == thread_id)
                .values(status=status, lease_until=None, lease_owner=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )


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
