"""Workflow runs started through the HTTP API, as rows: the run, and one row per task.

``RunRows`` holds one run's rows (what progress and results are read from); ``TaskLeases`` is
the queue that ``tiller worker`` processes claim tasks from. Both speak plain values — task ids,
statuses, JSON — and ``agent.workflows`` turns them into its typed tasks and outcomes.

A worker claims one task with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises
writers instead) and holds it under a lease it renews while the task runs. Every write of a
claimed task is conditional on the lease still being the worker's, so a worker that lost its
lease (paused too long) cannot overwrite the work of the one that took over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.persistence.tables import ApprovalRow, WorkflowRunRow, WorkflowTaskRow
from tools.db import transaction, utcnow

FINISHED = ("completed", "limit_reached", "blocked", "failed")
"""Task statuses that end a task (the run statuses a run can end in)."""
CLAIMABLE = ("queued", "resumable")


class RunRows:
    """One API workflow run's rows."""

    def __init__(self, sessions: sessionmaker[Session], run_id: str) -> None:
        self._sessions = sessions
        self.run_id = run_id

    @classmethod
    def create(
        cls,
        sessions: sessionmaker[Session],
        *,
        run_id: str,
        tenant: str,
        requested_by: str,
        name: str,
        spec: dict[str, Any],
        tasks: Sequence[tuple[str, str]],
        concurrency: int,
        executor: str = "inline",
    ) -> RunRows:
        """Store a new run: its spec (JSON-able) and its ``(task_id, prompt)`` pairs, in order."""
        now = utcnow()
        with transaction(sessions) as session:
            session.add(
                WorkflowRunRow(
                    id=run_id,
                    tenant_id=tenant,
                    name=name,
                    requested_by=requested_by,
                    spec_json=json.dumps(spec),
                    concurrency=concurrency,
                    executor=executor,
                    status="running",
                    total=len(tasks),
                    created_at=now,
                    updated_at=now,
                )
            )
            for n, (task_id, prompt) in enumerate(tasks):
                session.add(WorkflowTaskRow(run_id=run_id, position=n, task_id=task_id, prompt=prompt, updated_at=now))
        return cls(sessions, run_id)

    def finished(self) -> set[str]:
        """Ids of the run's tasks that are done."""
        query = select(WorkflowTaskRow.task_id).where(
            WorkflowTaskRow.run_id == self.run_id, WorkflowTaskRow.status.in_(FINISHED)
        )
        with self._sessions() as session:
            return set(session.scalars(query).all())

    def set_task(self, task_id: str, **values: Any) -> None:
        """Update one task's row (``status``, ``thread_id``, ``outcome_json``)."""
        with transaction(self._sessions) as session:
            session.execute(
                update(WorkflowTaskRow)
                .where(WorkflowTaskRow.run_id == self.run_id, WorkflowTaskRow.task_id == task_id)
                .values(**values, updated_at=utcnow())
            )
            session.execute(update(WorkflowRunRow).where(WorkflowRunRow.id == self.run_id).values(updated_at=utcnow()))

    def set_status(self, status: str, error: str | None = None) -> None:
        """Set the run's status (and the error that stopped it)."""
        with transaction(self._sessions) as session:
            session.execute(
                update(WorkflowRunRow)
                .where(WorkflowRunRow.id == self.run_id)
                .values(status=status, error=error, updated_at=utcnow())
            )

    def spec(self) -> dict[str, Any]:
        """The spec stored with the run."""
        with self._sessions() as session:
            row = session.get(WorkflowRunRow, self.run_id)
            assert row is not None
            return dict(json.loads(row.spec_json))


def load_run(sessions: sessionmaker[Session], tenant: str, run_id: str) -> tuple[WorkflowRunRow, list[WorkflowTaskRow]]:
    """A run of ``tenant`` and its tasks in order; ``KeyError`` when there is none."""
    with sessions() as session:
        run = session.get(WorkflowRunRow, run_id)
        if run is None or run.tenant_id != tenant:
            raise KeyError(run_id)
        tasks = session.scalars(
            select(WorkflowTaskRow).where(WorkflowTaskRow.run_id == run_id).order_by(WorkflowTaskRow.position)
        ).all()
        return run, list(tasks)


def list_runs(sessions: sessionmaker[Session], tenant: str, limit: int = 50) -> list[WorkflowRunRow]:
    """The tenant's most recent workflow runs."""
    query = (
        select(WorkflowRunRow)
        .where(WorkflowRunRow.tenant_id == tenant)
        .order_by(WorkflowRunRow.created_at.desc())
        .limit(limit)
    )
    with sessions() as session:
        return list(session.scalars(query).all())


