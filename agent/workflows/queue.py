"""Workflow tasks as a queue in the database, claimed by ``tiller worker`` processes.

A worker claims one task with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises
writers instead) and holds it under a lease it renews while the task runs. A worker that dies
stops renewing; once the lease has passed, any worker claims the task again and *continues* its
thread from the last checkpoint — the idempotency ledger makes every side effect happen once.
A task waiting for reviewers is parked; when none of its thread's approvals is pending any
more, it becomes ``resumable`` and is claimed like a new one.

Every write is conditional on the lease still being ours, so a worker that lost its lease
(paused too long) cannot overwrite the work of the worker that took over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.persistence.approvals import utcnow
from agent.persistence.tables import ApprovalRow
from agent.persistence.workflows import RunRows, WorkflowRunRow, WorkflowTaskRow
from agent.workflows.outcome import FINISHED, TaskOutcome
from agent.workflows.runner import WORKFLOW_THREAD_PREFIX
from agent.workflows.spec import Task, Workflow
from tools.db import transaction

CLAIMABLE = ("queued", "resumable")


@dataclass(frozen=True)
class Claim:
    """A task this worker holds: what to run, as whom."""

    row_id: int
    run_id: str
    task: Task
    tenant: str
    user: str
    workflow: Workflow
    attempts: int


class TaskQueue:
    def __init__(self, sessions: sessionmaker[Session], owner: str, lease_s: float) -> None:
        self._sessions = sessions
        self.owner = owner
        self.lease = timedelta(seconds=lease_s)

    def claim(self) -> Claim | None:
        """Take the oldest claimable task of a queued run (or one whose lease expired)."""
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
            # Conditional as well: SQLite has no row locks, two workers may have read the same row.
            taken = session.execute(
                update(WorkflowTaskRow)
                .where(
                    WorkflowTaskRow.id == row.id,
                    WorkflowTaskRow.status == row.status,
                    WorkflowTaskRow.attempts == row.attempts,  # a version: one of two racing claims wins
                )
                .values(
                    status="running",
                    thread_id=f"{WORKFLOW_THREAD_PREFIX}{row.run_id}-{row.task_id}",
                    lease_owner=self.owner,
                    lease_until=now + self.lease,
                    attempts=WorkflowTaskRow.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
            run = session.get(WorkflowRunRow, row.run_id)
            assert run is not None
            workflow, _ = RunRows.spec_from(run)
            task = Task(id=row.task_id, prompt=row.prompt)
            return Claim(row.id, run.id, task, run.tenant_id, run.requested_by, workflow, row.attempts + 1)

    def renew(self, claim: Claim) -> bool:
        """Extend the lease; False when it is no longer ours (another worker took the task)."""
        return self._update_mine(claim, lease_until=utcnow() + self.lease)

    def finish(self, claim: Claim, outcome: TaskOutcome) -> bool:
        done = self._update_mine(
            claim, status=outcome.status, outcome_json=outcome.model_dump_json(), lease_owner=None, lease_until=None
        )
        if done:
            self._close_run_if_done(claim.run_id)
        return done

    def park(self, claim: Claim) -> bool:
        """The task waits for reviewers: free it; ``wake`` makes it claimable once they decided."""
        return self._update_mine(claim, status="awaiting_approval", lease_owner=None, lease_until=None)

    def release(self, claim: Claim) -> bool:
        """Give the task back untouched (e.g. its thread is busy elsewhere): it is claimed again."""
        return self._update_mine(claim, status="queued", lease_owner=None, lease_until=None)

    def wake(self) -> int:
        """Parked tasks whose threads have no pending approval any more become resumable."""
        pending = exists().where(ApprovalRow.thread_id == WorkflowTaskRow.thread_id, ApprovalRow.status == "pending")
        with transaction(self._sessions) as session:
            done = session.execute(
                update(WorkflowTaskRow)
                .where(WorkflowTaskRow.status == "awaiting_approval", ~pending)
                .values(status="resumable", updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return int(done.rowcount)  # type: ignore[attr-defined]

    def _update_mine(self, claim: Claim, **values: object) -> bool:
        with transaction(self._sessions) as session:
            done = session.execute(
                update(WorkflowTaskRow)
                .where(WorkflowTaskRow.id == claim.row_id, WorkflowTaskRow.lease_owner == self.owner)
                .values(**values, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return done.rowcount == 1  # type: ignore[attr-defined]

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
