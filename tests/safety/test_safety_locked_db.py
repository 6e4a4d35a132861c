"""The database locked by another process, or not usable at all: a clear, typed error — never a
crash, never a traceback, never a write that lands after the caller was told it failed.

Another connection takes SQLite's write lock (``BEGIN EXCLUSIVE``) on the database file at the
moment the runtime is about to run a write tool, and gives it back once the tool has answered;
the runtime's busy timeout is short (``db_busy_timeout_s``) so the tool gives up quickly. WAL
lets every read go on meanwhile, so only the write meets the lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.config import Settings
from agent.errors import DatabaseUnavailable
from agent.interfaces.cli.app import app
from agent.loop.state import CallStatus, RunResult, RunStatus
from agent.runtime import Tiller
from agent.runtime.execution import ToolExecutor
from tests.safety.conftest import business_state
from tools.commerce import commerce_tools

LOCKED = "The database is locked by another process (a long write or a backup), so nothing was changed; "
TICKET = "Open a ticket: my order W1000002 hasn't arrived"
REFUND = "refund order W1000001, it arrived damaged"


class WriteLock:
    """Another connection's write lock on the database file, taken and given back on runtime events."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder: sqlite3.Connection | None = None
        self.taken = 0

    def take(self) -> None:
        self.holder = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.holder.execute("BEGIN EXCLUSIVE")
        self.taken += 1

    def release(self) -> None:
        if self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()
            self.holder = None

    def around_effects(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Hold the lock while the next write tool's transaction runs (taken in the tool's own
        thread just before it starts, so the write surely meets it; given back after)."""
        original = ToolExecutor._run_effect

        def locked(executor: ToolExecutor, *args: Any, **kwargs: Any) -> Any:
            if self.taken:
                return original(executor, *args, **kwargs)
            self.take()
            try:
                return original(executor, *args, **kwargs)
            finally:
                self.release()

        monkeypatch.setattr(ToolExecutor, "_run_effect", locked)


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """A busy timeout of a third of a second: the locked write fails fast."""
    return settings.model_copy(update={"db_busy_timeout_s": 0.3})


@pytest.fixture
def lock(fast: Settings) -> Iterator[WriteLock]:
    held = WriteLock(fast.home / "tiller.db")
    yield held
    held.release()


def the_call(result: RunResult, tool: str) -> Any:
    [call] = [c for c in result.trajectory if c.tool == tool]
    return call


def test_a_write_tool_meeting_a_lock_fails_cleanly_and_a_retry_writes_once(
    fast: Settings, lock: WriteLock, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = business_state(fast)
    with Tiller(fast) as tiller:
        lock.around_effects(monkeypatch)
        failed = tiller.ask(TICKET)
        assert lock.taken == 1 and failed.status is RunStatus.COMPLETED
        call = the_call(failed, "create_ticket")
        assert call.status is CallStatus.ERROR and call.error["kind"] == "unavailable"
        assert call.error["message"].startswith(LOCKED)
        assert "locked by another process" in (failed.answer or "") and "Traceback" not in (failed.answer or "")
        assert business_state(fast) == before  # no ticket, no audit row, no ledger entry

        retried = tiller.ask(TICKET, thread_id=failed.thread_id)  # the lock is gone
    assert the_call(retried, "create_ticket").status is CallStatus.EXECUTED
    after = business_state(fast)
    assert after["tickets"] == before["tickets"] + 1 and after["tool_effects"] == before["tool_effects"] + 1
    assert after["audit_log"] == before["audit_log"] + 1


def test_an_approved_refund_meeting_a_lock_keeps_the_money_and_runs_once_on_retry(
    fast: Settings, lock: WriteLock, refunds: Callable[[str], tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Tiller(fast) as tiller:
        paused = tiller.ask(REFUND, user="jane.doe")
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        lock.around_effects(monkeypatch)
        failed = tiller.resume(paused.thread_id)
        call = the_call(failed, "issue_refund")
        assert lock.taken == 1 and failed.status is RunStatus.COMPLETED
        assert call.status is CallStatus.ERROR and call.error["message"].startswith(LOCKED)
        assert refunds("W1000001") == (0, 0)
        assert tiller.approvals.get("acme", paused.pending_approvals[0].id).status == "approved"  # not used up

        again = tiller.ask(REFUND, thread_id=paused.thread_id, user="jane.doe")  # a new call, a new approval
        tiller.decide(again.pending_approvals[0].id, decision="approve", decided_by="rita")
        done = tiller.resume(paused.thread_id)
    assert the_call(done, "issue_refund").status is CallStatus.EXECUTED
    assert refunds("W1000001") == (1, 12999)


def test_a_lock_held_through_the_whole_request_is_a_typed_error(fast: Settings, lock: WriteLock) -> None:
    before = business_state(fast)
    with Tiller(fast) as tiller:
        lock.take()
        with pytest.raises(DatabaseUnavailable, match="locked by another process") as caught:
            tiller.ask(TICKET)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
        lock.release()
        assert the_call(tiller.ask(TICKET), "create_ticket").status is CallStatus.EXECUTED
    assert business_state(fast)["tickets"] == before["tickets"] + 1


@pytest.mark.parametrize(
    ("make_unusable", "expected"),
    [
        (lambda db: db.write_bytes(b"not a database " * 200), "file is not a database"),
        (lambda db: (db.unlink(), db.mkdir()), "unable to open database file"),
    ],
    ids=["not-a-database", "a-directory"],
)
def test_an_unusable_database_file_is_explained_by_the_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, make_unusable: Callable[[Path], Any], expected: str
) -> None:
    make_unusable(settings.home / "tiller.db")
    with pytest.raises(DatabaseUnavailable, match=expected):
        Tiller(settings)
    monkeypatch.setenv("TILLER_HOME", str(settings.home))
    out = CliRunner().invoke(app, ["ask", "hello"])
    assert out.exit_code == 2 and expected in out.output and "TILLER_HOME" in out.output
    assert "Traceback" not in out.output


def test_the_busy_timeout_is_shorter_than_every_write_tools_timeout() -> None:
    """Else a write tool times out while its write still waits for the lock and commits later,
    after the model was told it failed: retried, the ticket is opened twice."""
    busy = Settings().db_busy_timeout_s
    assert all(busy < spec.timeout_s for spec in commerce_tools() if spec.risk.has_side_effects)
