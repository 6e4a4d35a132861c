"""Running a workflow's tasks: concurrently, parking the ones that wait for reviewers.

Each task runs in its own thread (``wf-<run>-<task>``), so a rerun after an interruption finds
it again: finished tasks are skipped (the sink knows them), a task interrupted mid-run is
resumed from its checkpoint, never started twice. In ``queue`` mode a task paused for approval
leaves its worker free; it is resumed as soon as none of its approvals is pending.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.errors import ThreadBusy, ThreadNotFound, TillerError
from agent.loop.state import RunResult, RunStatus
from agent.runtime import Tiller
from agent.workflows.outcome import FINISHED, TaskOutcome, outcome_of
from agent.workflows.spec import Task, Workflow

WORKFLOW_THREAD_PREFIX = "wf-"
"""Threads of workflow tasks: their runner (or a worker) continues them, nobody else."""

__all__ = ["FINISHED", "WORKFLOW_THREAD_PREFIX", "ResultSink", "Summary", "TaskOutcome", "WorkflowRunner", "outcome_of"]


class ResultSink(Protocol):
    """Where a run reports progress and outcomes (and what it already finished)."""

    def finished(self) -> set[str]:
        """The ids of the tasks already finished (skipped on this pass)."""

    def started(self, task: Task, thread_id: str) -> None:
        """A task started on ``thread_id``."""

    def waiting(self, task: Task, approval_ids: list[str]) -> None:
        """A task paused for the approvals ``approval_ids``."""

    def record(self, outcome: TaskOutcome) -> None:
        """A task's outcome (final or not)."""


