"""Workflow tasks as a queue in the database, claimed by ``tiller worker`` processes.

A worker claims one task and holds it under a lease it renews while the task runs
(``agent.persistence.workflows.TaskLeases``). A worker that dies stops renewing; once the lease
has passed, any worker claims the task again and *continues* its thread from the last
checkpoint — the idempotency ledger makes every side effect happen once. A task waiting for
reviewers is parked; when none of its thread's approvals is pending any more, it becomes
``resumable`` and is claimed like a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.persistence.workflows import ClaimedTask, TaskLeases
from agent.workflows.outcome import TaskOutcome
from agent.workflows.rows import spec_of
from agent.workflows.runner import WORKFLOW_THREAD_PREFIX
from agent.workflows.spec import Task, Workflow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class Claim:
    """A task this worker holds: what to run, as whom."""

    row: ClaimedTask
    task: Task
    workflow: Workflow

    @property
    def run_id(self) -> str:
        """The workflow run the task belongs to."""
        return self.row.run_id

    @property
    def tenant(self) -> str:
        """The tenant the run was started in."""
        return self.row.tenant

    @property
    def user(self) -> str:
        """Who started the run: the task runs as them."""
        return self.row.requested_by

    @property
    def attempts(self) -> int:
        """How many times the task was claimed, this one included."""
        return self.row.attempts


def _thread_of(run_id: str, task_id: str) -> str:
    return f"{WORKFLOW_THREAD_PREFIX}{run_id}-{task_id}"


class TaskQueue:
    """Typed claims over the task leases of one worker (``owner``)."""

    def __init__(self, sessions: sessionmaker[Session], owner: str, lease_s: float) -> None:
        self._leases = TaskLeases(sessions, owner, lease_s)
        self.owner = owner
        self.lease = self._leases.lease

    def claim(self) -> Claim | None:
        """Take the oldest claimable task of a queued run (or one whose lease expired)."""
        row = self._leases.claim(_thread_of)
        if row is None:
            return None
        workflow, _ = spec_of(row.spec)
        return Claim(row, Task(id=row.task_id, prompt=row.prompt), workflow)

    def renew(self, claim: Claim) -> bool:
        """Extend the lease; False when it is no longer ours (another worker took the task)."""
        return self._leases.renew(claim.row.row_id)

    def finish(self, claim: Claim, outcome: TaskOutcome) -> bool:
        """Record the task's outcome and release it; False when another worker took it meanwhile."""
        return self._leases.finish(claim.row, outcome.status, outcome.model_dump_json())

    def park(self, claim: Claim) -> bool:
        """The task waits for reviewers: free it; ``wake`` makes it claimable once they decided."""
        return self._leases.update_mine(
            claim.row.row_id, status="awaiting_approval", lease_owner=None, lease_until=None
        )

    def release(self, claim: Claim) -> bool:
        """Give the task back untouched (e.g. its thread is busy elsewhere): it is claimed again."""
        return self._leases.update_mine(claim.row.row_id, status="queued", lease_owner=None, lease_until=None)

    def wake(self) -> int:
        """Parked tasks whose threads have no pending approval any more become resumable."""
        return self._leases.wake()
