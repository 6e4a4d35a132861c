"""Workflow runs started through the HTTP API, as rows: the run, and one row per task.

Declared on the runtime's ``StoreBase`` (created with the runtime's tables once imported).
``RunRows`` is the ``ResultSink`` of an API run and what progress and results are read from;
runs with the ``queue`` executor are executed by ``tiller worker`` processes instead
(``agent.workflows.queue``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.persistence.approvals import utcnow
from agent.persistence.tables import WorkflowRunRow, WorkflowTaskRow
from agent.workflows.outcome import FINISHED, TaskOutcome
from agent.workflows.spec import Task, Workflow
from tools.db import transaction


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
        workflow: Workflow,
        tasks: list[Task],
        concurrency: int,
        executor: str = "inline",
    ) -> RunRows:
        now = utcnow()
        with transaction(sessions) as session:
            session.add(
                WorkflowRunRow(
                    id=run_id,
                    tenant_id=tenant,
                    name=workflow.name,
                    requested_by=requested_by,
                    spec_json=json.dumps(
                        {"workflow": workflow.model_dump(mode="json"), "tasks": [t.model_dump() for t in tasks]}
                    ),
                    concurrency=concurrency,
                    executor=executor,
                    status="running",
                    total=len(tasks),
                    created_at=now,
                    updated_at=now,
                )
            )
            for n, task in enumerate(tasks):
                session.add(
                    WorkflowTaskRow(run_id=run_id, position=n, task_id=task.id, prompt=task.prompt, updated_at=now)
                )
        return cls(sessions, run_id)

    # -- ResultSink ----------------------------------------------------------------------

    def finished(self) -> set[str]:
        query = select(WorkflowTaskRow.task_id).where(
            WorkflowTaskRow.run_id == self.run_id, WorkflowTaskRow.status.in_(FINISHED)
        )
        with self._sessions() as session:
            return set(session.scalars(query).all())

    def started(self, task: Task, thread_id: str) -> None:
        self._set(task.id, status="running", thread_id=thread_id)

    def waiting(self, task: Task, approval_ids: list[str]) -> None:
        self._set(task.id, status="awaiting_approval")

    def record(self, outcome: TaskOutcome) -> None:
        self._set(outcome.task_id, status=outcome.status, outcome_json=outcome.model_dump_json())

    # -- the run -------------------------------------------------------------------------

    def set_status(self, status: str, error: str | None = None) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(WorkflowRunRow)
                .where(WorkflowRunRow.id == self.run_id)
                .values(status=status, error=error, updated_at=utcnow())
            )

    def spec(self) -> tuple[Workflow, list[Task]]:
        with self._sessions() as session:
            row = session.get(WorkflowRunRow, self.run_id)
            assert row is not None
            return self.spec_from(row)

    @staticmethod
    def spec_from(row: WorkflowRunRow) -> tuple[Workflow, list[Task]]:
        data = json.loads(row.spec_json)
        return Workflow.model_validate(data["workflow"]), [Task.model_validate(t) for t in data["tasks"]]

    def _set(self, task_id: str, **values: Any) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(WorkflowTaskRow)
                .where(WorkflowTaskRow.run_id == self.run_id, WorkflowTaskRow.task_id == task_id)
                .values(**values, updated_at=utcnow())
            )
            session.execute(update(WorkflowRunRow).where(WorkflowRunRow.id == self.run_id).values(updated_at=utcnow()))


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
    query = (
        select(WorkflowRunRow)
        .where(WorkflowRunRow.tenant_id == tenant)
        .order_by(WorkflowRunRow.created_at.desc())
        .limit(limit)
    )
    with sessions() as session:
        return list(session.scalars(query).all())
