"""``/v1/workflows/runs``: scripted workflow runs — start, progress, results, resume."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from agent.errors import ConfigError
from agent.interfaces.service.auth import Caller, Context
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.errors import Conflict, NotFound, Unprocessable
from agent.interfaces.service.routes.threads import _ERRORS
from agent.persistence.keys import Principal
from agent.persistence.names import same_person
from agent.persistence.tables import WorkflowRunRow, WorkflowTaskRow
from agent.persistence.workflows import RunRows, list_runs, load_run
from agent.workflows.rows import RunSink
from agent.workflows.spec import expand_tasks, parse_workflow

router = APIRouter(prefix="/v1/workflows", tags=["workflows"])
MAX_CONCURRENCY = 16
MAX_TASKS = 10_000


class StartRun(BaseModel):
    """Start a workflow run: the workflow, its input records, how many tasks run at once."""

    workflow: dict[str, Any] = Field(description="a workflow, as in a workflow YAML file (see docs/SERVICE.md)")
    inputs: list[dict[str, Any]] | None = Field(None, description="records for the workflow's prompt template")
    concurrency: int | None = Field(None, ge=1, le=MAX_CONCURRENCY)


class RunProgress(BaseModel):
    """A workflow run and how many of its tasks are in each status."""

    id: str
    name: str
    status: str = Field(description="running | finished | interrupted | failed")
    requested_by: str
    total: int
    counts: dict[str, int] = Field(description="tasks by status (queued, running, awaiting_approval, completed, …)")
    error: str | None = None
    created_at: datetime
    updated_at: datetime


class TaskResult(BaseModel):
    """One task of a workflow run, with its thread and outcome once it ran."""

    task_id: str
    prompt: str
    status: str
    thread_id: str | None = None
    outcome: dict[str, Any] | None = None


def _progress(run: WorkflowRunRow, tasks: list[WorkflowTaskRow]) -> RunProgress:
    counts = Counter(t.status for t in tasks)
    return RunProgress(
        id=run.id,
        name=run.name,
        status=run.status,
        requested_by=run.requested_by,
        total=run.total,
        counts=dict(counts),
        error=run.error,
        created_at=run.created_at,
        updated_at=run.updated_at,
    )


def _visible_run(ctx: ServiceContext, who: Principal, run_id: str) -> tuple[WorkflowRunRow, list[WorkflowTaskRow]]:
    """The run if ``who`` may see it (a user key: only its own); else not found."""
    try:
        run, tasks = load_run(ctx.tiller.sessions, who.tenant, run_id)
    except KeyError:
        raise NotFound(f"no workflow run {run_id} in tenant {who.tenant}", code="run_not_found") from None
    if who.role == "user" and not same_person(run.requested_by, who.name):
        raise NotFound(f"no workflow run {run_id} in tenant {who.tenant}", code="run_not_found")
    return run, tasks


@router.post("/runs", status_code=202, response_model=RunProgress, responses=_ERRORS)
async def start_run(body: StartRun, who: Caller, ctx: Context) -> RunProgress:
    """Start a workflow run in the background, acting as the key's user in the key's tenant."""
    try:
        workflow = parse_workflow(body.workflow, "workflow")
        tasks = expand_tasks(workflow, body.inputs, "inputs")
    except ConfigError as exc:
        raise Unprocessable(str(exc), code="invalid_workflow") from None
    if len(tasks) > MAX_TASKS:
        raise Unprocessable(f"{len(tasks)} tasks; at most {MAX_TASKS} per run", code="invalid_workflow")
    concurrency = min(body.concurrency or workflow.concurrency, MAX_CONCURRENCY)
    run_id = "wfr_" + uuid.uuid4().hex[:12]

    def create() -> RunSink:
        return RunSink.create(
            ctx.tiller.sessions,
            run_id=run_id,
            tenant=who.tenant,
            requested_by=who.name,
            workflow=workflow,
            tasks=tasks,
            concurrency=concurrency,
            executor=ctx.service.workflow_executor,
        )

    rows = await to_thread.run_sync(create)
    if ctx.service.workflow_executor == "inline":
        ctx.workflows.start(rows, tenant=who.tenant, user=who.name, concurrency=concurrency)
    return _progress(*await to_thread.run_sync(_visible_run, ctx, who, run_id))


@router.get("/runs", response_model=list[RunProgress], responses=_ERRORS)
async def runs(who: Caller, ctx: Context, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[RunProgress]:
    """Recent workflow runs of the tenant (a user key sees its own), newest first."""

    def read() -> list[RunProgress]:
        found = list_runs(ctx.tiller.sessions, who.tenant, limit)
        return [
            _progress(*_visible_run(ctx, who, r.id))
            for r in found
            if who.role != "user" or same_person(r.requested_by, who.name)
        ]

    return await to_thread.run_sync(read)


@router.get("/runs/{run_id}", response_model=RunProgress, responses=_ERRORS)
async def progress(run_id: str, who: Caller, ctx: Context) -> RunProgress:
    """How far the run is: tasks by status."""
    return _progress(*await to_thread.run_sync(_visible_run, ctx, who, run_id))


@router.get("/runs/{run_id}/results", response_model=list[TaskResult], responses=_ERRORS)
async def results(run_id: str, who: Caller, ctx: Context) -> list[TaskResult]:
    """Every task with its outcome so far (status, answer, tool calls, approvals, usage)."""
    _, tasks = await to_thread.run_sync(_visible_run, ctx, who, run_id)
    return [
        TaskResult(
            task_id=t.task_id,
            prompt=t.prompt,
            status=t.status,
            thread_id=t.thread_id,
            outcome=json.loads(t.outcome_json) if t.outcome_json else None,
        )
        for t in tasks
    ]


@router.post("/runs/{run_id}/resume", status_code=202, response_model=RunProgress, responses=_ERRORS)
async def resume_run(run_id: str, who: Caller, ctx: Context) -> RunProgress:
    """Continue an interrupted run (after a restart): finished tasks are not run again."""
    run, _ = await to_thread.run_sync(_visible_run, ctx, who, run_id)
    if run.executor == "queue":
        raise Conflict(f"workflow run {run_id} is executed by `tiller worker` processes", code="run_queued")
    if ctx.workflows.is_running(run_id):
        raise Conflict(f"workflow run {run_id} is running in this process", code="run_busy")
    rows = RunSink(RunRows(ctx.tiller.sessions, run_id))
    ctx.workflows.start(rows, tenant=who.tenant, user=run.requested_by, concurrency=run.concurrency)
    return _progress(*await to_thread.run_sync(_visible_run, ctx, who, run_id))
