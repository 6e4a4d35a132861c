"""Every table the runtime owns: threads, approvals and their append-only audit log, traces,
workflow runs started through the API, and the service's keys, feedback and secrets.

They live in the same database as the business data, so consuming an approval commits in the
same transaction as the effect it authorises. The queries over them are in the sibling modules
(``threads``, ``approvals``, ``audit``, ``traces``, ``workflows``).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    DDL,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    event,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import Select

from tools.db import UTCDateTime


class StoreBase(DeclarativeBase):
    """Declarative base of the runtime's tables."""


Row = TypeVar("Row", bound=StoreBase)


def table_of(model: type[StoreBase]) -> Table:
    """A row class's table (a declarative class's table is a Table; the stubs say FromClause)."""
    return cast(Table, model.__table__)


def read_detached(conn: Connection, model: type[Row], key: str) -> Row | None:
    """The row of ``model`` whose ``id`` is ``key`` as a detached object, read with one Core
    statement: no ORM session, identity map or unit of work — what reads on every run and every
    request cost ~0.1 ms more through ``Session.get`` (docs/BENCHMARKS.md §9, stop 25)."""
    found = conn.execute(by_id(table_of(model)), {"key": key}).mappings().first()
    return model(**found) if found is not None else None


@functools.cache
def by_id(table: Table) -> Select[Any]:
    """``SELECT * FROM table WHERE id = :key``, built once per table. A statement built anew on
    every call (``select(...).where(...)``) costs more than the read it makes: its construction
    and its cache key, ~40 µs of a ~75 µs read on SQLite (docs/BENCHMARKS.md §9, stop 26)."""
    return select(table).where(table.c.id == bindparam("key"))


class ThreadRow(StoreBase):
    """A conversation: whose it is, and whether a process is running it right now."""

    __tablename__ = "threads"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the requester's, used on resume
    # The principal inside the tenant the thread acts for (e.g. a customer id); None: tenant-wide.
    subject: Mapped[str | None] = mapped_column(String(128), nullable=True)
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
    # pending → approved | rejected | expired; approved → executed | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    edited_args_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Hash of the arguments that may run: the edited ones if edited, else the requested ones.
    approved_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # What the agent may tell the customer about the decision (``reason`` is the internal note).
    customer_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Why an approved call failed when it ran (the tool's refusal), for status ``failed``.
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Where each argument came from and why the policy asked (tools.provenance), for the reviewer.
    provenance_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class ApprovalEventRow(StoreBase):
    """Append-only, hash-chained audit of every request, decision, expiry and execution.

    Rows are written only by ``agent.persistence.audit.append`` and never updated or deleted by the
    application (on PostgreSQL a trigger refuses it). Each tenant's rows form one chain:
    ``seq`` counts 1, 2, 3…, ``prev_hash`` is the ``entry_hash`` of the entry before, and
    ``entry_hash`` covers this entry's fields and ``prev_hash`` (see ``agent.persistence.audit``).
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


# -- traces (agent.persistence.traces) --


class TraceRunRow(StoreBase):
    """One run segment's trace: who, what, its outcome and totals (its spans in ``trace_spans``)."""

    __tablename__ = "trace_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    thread_id: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # ask | resume
    status: Mapped[str] = mapped_column(String(32))
    stop_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    tool_calls: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    labels_json: Mapped[str] = mapped_column(Text, default="{}")


class TraceSpanRow(StoreBase):
    """One span of a trace (a node, model call, tool call, guard verdict or approval event)."""

    __tablename__ = "trace_spans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("trace_runs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # node | model | tool | guard | approval
    name: Mapped[str] = mapped_column(String(64))
    start_ms: Mapped[float] = mapped_column(Float)  # from the start of the run
    duration_ms: Mapped[float] = mapped_column(Float)
    attributes_json: Mapped[str] = mapped_column(Text, default="{}")


# -- workflow runs started through the API (agent.persistence.workflows) --


class WorkflowRunRow(StoreBase):
    """One run of a workflow: its spec, who started it, its status."""

    __tablename__ = "workflow_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(128))
    spec_json: Mapped[str] = mapped_column(Text)
    concurrency: Mapped[int] = mapped_column(Integer)
    executor: Mapped[str] = mapped_column(String(8), default="inline")  # inline (this process) | queue (workers)
    status: Mapped[str] = mapped_column(String(16))  # running | finished | interrupted | failed
    total: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkflowTaskRow(StoreBase):
    """One task of a workflow run: its prompt, thread, lease and outcome."""

    __tablename__ = "workflow_tasks"
    __table_args__ = (UniqueConstraint("run_id", "task_id", name="uq_workflow_task"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(40), index=True)
    position: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str] = mapped_column(Text)
    thread_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # queued | running | awaiting_approval | resumable | a run status | error
    status: Mapped[str] = mapped_column(String(24), default="queued", index=True)
    outcome_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Queue executor: which worker holds the task, until when (renewed while it runs), how often claimed.
    lease_owner: Mapped[str | None] = mapped_column(String(160), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


# -- the service: API keys, feedback, generated secrets --


class ApiKeyRow(StoreBase):
    """An API key: who it acts as. Only a hash of its secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # public, part of the key
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | reviewer | admin
    name: Mapped[str] = mapped_column(String(128))  # the acting user (requester / decider)
    # The principal inside the tenant the key acts for (e.g. a customer id); None: tenant-wide.
    subject: Mapped[str | None] = mapped_column(String(128), nullable=True)
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


def create_store_schema(engine: Engine | Connection) -> None:
    """Create the runtime's tables that do not exist yet."""
    StoreBase.metadata.create_all(engine)


def drop_store_schema(engine: Engine) -> None:
    """Drop every table of the runtime."""
    StoreBase.metadata.drop_all(engine)
