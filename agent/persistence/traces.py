"""Trace tables and their store: one row per run segment (an ask or a resume), spans under it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import TillerError
from agent.persistence.tables import TraceRunRow, TraceSpanRow, table_of
from tools.db import transaction, utcnow

EVAL_LABEL = "eval_run"
"""The label of a trace copied from an eval trial (``evals/traces.py``): kept, shown, but not
operational — costs, drift and budgets leave it out."""


class TraceNotFound(TillerError):
    """No such trace in this tenant."""


class Span(BaseModel):
    """One span of a trace: its kind, name, timing from the run's start, and attributes."""

    kind: str
    name: str
    start_ms: float
    duration_ms: float = 0.0
    attributes: dict[str, Any] = Field(default_factory=dict)


class TraceView(BaseModel):
    """A stored run with its spans in order."""

    id: str
    tenant_id: str
    thread_id: str
    user_id: str
    kind: str
    status: str
    stop_reason: str | None = None
    error_kind: str | None = None
    model: str = ""
    started_at: datetime
    duration_ms: float
    steps: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    labels: dict[str, str] = Field(default_factory=dict)
    spans: list[Span] = Field(default_factory=list)


def _view(row: TraceRunRow, spans: list[TraceSpanRow] | None = None) -> TraceView:
    fields = {c: getattr(row, c) for c in TraceView.model_fields if c not in ("labels", "spans")}
    return TraceView(
        **fields,
        labels=json.loads(row.labels_json),
        spans=[
            Span(
                kind=s.kind,
                name=s.name,
                start_ms=s.start_ms,
                duration_ms=s.duration_ms,
                attributes=json.loads(s.attributes_json),
            )
            for s in spans or []
        ],
    )


_INSERT_RUN = insert(table_of(TraceRunRow))
_INSERT_SPANS = insert(table_of(TraceSpanRow))
"""Built once, as the lease's statements (``threads``): every run stores its trace."""


class TraceStore:
    """The stored traces of runs, one row per run and one per span."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def save(self, trace: TraceView) -> None:
        """Store one trace in a transaction of its own."""
        with transaction(self._sessions) as session:
            self.add(session, trace)

    @staticmethod
    def add(session: Session | Connection, trace: TraceView) -> None:
        """Insert ``trace`` in ``session``'s transaction (the runtime's lease release passes its connection)."""
        # Core inserts on the tables: the ORM's per-row unit of work cost ~8 ms for a 20-step run,
        # and even its bulk path ~0.5 ms a run.
        labels = json.dumps(trace.labels, sort_keys=True)
        run = trace.model_dump(exclude={"labels", "spans"}) | {"labels_json": labels}
        spans = [
            {
                "run_id": trace.id,
                "seq": seq,
                "kind": span.kind,
                "name": span.name,
                "start_ms": span.start_ms,
                "duration_ms": span.duration_ms,
                "attributes_json": json.dumps(span.attributes, default=str),
            }
            for seq, span in enumerate(trace.spans)
        ]
        session.execute(_INSERT_RUN, [run])
        if spans:
            session.execute(_INSERT_SPANS, spans)

    def get(self, tenant_id: str, run_id: str) -> TraceView:
        """One trace with its spans, or ``TraceNotFound``."""
        with self._sessions() as session:
            row = session.get(TraceRunRow, run_id)
            if row is None or row.tenant_id != tenant_id:
                raise TraceNotFound(f"no trace {run_id} in tenant {tenant_id}; see `tiller traces list`")
            spans = session.scalars(
                select(TraceSpanRow).where(TraceSpanRow.run_id == run_id).order_by(TraceSpanRow.seq)
            ).all()
            return _view(row, list(spans))

    def list(self, tenant_id: str, *, thread_id: str | None = None, limit: int = 20) -> list[TraceView]:
        """The tenant's most recent traces (of one thread, if given), without their spans."""
        query = select(TraceRunRow).where(TraceRunRow.tenant_id == tenant_id)
        if thread_id:
            query = query.where(TraceRunRow.thread_id == thread_id)
        with self._sessions() as session:
            rows = session.scalars(query.order_by(TraceRunRow.started_at.desc()).limit(limit)).all()
            return [_view(r) for r in rows]

    def spent_today(self, tenant_id: str) -> float:
        """Model cost of the tenant's runs since 00:00 UTC."""
        midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        with self._sessions() as session:
            total = session.scalar(
                select(func.coalesce(func.sum(TraceRunRow.cost_usd), 0.0)).where(
                    TraceRunRow.tenant_id == tenant_id,
                    TraceRunRow.started_at >= midnight,
                    ~TraceRunRow.labels_json.contains(f'"{EVAL_LABEL}":', autoescape=True),  # not operational
                )
            )
        return float(total or 0.0)

    def prune(self, older_than: timedelta, now: datetime) -> int:
        """Delete traces that started before ``now - older_than``; returns how many runs went."""
        cutoff = now - older_than
        with transaction(self._sessions) as session:
            ids = session.scalars(select(TraceRunRow.id).where(TraceRunRow.started_at < cutoff)).all()
            if ids:
                session.execute(delete(TraceSpanRow).where(TraceSpanRow.run_id.in_(ids)))
                session.execute(delete(TraceRunRow).where(TraceRunRow.id.in_(ids)))
            return len(ids)


def runs_between(
    sessions: sessionmaker[Session],
    start: datetime,
    end: datetime | None = None,
    tenant_id: str | None = None,
    *,
    with_evals: bool = False,
) -> list[TraceRunRow]:
    """Stored runs that started in ``[start, end)`` (``end`` None: until now), of one tenant or
    all; eval trials' copies only ``with_evals``."""
    query = select(TraceRunRow).where(TraceRunRow.started_at >= start)
    if not with_evals:  # labels are stored as sorted JSON: {"eval_run": "...", ...}
        query = query.where(~TraceRunRow.labels_json.contains(f'"{EVAL_LABEL}":', autoescape=True))
    if end is not None:
        query = query.where(TraceRunRow.started_at < end)
    if tenant_id:
        query = query.where(TraceRunRow.tenant_id == tenant_id)
    with sessions() as session:
        return list(session.scalars(query).all())


def spans_of(sessions: sessionmaker[Session], run_ids: list[str], kind: str | None = None) -> list[TraceSpanRow]:
    """The spans of the runs ``run_ids`` (of one ``kind`` when given)."""
    if not run_ids:
        return []
    query = select(TraceSpanRow).where(TraceSpanRow.run_id.in_(run_ids))
    if kind is not None:
        query = query.where(TraceSpanRow.kind == kind)
    with sessions() as session:
        return list(session.scalars(query).all())
