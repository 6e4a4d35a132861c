"""Results of a ``tiller run`` in a folder: ``run.json``, ``results.jsonl``, ``summary.json``.

``results.jsonl`` has one line per task, its latest outcome: a task waiting for reviewers, or
rerun, has its line replaced (the file is rewritten whole and renamed into place, so a crash
leaves the old file or the new one). A rerun reads it to skip
finished tasks; ``run.json`` keeps the run id, so the rerun finds the same threads.
"""

from __future__ import annotations

import fcntl
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.workflows.outcome import FINISHED, TaskOutcome
from agent.workflows.runner import Summary
from agent.workflows.spec import Task, Workflow

ProgressHook = Callable[[str, str], None]
"""``hook(event, task_id)`` with event ``started`` | ``waiting`` | ``recorded``."""


class ResultsFolder:
    """A ``ResultSink`` writing to a folder; ``fresh`` starts over with a new run id."""

    def __init__(self, folder: Path, workflow: Workflow, *, fresh: bool = False, hook: ProgressHook | None = None):
        self.folder = folder
        self.results = folder / "results.jsonl"
        self._hook = hook or (lambda _event, _task: None)
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        self._take_folder()
        meta = folder / "run.json"
        if fresh or not meta.exists():
            self.results.unlink(missing_ok=True)
            (folder / "summary.json").unlink(missing_ok=True)
            info = {"run_id": uuid.uuid4().hex[:10], "workflow": workflow.name, "created_at": _now()}
            meta.write_text(json.dumps(info, indent=2) + "\n")
        info = json.loads(meta.read_text())
        if info.get("workflow") != workflow.name:
            raise ConfigError(
                f"{folder} holds a run of workflow {info.get('workflow')!r}, not {workflow.name!r}; "
                "use another --output or --fresh"
            )
        self.run_id: str = info["run_id"]

    def _take_folder(self) -> None:
        """One ``tiller run`` per folder at a time (the lock ends with the process)."""
        self._lock_file = (self.folder / ".lock").open("w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise ConfigError(
                f"another `tiller run` is using {self.folder}; wait for it or use another --output"
            ) from None

    def close(self) -> None:
        """Release the folder's lock."""
        self._lock_file.close()

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last outcome of each task (an unfinished trailing line is ignored)."""
        outcomes: dict[str, dict[str, Any]] = {}
        if not self.results.exists():
            return outcomes
        for line in self.results.read_text().splitlines():
            try:
                outcome = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash: that task simply runs again
            outcomes[outcome["task_id"]] = outcome
        return outcomes

    def finished(self) -> set[str]:
        """The tasks whose last outcome is final."""
        return {task_id for task_id, o in self.latest().items() if o["status"] in FINISHED}

    def started(self, task: Task, thread_id: str) -> None:
        """Report a task started (to the progress hook)."""
        self._hook("started", task.id)

    def waiting(self, task: Task, approval_ids: list[str]) -> None:
        """Report a task waiting for reviewers (to the progress hook)."""
        self._hook("waiting", task.id)

    def record(self, outcome: TaskOutcome) -> None:
        """Write the task's outcome to ``results.jsonl``, replacing its earlier one (atomically)."""
        with self._lock:
            lines = {task_id: json.dumps(o) for task_id, o in self.latest().items()}
            lines[outcome.task_id] = outcome.model_dump_json()
            draft = self.results.with_suffix(".jsonl.tmp")
            with draft.open("w") as out:
                out.write("".join(line + "\n" for line in lines.values()))
                out.flush()
            draft.replace(self.results)
        self._hook("recorded", outcome.task_id)

    def write_summary(self, tasks: list[Task], this_pass: Summary) -> dict[str, Any]:
        """Counts over every task's latest outcome (all passes), and this pass's numbers."""
        latest = self.latest()
        statuses = Counter(latest[t.id]["status"] if t.id in latest else "not_run" for t in tasks)
        usage = Counter[str]()
        for outcome in latest.values():
            usage.update({k: v for k, v in outcome.get("usage", {}).items() if isinstance(v, int)})
        summary = {
            "run_id": self.run_id,
            "tasks": len(tasks),
            "statuses": dict(sorted(statuses.items())),
            "usage": dict(usage),
            "this_pass": this_pass.as_dict(),
            "results": str(self.results),
            "written_at": _now(),
        }
        (self.folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
