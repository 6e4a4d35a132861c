"""The runtime's own tables: threads, approvals and the append-only approval audit log.

They live in the same database as the business data, so consuming an approval commits in the
same transaction as the effect it authorises.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, Index, Integer, String, Text, UniqueConstraint
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
    """Append-only audit of every request, decision, expiry and execution."""

    __tablename__ = "approval_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(String(40), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    details_json: Mapped[str] = mapped_column(Text, default="{}")


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
