"""Workflow runs started through the API, each executing on a thread of this process."""

from __future__ import annotations

import logging
import threading

from agent.config import Settings
from agent.runtime import Tiller
from agent.workflows.rows import RunSink
from agent.workflows.runner import WorkflowRunner
from agent.workflows.runtime import workflow_tiller
from agent.workflows.spec import Workflow

log = logging.getLogger("tiller.service")


class WorkflowRuns:
    """Starts runs, and stops them (to be resumed later) when the service shuts down."""

    def __init__(self, settings: Settings, tiller: Tiller) -> None:
        self._settings = settings
        self._tiller = tiller
        self._active: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()

    def is_running(self, run_id: str) -> bool:
        """Whether this process is executing the run now."""
        with self._lock:
            return run_id in self._active

    def start(self, rows: RunSink, *, tenant: str, user: str, concurrency: int) -> None:
        """Execute the run's tasks on a thread of its own, ``concurrency`` at a time."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self._execute,
            args=(rows, tenant, user, concurrency, stop),
            name=f"workflow-{rows.run_id}",
            daemon=True,
        )
        with self._lock:
            self._active[rows.run_id] = (thread, stop)
        rows.set_status("running")
        thread.start()

    def stop_all(self, timeout_s: float = 30.0) -> None:
        """Ask every run to stop after its tasks in progress, and wait for them."""
        with self._lock:
            active = list(self._active.values())
        for _, stop in active:
            stop.set()
        for thread, _ in active:
            thread.join(timeout_s)

    def _runtime(self, workflow: Workflow) -> tuple[Tiller, bool]:
        """The shared runtime when the workflow changes nothing it fixes; else one of its own."""
        same = workflow.model in (None, self._settings.model) and not workflow.limits and workflow.approval == "queue"
        return (self._tiller, False) if same else (workflow_tiller(self._settings, workflow), True)

    def _execute(self, rows: RunSink, tenant: str, user: str, concurrency: int, stop: threading.Event) -> None:
        try:
            workflow, tasks = rows.spec()
            tiller, owned = self._runtime(workflow)
            try:
                runner = WorkflowRunner(tiller, workflow, run_id=rows.run_id, tenant=tenant, user=user)
                runner.run(tasks, rows, concurrency, stop=stop)
            finally:
                if owned:
                    tiller.close()
            unfinished = {t.id for t in tasks} - rows.finished()
            rows.set_status("interrupted" if stop.is_set() and unfinished else "finished")
        except Exception as exc:  # the run's thread is a boundary: report, never die silently
            log.exception("workflow run %s failed", rows.run_id)
            rows.set_status("failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._active.pop(rows.run_id, None)
