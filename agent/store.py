"""The runtime's own tables: threads, approvals and the append-only approval audit log.

They live in the same database as the business data, so consuming an approval commits in the
same transaction as the effect it authorises.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, Connection, Engine, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tools.db import UTCDateTime


class StoreBase(DeclarativeBase):
    """Declarative base of the runtime's tables."""


class ThreadRow(StoreBase):
    """A conversation: whose it is, and whether a process is running it right now."""

    __tablename__ = "threads"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(32), default="idle")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(160), nullable=True)  # "host:pid"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApprovalRow(StoreBase):
    """One request for a reviewer's decision on one tool call with exact arguments."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "thread_id", "tool_call_id", name="uq_approval_call"),
        Index("ix_approvals_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(128), index=True)
    tool_call_id: Mapped[str] = mapped_column(String(128))
    tool: Mapped[str] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(16))
    args_json: Mapped[str] = mapped_column(Text)
    args_hash: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    excerpt: Mapped[str] = mapped_column(Text, default="")
    # pending → approved | rejected | expired; approved → executed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    edited_args_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Hash of the arguments that may run: the edited ones if edited, else the requested ones.
    approved_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApprovalEventRow(StoreBase):
    """Append-only, hash-chained audit of every request, decision, expiry and execution.

    Rows are written only by ``agent.audit.append`` and never updated or deleted by the
    application (on PostgreSQL a trigger refuses it). Each tenant's rows form one chain:
    ``seq`` counts 1, 2, 3…, ``prev_hash`` is the ``entry_hash`` of the entry before, and
    ``entry_hash`` covers this entry's fields and ``prev_hash`` (see ``agent.audit``).
    """

    __tablename__ = "approval_events"
    # Two appends linking to the same predecessor would fork the chain: refused by the database.
    __table_args__ = (UniqueConstraint("tenant_id", "seq", name="uq_approval_events_chain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(String(40), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    seq: Mapped[int] = mapped_column(Integer)
    # requested: the requested args; approved/edited: the args that may run; executed: the args run
    args_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


# On PostgreSQL the table refuses UPDATE, DELETE and TRUNCATE, so a bug or a stray script cannot
# rewrite history; its owner can still drop the trigger, which is what the hash chain detects.
# (Alembic revision 0002 creates the same trigger on databases that are migrated.)
_REFUSE_CHANGE = DDL(
    "CREATE OR REPLACE FUNCTION approval_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'approval_events is append-only: rows cannot be updated or deleted'; END $$"
)
_APPEND_ONLY_ROWS = DDL(
    "CREATE TRIGGER approval_events_append_only BEFORE UPDATE OR DELETE ON approval_events "
    "FOR EACH ROW EXECUTE FUNCTION approval_events_refuse_change()"
)
_APPEND_ONLY_TRUNCATE = DDL(
    "CREATE TRIGGER approval_events_no_truncate BEFORE TRUNCATE ON approval_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION approval_events_refuse_change()"
)
for _ddl in (_REFUSE_CHANGE, _APPEND_ONLY_ROWS, _APPEND_ONLY_TRUNCATE):
    event.listen(ApprovalEventRow.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
event.listen(
    ApprovalEventRow.__table__,
    "after_drop",
    DDL("DROP FUNCTION IF EXISTS approval_events_refuse_change()").execute_if(dialect="postgresql"),
)


def _register_all_tables() -> None:
    """Tables declared elsewhere on ``StoreBase`` join its metadata when their module loads."""
    import agent.service.store
    import agent.tracing.store
    import agent.workflows.store  # noqa: F401


def create_store_schema(engine: Engine | Connection) -> None:
    _register_all_tables()
    StoreBase.metadata.create_all(engine)


def drop_store_schema(engine: Engine) -> None:
    _register_all_tables()
    StoreBase.metadata.drop_all(engine)
