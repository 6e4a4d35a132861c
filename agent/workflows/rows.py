"""An API workflow run's rows as a ``ResultSink``: typed tasks and outcomes over
``agent.persistence.workflows.RunRows`` (which speaks plain values)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.persistence.workflows import RunRows
from agent.workflows.outcome import TaskOutcome
from agent.workflows.spec import Task, Workflow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def run_spec(workflow: Workflow, tasks: list[Task]) -> dict[str, Any]:
    """What a run stores about itself: the workflow and its expanded tasks."""
    return {"workflow": workflow.model_dump(mode="json"), "tasks": [t.model_dump() for t in tasks]}


def spec_of(stored: dict[str, Any]) -> tuple[Workflow, list[Task]]:
    """The workflow and tasks a run stored with ``run_spec``."""
    return Workflow.model_validate(stored["workflow"]), [Task.model_validate(t) for t in stored["tasks"]]


class RunSink:
    """The ``ResultSink`` of an API run: progress and outcomes go to the run's rows."""

    def __init__(self, rows: RunRows) -> None:
        self.rows = rows
        self.run_id = rows.run_id

    @classmethod
    def create(
        cls,
        sessions: sessionmaker[Session],
        *,
        run_id: str,
        tenant: str,
        requested_by: str,
        workflow: Workflow,
        tasks: list[Task],
        concurrency: int,
        executor: str = "inline",
    ) -> RunSink:
        """Create the run's rows (the run and each task) and the sink that writes to them."""
        rows = RunRows.create(
            sessions,
            run_id=run_id,
            tenant=tenant,
            requested_by=requested_by,
            name=workflow.name,
            spec=run_spec(workflow, tasks),
            tasks=[(t.id, t.prompt) for t in tasks],
            concurrency=concurrency,
            executor=executor,
        )
        return cls(rows)

    def finished(self) -> set[str]:
        """The tasks whose outcome is final."""
        return self.rows.finished()

    def started(self, task: Task, thread_id: str) -> None:
        """Mark the task running on ``thread_id``."""
        self.rows.set_task(task.id, status="running", thread_id=thread_id)

    def waiting(self, task: Task, approval_ids: list[str]) -> None:
        """Mark the task waiting for reviewers."""
        self.rows.set_task(task.id, status="awaiting_approval")

    def record(self, outcome: TaskOutcome) -> None:
        """Store the task's outcome."""
        self.rows.set_task(outcome.task_id, status=outcome.status, outcome_json=outcome.model_dump_json())

    def set_status(self, status: str, error: str | None = None) -> None:
        """Set the run's status (and the error that stopped it)."""
        self.rows.set_status(status, error)

    def spec(self) -> tuple[Workflow, list[Task]]:
        """The workflow and tasks the run stored."""
        return spec_of(self.rows.spec())
