"""``tiller worker``: execute queued workflow tasks, any number of workers on one database.

Each worker claims tasks from ``TaskQueue`` (``SELECT … FOR UPDATE SKIP LOCKED``), runs them on a
``Tiller`` built for their workflow, renews its lease while a task runs, and records the
outcome — or parks the task while reviewers decide. Adding workers adds throughput; a worker
killed mid-task leaves it to be claimed again when the lease ends, and continued, never redone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from agent.config import Settings, domain_of
from agent.errors import ThreadBusy
from agent.loop.state import RunStatus
from agent.persistence.database import open_database
from agent.runtime import Tiller
from agent.workflows.outcome import TaskOutcome
from agent.workflows.queue import Claim, TaskQueue
from agent.workflows.runner import WorkflowRunner
from agent.workflows.runtime import workflow_tiller
from agent.workflows.spec import Workflow

log = logging.getLogger("tiller.worker")


class Worker:
    """Claims and runs queued workflow tasks, ``concurrency`` at a time."""

    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int = 2,
        lease_s: float = 30.0,
        poll_s: float = 0.5,
        owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.concurrency = concurrency
        self.poll_s = poll_s
        self._engine, sessions = open_database(settings.db_url, require=domain_of(settings))
        self.queue = TaskQueue(sessions, owner or f"{socket.gethostname()}:{os.getpid()}", lease_s)
        self._runtimes: dict[str, Tiller] = {}
        self._lock = threading.Lock()
        self.done = 0

    def run(self, stop: threading.Event) -> int:
        """Work until ``stop`` is set; tasks in progress then finish. Returns the tasks finished."""
        active: set[Future[None]] = set()
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="tiller-worker") as pool:
                while not stop.is_set():
                    self.queue.wake()
                    while len(active) < self.concurrency and (claim := self.queue.claim()) is not None:
                        active.add(pool.submit(self._execute, claim))
                    if active:
                        _, active = wait(active, timeout=self.poll_s, return_when=FIRST_COMPLETED)
                    else:
                        stop.wait(self.poll_s)
        finally:
            self.close()
        return self.done

    def close(self) -> None:
        """Close every runtime the worker built and its database."""
        for runtime in self._runtimes.values():
            runtime.close()
        self._runtimes.clear()
        self._engine.dispose()

    def _runtime(self, workflow: Workflow) -> Tiller:
        key = json.dumps([workflow.model, workflow.approval, workflow.limits], sort_keys=True)
        with self._lock:
            if key not in self._runtimes:
                self._runtimes[key] = workflow_tiller(self.settings, workflow)
            return self._runtimes[key]

    def _execute(self, claim: Claim) -> None:
        runtime = self._runtime(claim.workflow)
        runner = WorkflowRunner(runtime, claim.workflow, run_id=claim.run_id, tenant=claim.tenant, user=claim.user)
        thread_id = runner.thread_id(claim.task)
        started = time.monotonic()
        finished = threading.Event()
        threading.Thread(target=self._keep_lease, args=(claim, finished), daemon=True).start()
        try:
            result = runner.first_step(claim.task)
        except ThreadBusy:
            self.queue.release(claim)  # its thread runs elsewhere right now: try again later
            return
        except Exception as exc:  # one broken task must not stop the worker; it is reported
            log.exception("task %s of run %s failed", claim.task.id, claim.run_id)
            error = f"{type(exc).__name__}: {exc}"
            self.queue.finish(
                claim, TaskOutcome(task_id=claim.task.id, thread_id=thread_id, status="error", error=error)
            )
            return
        finally:
            finished.set()
        if result.status is RunStatus.AWAITING_APPROVAL and claim.workflow.approval == "queue":
            self.queue.park(claim)
            return
        outcome = runner.outcome(claim.task, result)
        outcome.elapsed_s = round(time.monotonic() - started, 3)
        if self.queue.finish(claim, outcome):
            self.done += 1

    def _keep_lease(self, claim: Claim, finished: threading.Event) -> None:
        """Renew the lease at a third of its length until the task ends (or the lease is lost)."""
        interval = self.queue.lease.total_seconds() / 3
        while not finished.wait(interval):
            if not self.queue.renew(claim):
                log.warning("lost the lease of task %s of run %s", claim.task.id, claim.run_id)
                return
