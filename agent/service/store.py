"""The service's tables: API keys, feedback on runs, and the service's own generated secrets.

They are declared on the runtime's ``StoreBase`` so that opening the runtime (which calls
``create_store_schema``) creates them once this module has been imported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agent.store import StoreBase
from tools.db import UTCDateTime


class ApiKeyRow(StoreBase):
    """An API key: who it acts as. Only a hash of its secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # public, part of the key
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | reviewer | admin
    name: Mapped[str] = mapped_column(String(128))  # the acting user (requester / decider)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: service default
    max_concurrent_runs: Mapped[int | None] = mapped_column(Integer, nullable=True)


class FeedbackRow(StoreBase):
    """A person's verdict on one run (a run segment, whose trace has the same id)."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_tenant_thread", "tenant_id", "thread_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[str] = mapped_column(String(40))
    rating: Mapped[str] = mapped_column(String(8))  # up | down
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ServiceSecretRow(StoreBase):
    """Secrets the service generates once and every process on the database shares."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