@dataclass(frozen=True)
class ClaimedTask:
    """A task row a worker holds, with what its run says about it."""

    row_id: int
    run_id: str
    task_id: str
    prompt: str
    thread_id: str
    tenant: str
    requested_by: str
    spec: dict[str, Any]
    attempts: int


class TaskLeases:
    """The queue of workflow tasks, claimed under leases by one worker (``owner``)."""

    def __init__(self, sessions: sessionmaker[Session], owner: str, lease_s: float) -> None:
        self._sessions = sessions
        self.owner = owner
        self.lease = timedelta(seconds=lease_s)

    def claim(self, thread_of: Callable[[str, str], str]) -> ClaimedTask | None:
        """Take the oldest claimable task of a queued run (or one whose lease expired); its
        thread is ``thread_of(run_id, task_id)``."""
        now = utcnow()
        free = or_(
            WorkflowTaskRow.status.in_(CLAIMABLE),
            and_(WorkflowTaskRow.status == "running", WorkflowTaskRow.lease_until < now),
        )
        query = (
            select(WorkflowTaskRow)
            .join(WorkflowRunRow, WorkflowRunRow.id == WorkflowTaskRow.run_id)
            .where(WorkflowRunRow.executor == "queue", WorkflowRunRow.status == "running", free)
            .order_by(WorkflowTaskRow.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=WorkflowTaskRow)
        )
        with transaction(self._sessions) as session:
            row = session.scalars(query).first()
            if row is None:
                return None
            thread_id = thread_of(row.run_id, row.task_id)
            # Conditional as well: SQLite has no row locks, two workers may have read the same row.
            taken = cast(
                "CursorResult[Any]",
                session.execute(
                    update(WorkflowTaskRow)
                    .where(
                        WorkflowTaskRow.id == row.id,
                        WorkflowTaskRow.status == row.status,
                        WorkflowTaskRow.attempts == row.attempts,  # a version: one of two racing claims wins
                    )
                    .values(
                        status="running",
                        thread_id=thread_id,
                        lease_owner=self.owner,
                        lease_until=now + self.lease,
                        attempts=WorkflowTaskRow.attempts + 1,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                ),
            )
            if taken.rowcount != 1:
                return None
            run = session.get(WorkflowRunRow, row.run_id)
            assert run is not None
            return ClaimedTask(
                row.id,
                run.id,
                row.task_id,
                row.prompt,
                thread_id,
                run.tenant_id,
                run.requested_by,
                dict(json.loads(run.spec_json)),
                row.attempts + 1,
            )

    def renew(self, row_id: int) -> bool:
        """Extend the lease; False when it is no longer ours (another worker took the task)."""
        return self.update_mine(row_id, lease_until=utcnow() + self.lease)

    def finish(self, task: ClaimedTask, status: str, outcome_json: str) -> bool:
        """Record a claimed task's outcome and release it, closing the run after its last task;
        False when the lease is lost."""
        done = self.update_mine(
            task.row_id, status=status, outcome_json=outcome_json, lease_owner=None, lease_until=None
        )
        if done:
            self._close_run_if_done(task.run_id)
        return done

    def update_mine(self, row_id: int, **values: object) -> bool:
        """Update a task row only while this worker holds its lease."""
        with transaction(self._sessions) as session:
            done = cast(
                "CursorResult[Any]",
                session.execute(
                    update(WorkflowTaskRow)
                    .where(WorkflowTaskRow.id == row_id, WorkflowTaskRow.lease_owner == self.owner)
                    .values(**values, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                ),
            )
            return done.rowcount == 1

    def wake(self) -> int:
        """Parked tasks whose threads have no pending approval any more become resumable."""
        pending = exists().where(ApprovalRow.thread_id == WorkflowTaskRow.thread_id, ApprovalRow.status == "pending")
        with transaction(self._sessions) as session:
            done = cast(
                "CursorResult[Any]",
                session.execute(
                    update(WorkflowTaskRow)
                    .where(WorkflowTaskRow.status == "awaiting_approval", ~pending)
                    .values(status="resumable", updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                ),
            )
            return int(done.rowcount)

    def _close_run_if_done(self, run_id: str) -> None:
        unfinished = exists().where(
            WorkflowTaskRow.run_id == run_id, WorkflowTaskRow.status.not_in((*FINISHED, "error"))
        )
        with transaction(self._sessions) as session:
            session.execute(
                update(WorkflowRunRow)
                .where(WorkflowRunRow.id == run_id, WorkflowRunRow.status == "running", ~unfinished)
                .values(status="finished", updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