@dataclass
class Summary:
    """The counts of one pass over a workflow's tasks."""

    total: int
    skipped: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counts as plain JSON (``summary.json``)."""
        return {
            "total": self.total,
            "skipped": self.skipped,
            "statuses": dict(self.statuses),
            "elapsed_s": self.elapsed_s,
        }


@dataclass
class _Active:
    task: Task
    started: float
    waited: float = 0.0
    parked_at: float = 0.0


class WorkflowRunner:
    """Runs one workflow's tasks as ``user`` in ``tenant`` on a ``Tiller`` built for it."""

    def __init__(
        self, tiller: Tiller, workflow: Workflow, *, run_id: str, tenant: str, user: str, poll_s: float = 1.0
    ) -> None:
        self.tiller, self.workflow = tiller, workflow
        self.run_id, self.tenant, self.user = run_id, tenant, user
        self.poll_s = poll_s

    def thread_id(self, task: Task) -> str:
        """The thread a task runs on (the same for every attempt)."""
        return f"{WORKFLOW_THREAD_PREFIX}{self.run_id}-{task.id}"

    def run(
        self, tasks: list[Task], sink: ResultSink, concurrency: int | None = None, stop: threading.Event | None = None
    ) -> Summary:
        """Run every task the sink has not finished; returns the counts of this pass.

        Setting ``stop`` ends the pass early: tasks in progress finish, the rest stay for the next.
        """
        started = time.monotonic()
        done = sink.finished()
        todo = deque(t for t in tasks if t.id not in done)
        summary = Summary(total=len(tasks), skipped=len(tasks) - len(todo))
        running: dict[Future[RunResult], _Active] = {}
        parked: dict[str, _Active] = {}
        limit = concurrency or self.workflow.concurrency
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="tiller-workflow") as pool:
            while todo or running or parked:
                if stop is not None and stop.is_set():
                    todo.clear()
                    parked.clear()
                while todo and len(running) < limit:
                    task = todo.popleft()
                    sink.started(task, self.thread_id(task))
                    running[pool.submit(self.first_step, task)] = _Active(task, time.monotonic())
                if running:
                    finished, _ = wait(running, timeout=self.poll_s, return_when=FIRST_COMPLETED)
                else:  # only parked tasks: poll for their decisions at a gentle pace
                    finished = set()
                    (stop or threading.Event()).wait(self.poll_s)
                for future in finished:
                    self._settle(running.pop(future), future, parked, sink, summary)
                if parked:
                    self._unpark(pool, parked, running, sink, summary)
        summary.elapsed_s = round(time.monotonic() - started, 3)
        return summary

    def first_step(self, task: Task) -> RunResult:
        """Ask; or, when the thread already has a run (an interrupted pass), continue it."""
        thread_id = self.thread_id(task)
        try:
            self.tiller.threads.get(self.tenant, thread_id)
            started_before = bool(self.tiller.messages(thread_id, tenant=self.tenant))
        except ThreadNotFound:
            started_before = False
        if started_before:
            return self.tiller.resume(thread_id, tenant=self.tenant)
        return self.tiller.ask(
            task.prompt, thread_id=thread_id, tenant=self.tenant, user=self.user, subject=self.workflow.subject
        )

    def _settle(
        self, active: _Active, future: Future[RunResult], parked: dict[str, _Active], sink: ResultSink, summary: Summary
    ) -> None:
        try:
            result = future.result()
        except TillerError as exc:
            self._finish(active, None, sink, summary, error=str(exc))
            return
        except Exception as exc:  # one broken task must not stop the batch; it is reported, and rerun later
            self._finish(active, None, sink, summary, error=f"{type(exc).__name__}: {exc}")
            return
        if result.status is RunStatus.AWAITING_APPROVAL and self.workflow.approval == "queue":
            active.parked_at = time.monotonic()
            parked[active.task.id] = active
            sink.waiting(active.task, [a.id for a in result.pending_approvals])
            return
        self._finish(active, result, sink, summary)

    def _unpark(
        self,
        pool: ThreadPoolExecutor,
        parked: dict[str, _Active],
        running: dict[Future[RunResult], _Active],
        sink: ResultSink,
        summary: Summary,
    ) -> None:
        """Resume the parked tasks whose approvals are all decided; give up on overdue ones."""
        waiting_threads = {a.thread_id for a in self.tiller.approvals.list(self.tenant, status="pending")}
        now = time.monotonic()
        for task_id, active in list(parked.items()):
            thread_id = self.thread_id(active.task)
            overdue = (
                self.workflow.approval_wait_s is not None and now - active.parked_at > self.workflow.approval_wait_s
            )
            if thread_id in waiting_threads and not overdue:
                continue
            del parked[task_id]
            active.waited += now - active.parked_at
            if thread_id in waiting_threads:  # overdue: record it waiting; a rerun continues it
                self._finish(active, self.tiller.result(thread_id, tenant=self.tenant), sink, summary)
                continue
            running[pool.submit(self.resume_or_follow, thread_id)] = active

    def resume_or_follow(self, thread_id: str) -> RunResult:
        """Continue a parked task's thread; when another process already does (a reviewer's
        ``tiller approvals approve`` resumes it), wait for that run and take its result."""
        deadline = time.monotonic() + self.tiller.limits.deadline_s + 30
        while True:
            try:
                return self.tiller.resume(thread_id, tenant=self.tenant)
            except ThreadBusy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(self.poll_s / 4)

    def outcome(self, task: Task, result: RunResult | None, error: str | None = None) -> TaskOutcome:
        """The task's result line, with the reviewers' internal notes read from its approvals."""
        notes: dict[str, str] = {}
        if result is not None and any(c.approval is not None for c in result.trajectory):
            rows = self.tiller.approvals.list(self.tenant, thread_id=result.thread_id)
            notes = {a.id: a.reason for a in rows if a.reason}
        return outcome_of(task, self.thread_id(task), result, error, notes)

    def _finish(
        self, active: _Active, result: RunResult | None, sink: ResultSink, summary: Summary, error: str | None = None
    ) -> None:
        outcome = self.outcome(active.task, result, error)
        outcome.elapsed_s = round(time.monotonic() - active.started, 3)
        outcome.waited_s = round(active.waited, 3)
        summary.statuses[outcome.status] += 1
        sink.record(outcome)
