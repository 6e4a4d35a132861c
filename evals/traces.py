"""Keeping eval traces: each trial's run traces copied into a Tiller database.

Trials run on throwaway homes, so their traces would vanish with them. ``tiller eval run`` copies
them (labelled ``scenario``, ``trial`` and ``eval_run``) into the database of the current Tiller
home, where ``tiller traces list`` and the service's ``/traces`` pages show them next to chat and
workflow runs. ``--no-traces`` turns this off; a home whose database does not exist yet is left
alone (the run says so rather than creating one).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent.persistence.database import open_database
from agent.persistence.traces import EVAL_LABEL, TraceStore
from agent.runtime import Tiller

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker


class TraceSink:
    """A database that receives copies of trial traces (thread-safe; trials run in parallel)."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session], run_label: str) -> None:
        self._engine = engine
        self._store = TraceStore(sessions)
        self._lock = threading.Lock()
        self.run_label = run_label
        self.copied = 0

    @classmethod
    def open(cls, db_url: str, run_label: str) -> TraceSink | None:
        """The sink for ``db_url``; ``None`` for a SQLite file that does not exist yet."""
        if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).exists():
            return None
        engine, sessions = open_database(db_url)
        return cls(engine, sessions, run_label)

    def copy_thread(self, tiller: Tiller, tenant: str, thread_id: str) -> list[str]:
        """Copy every trace of ``thread_id`` from the trial's runtime; returns their run ids."""
        ids = [t.id for t in reversed(tiller.traces.list(tenant, thread_id=thread_id, limit=1000))]
        traces = [tiller.traces.get(tenant, run_id) for run_id in ids]
        with self._lock:
            for trace in traces:
                self._store.save(trace.model_copy(update={"labels": {**trace.labels, EVAL_LABEL: self.run_label}}))
            self.copied += len(traces)
        return ids

    def close(self) -> None:
        """Close the eval traces' database."""
        self._engine.dispose()
