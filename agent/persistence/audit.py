"""The approval audit log as a hash chain: append an entry, verify the chain.

Every request, decision, expiry and execution of an approval is one row of ``approval_events``
(``agent.persistence.tables.ApprovalEventRow``). Rows are only ever appended, never updated or deleted.

**One chain per tenant.** Entry *n* of a tenant stores ``seq = n``, the ``entry_hash`` of entry
*n-1* as ``prev_hash`` (``GENESIS`` for the first), and its own ``entry_hash``: SHA-256 over a
canonical JSON of (seq, prev_hash, approval id, tenant, event, actor, time, args hash, details).
Changing any field, deleting or reordering entries therefore breaks the chain at that point.
Per-tenant chains rather than one global chain because:

- a tenant's log is verified, and its head exported, from that tenant's rows alone — reads stay
  within a tenant like everything else in the runtime;
- appends of different tenants never wait for each other (each chain has its own lock);
- removing a departed tenant's rows (deliberately, by an operator) leaves the others verifiable.

The price: deleting a tenant's *whole* chain, or the newest entries of a chain, leaves nothing
behind that the chain itself can show. Exported heads cover that: ``verify(expect_head=…)``
checks that a head recorded earlier is still in the log.

**Serialised appends.** Two transactions must not both link to the same predecessor. On
PostgreSQL ``append`` takes a transaction-level advisory lock per tenant before reading the
head; on SQLite it makes sure the transaction holds the database's write lock (``BEGIN
IMMEDIATE`` if nothing has been written yet), so the head it reads is the latest. A unique
constraint on (tenant, seq) refuses a fork should either ever fail.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import DatabaseUnavailable
from agent.persistence.database import open_database, redacted_url
from agent.persistence.tables import ApprovalEventRow

GENESIS = "0" * 64
FORMAT_VERSION = 1
BreakKind = Literal["modified", "deleted", "reordered", "unlinked"]


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r} in the audit log: use an aware UTC datetime")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    prev_hash: str,
    approval_id: str,
    tenant_id: str,
    event: str,
    actor: str,
    at: datetime,
    args_hash: str,
    details_json: str,
) -> str:
    """The hash of one entry (format version 1; changing it breaks every existing chain)."""
    body = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "prev_hash": prev_hash,
        "approval_id": approval_id,
        "tenant_id": tenant_id,
        "event": event,
        "actor": actor,
        "at": _iso(at),
        "args_hash": args_hash,
        "details": details_json,  # the stored text itself: any byte changed shows
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_of_row(row: ApprovalEventRow) -> str:
    """What ``entry_hash`` of this row must be, recomputed from its fields."""
    return entry_hash(
        seq=row.seq,
        prev_hash=row.prev_hash,
        approval_id=row.approval_id,
        tenant_id=row.tenant_id,
        event=row.event,
        actor=row.actor,
        at=row.at,
        args_hash=row.args_hash,
        details_json=row.details_json,
    )


def _chain_lock_key(tenant_id: str) -> int:
    """A signed 64-bit advisory-lock key per tenant chain (a collision only serialises more)."""
    return int.from_bytes(hashlib.sha256(f"tiller.audit:{tenant_id}".encode()).digest()[:8], "big", signed=True)


def _lock_chain(session: Session, tenant_id: str) -> None:
    """Hold the lock that serialises appends to this tenant's chain until the transaction ends."""
    session.flush()  # pending writes first: on SQLite they open the write transaction
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _chain_lock_key(tenant_id)})
    elif (
        conn.dialect.name == "sqlite" and not cast(sqlite3.Connection, conn.connection.driver_connection).in_transaction
    ):
        # The sqlite3 driver opens a transaction only at the first write, so reads before it see
        # whatever was committed then. Take the write lock now: the head read below is the
        # latest and stays so until commit.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def append(
    session: Session,
    *,
    tenant_id: str,
    approval_id: str,
    event: str,
    actor: str,
    args_hash: str,
    details: dict[str, Any],
    at: datetime | None = None,
) -> ApprovalEventRow:
    """Append one entry to the tenant's chain, inside the caller's transaction."""
    _lock_chain(session, tenant_id)
    head = session.execute(
        select(ApprovalEventRow.seq, ApprovalEventRow.entry_hash)
        .where(ApprovalEventRow.tenant_id == tenant_id)
        .order_by(ApprovalEventRow.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (head.seq + 1, head.entry_hash) if head else (1, GENESIS)
    fields: dict[str, Any] = {
        "seq": seq,
        "prev_hash": prev_hash,
        "approval_id": approval_id,
        "tenant_id": tenant_id,
        "event": event,
        "actor": actor,
        "at": at or datetime.now(UTC),
        "args_hash": args_hash,
        "details_json": json.dumps(details, sort_keys=True, default=str),
    }
    row = ApprovalEventRow(**fields, entry_hash=entry_hash(**fields))
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ChainBreak:
    """The first entry of a chain that does not verify, and why."""

    entry_id: int
    tenant_id: str
    seq: int
    kind: BreakKind
    detail: str

    def __str__(self) -> str:
        return f"entry {self.entry_id} (tenant {self.tenant_id}, #{self.seq}) {self.kind}: {self.detail}"


@dataclass(frozen=True)
class ChainHead:
    """The newest verified entry of one tenant's chain (export it to detect a rewrite later)."""

    tenant_id: str
    entries: int
    seq: int
    entry_hash: str


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: entries read, each intact chain's head, the breaks."""

    entries: int
    heads: tuple[ChainHead, ...]
    breaks: tuple[ChainBreak, ...]
    missing_head: str | None = None  # an ``expect_head`` not found in the verified entries

    @property
    def ok(self) -> bool:
        """Whether every chain is intact and the expected head was found."""
        return not self.breaks and self.missing_head is None


class _ChainWalk:
    """Follows one tenant's entries in the order they were stored (by id)."""

    def __init__(self, session: Session, tenant_id: str, expect_head: str | None) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.expect_head = expect_head
        self.entries = 0
        self.seq = 0
        self.head = GENESIS
        self.head_id: int | None = None
        self.found_expected_head = False
        self.broken: ChainBreak | None = None

    def step(self, row: ApprovalEventRow) -> None:
        self.entries += 1
        if self.broken is not None:
            return
        problem = self._check(row)
        if problem is not None:
            kind, detail = problem
            self.broken = ChainBreak(row.id, self.tenant_id, row.seq, kind, detail)
            return
        self.seq, self.head, self.head_id = row.seq, row.entry_hash, row.id
        self.found_expected_head = self.found_expected_head or row.entry_hash == self.expect_head

    def _check(self, row: ApprovalEventRow) -> tuple[BreakKind, str] | None:
        if hash_of_row(row) != row.entry_hash:
            return "modified", "its fields no longer match its hash (changed after it was written)"
        expected = self.seq + 1
        if row.seq < expected:
            return "reordered", f"#{row.seq} is stored after #{self.seq}"
        if row.seq > expected:
            later = self._stored_later(expected)
            if later is not None:
                return "reordered", f"#{expected} is stored after it (entry {later})"
            missing = f"#{expected}" if row.seq == expected + 1 else f"#{expected}..#{row.seq - 1}"
            return "deleted", f"the entries before it ({missing}) are missing"
        if row.prev_hash != self.head:
            before = f"entry {self.head_id}" if self.head_id is not None else "the start of the chain"
            return "unlinked", f"it does not link to {before}: one of them was rewritten with a recomputed hash"
        return None

    def _stored_later(self, seq: int) -> int | None:
        return self.session.scalar(
            select(ApprovalEventRow.id).where(ApprovalEventRow.tenant_id == self.tenant_id, ApprovalEventRow.seq == seq)
        )

    def head_of_chain(self) -> ChainHead:
        return ChainHead(self.tenant_id, self.entries, self.seq, self.head)


def verify(
    sessions: sessionmaker[Session], tenant: str | None = None, *, expect_head: str | None = None
) -> VerifyReport:
    """Check every chain (or one tenant's): each entry's hash, sequence and link to the one before.

    ``expect_head`` is an ``entry_hash`` exported earlier: it must still be in an intact chain,
    which proves nothing up to it was rewritten, nor deleted after it was exported.
    """
    query = select(ApprovalEventRow).order_by(ApprovalEventRow.tenant_id, ApprovalEventRow.id)
    if tenant is not None:
        query = query.where(ApprovalEventRow.tenant_id == tenant)
    walks: dict[str, _ChainWalk] = {}
    entries = 0
    with sessions() as session, sessions() as lookups:
        for row in session.scalars(query.execution_options(yield_per=500)):
            entries += 1
            walk = walks.get(row.tenant_id)
            if walk is None:
                walk = walks[row.tenant_id] = _ChainWalk(lookups, row.tenant_id, expect_head)
            walk.step(row)
    breaks = tuple(w.broken for w in walks.values() if w.broken is not None)
    heads = tuple(w.head_of_chain() for w in walks.values() if w.broken is None)
    found = expect_head is None or any(w.found_expected_head for w in walks.values())
    return VerifyReport(entries, heads, breaks, None if found else expect_head)


def recent(
    sessions: sessionmaker[Session],
    *,
    tenant: str | None = None,
    approval_id: str | None = None,
    limit: int = 50,
) -> list[ApprovalEventRow]:
    """The newest entries, newest first, optionally of one tenant or one approval."""
    query = select(ApprovalEventRow).order_by(ApprovalEventRow.id.desc()).limit(limit)
    if tenant is not None:
        query = query.where(ApprovalEventRow.tenant_id == tenant)
    if approval_id is not None:
        query = query.where(ApprovalEventRow.approval_id == approval_id)
    with sessions() as session:
        return list(session.scalars(query))


@contextmanager
def reading(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on just the database at ``db_url`` (no model, no index) for reading the log; a
    missing database, or one from before the chain columns, says what to do."""
    if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).exists():
        raise DatabaseUnavailable(f"no Tiller database at {db_url.removeprefix('sqlite:///')}")
    engine, sessions = open_database(db_url)
    try:
        yield sessions
    except DBAPIError as exc:  # e.g. a database from before the chain columns: not upgraded yet
        raise DatabaseUnavailable(
            f"cannot read the audit log in {redacted_url(db_url)}: {exc.orig}. "
            "Run `tiller db upgrade` if the database was created by an older Tiller."
        ) from None
    finally:
        engine.dispose()
