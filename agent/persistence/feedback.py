"""Feedback on runs: a thumbs up or down and a comment on one run of a thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.persistence.tables import FeedbackRow
from tools.db import transaction, utcnow


@dataclass(frozen=True)
class Feedback:
    """A rating of one run, as stored."""

    id: int
    thread_id: str
    run_id: str
    rating: str
    comment: str
    user: str
    created_at: datetime


def _view(row: FeedbackRow) -> Feedback:
    return Feedback(row.id, row.thread_id, row.run_id, row.rating, row.comment, row.user_id, row.created_at)


class FeedbackStore:
    """Feedback on runs: thumbs up or down with a comment, per thread."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, *, tenant: str, thread_id: str, run_id: str, rating: str, comment: str, user: str) -> Feedback:
        """Store a rating of ``run_id``."""
        row = FeedbackRow(
            tenant_id=tenant,
            thread_id=thread_id,
            run_id=run_id,
            rating=rating,
            comment=comment,
            user_id=user,
            created_at=utcnow(),
        )
        with transaction(self._sessions) as session:
            session.add(row)
            session.flush()
            return _view(row)

    def list(self, tenant: str, thread_id: str) -> list[Feedback]:
        """The thread's feedback, oldest first."""
        query = (
            select(FeedbackRow)
            .where(FeedbackRow.tenant_id == tenant, FeedbackRow.thread_id == thread_id)
            .order_by(FeedbackRow.id)
        )
        with self._sessions() as session:
            return [_view(r) for r in session.scalars(query).all()]


def ratings_between(
    sessions: sessionmaker[Session], start: datetime, end: datetime, tenant_id: str | None = None
) -> list[str]:
    """The ratings (``up`` / ``down``) given in ``[start, end)``, of one tenant or all."""
    query = select(FeedbackRow.rating).where(FeedbackRow.created_at >= start, FeedbackRow.created_at < end)
    if tenant_id:
        query = query.where(FeedbackRow.tenant_id == tenant_id)
    with sessions() as session:
        return list(session.scalars(query).all())
