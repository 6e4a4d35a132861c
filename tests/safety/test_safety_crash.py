"""Crash consistency: kill the process (SIGKILL) at each point of a refund's life, then resume.

Points: before the interrupt (approval row stored, step not checkpointed); after the approval
is stored (decided, resumed, tool not started); inside the tool before its commit; after the
commit before the checkpoint. Each point runs ``TILLER_CRASH_TRIALS`` trials (default 20), each
in its own thread, on SQLite and (when ``TILLER_TEST_POSTGRES_URL`` is set) on PostgreSQL. After
every trial: exactly one refund, one ledger entry, one audit row, and an approval requested,
approved and executed exactly once. Concurrent duplicate decisions and resumes execute once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from agent.config import Settings
from agent.errors import ApprovalConflict, ThreadBusy
from agent.loop.state import RunStatus
from agent.runtime import Tiller
from tests.conftest import seeded_postgres
from tests.safety import crash_child
from tests.safety.crash_child import AMOUNT_CENTS, ORDER, POINTS, REVIEWER, runtime

TRIALS = int(os.environ.get("TILLER_CRASH_TRIALS", "20"))
BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]


@pytest.fixture(scope="module")
def forkserver() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.safety.crash_child"])
    return ctx


@pytest.fixture
def backend_settings(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield settings
        return
    with seeded_postgres(tmp_path / ".pg", prefix="tiller_crash") as pg:
        yield pg


def _rows(settings: Settings, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(settings.db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


REFUNDS = "SELECT r.amount_cents FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.public_id = :o"
EXPECTED = {"audit": 1, "ledger": 1, "approvals": ["executed"], "events": ["requested", "approved", "executed"]}


def _invariants(settings: Settings, thread_id: str) -> dict[str, Any]:
    """What one trial left behind, for its thread."""
    t = {"t": thread_id}
    audit = "SELECT id FROM audit_log WHERE thread_id = :t AND action = 'issue_refund'"
    events = "SELECT e.event FROM approval_events e JOIN approvals a ON a.id = e.approval_id WHERE a.thread_id = :t"
    return {
        "audit": len(_rows(settings, audit, **t)),
        "ledger": len(_rows(settings, "SELECT key FROM tool_effects WHERE thread_id = :t", **t)),
        "approvals": [r[0] for r in _rows(settings, "SELECT status FROM approvals WHERE thread_id = :t", **t)],
        "events": [r[0] for r in _rows(settings, events + " ORDER BY e.id", **t)],
    }


def _kill_at(ctx: Any, settings: Settings, point: str, thread_id: str, approval_id: str | None) -> None:
    args = (str(settings.home), settings.database_url, point, thread_id, approval_id)
    child = ctx.Process(target=crash_child.crash, args=args)
    child.start()
    child.join(120)
    assert child.exitcode == -9, f"{point}: the child was not killed (exit code {child.exitcode})"


def _finish(tiller: Tiller, thread_id: str) -> RunStatus:
    """Recover as an operator would: resume, deciding a still-pending approval."""
    result = tiller.resume(thread_id)
    if result.status is RunStatus.AWAITING_APPROVAL:
        tiller.decide(result.pending_approvals[0].id, decision="approve", decided_by=REVIEWER)
        result = tiller.resume(thread_id)
    assert tiller.resume(thread_id).status is result.status  # a second resume is a no-op
    return result.status


def _trial(ctx: Any, tiller: Tiller, point: str, thread_id: str) -> None:
    """One refund, killed at ``point`` in a child process, then recovered by ``tiller``."""
    approval_id = None
    if point != "before_interrupt":
        paused = tiller.ask("refund $1 on W1000001, it arrived damaged", thread_id=thread_id)
        approval_id = paused.pending_approvals[0].id
        if point != "after_approval_stored":
            tiller.decide(approval_id, decision="approve", decided_by=REVIEWER)
    _kill_at(ctx, tiller.settings, point, thread_id, approval_id)
    assert _finish(tiller, thread_id) is RunStatus.COMPLETED


@pytest.mark.parametrize("backend_settings", BACKENDS, indirect=True)
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_any_point_neither_duplicates_nor_loses_the_refund(
    forkserver: Any, backend_settings: Settings, point: str
) -> None:
    settings = backend_settings
    assert _rows(settings, REFUNDS, o=ORDER) == []
    problems = []
    with runtime(settings) as tiller:
        for trial in range(TRIALS):
            thread_id = f"t-crash-{point}-{trial}"
            _trial(forkserver, tiller, point, thread_id)
            found = _invariants(settings, thread_id)
            if found != EXPECTED:
                problems.append(f"trial {trial}: {found}")
    assert problems == []
    assert _rows(settings, REFUNDS, o=ORDER) == [(AMOUNT_CENTS,)] * TRIALS  # none lost, none duplicated


@pytest.mark.parametrize("backend_settings", BACKENDS, indirect=True)
def test_ten_identical_decisions_at_once_are_recorded_once(backend_settings: Settings) -> None:
    with runtime(backend_settings) as tiller:
        approval_id = tiller.ask("refund $1 on W1000001", thread_id="t-race").pending_approvals[0].id
        outcomes = _at_once(lambda: tiller.decide(approval_id, decision="approve", decided_by=REVIEWER))
        assert sorted(outcomes) == ["ApprovalConflict"] * 9 + ["ok"]
        assert _finish(tiller, "t-race") is RunStatus.COMPLETED
    assert _invariants(backend_settings, "t-race") == EXPECTED
    assert _rows(backend_settings, REFUNDS, o=ORDER) == [(AMOUNT_CENTS,)]


@pytest.mark.parametrize("backend_settings", BACKENDS, indirect=True)
def test_ten_resumes_at_once_execute_once(backend_settings: Settings) -> None:
    with runtime(backend_settings) as tiller:
        approval_id = tiller.ask("refund $1 on W1000001", thread_id="t-race").pending_approvals[0].id
        tiller.decide(approval_id, decision="approve", decided_by=REVIEWER)
        outcomes = _at_once(lambda: tiller.resume("t-race"))
        assert set(outcomes) <= {"ok", "ThreadBusy"}
        assert _finish(tiller, "t-race") is RunStatus.COMPLETED
    assert _invariants(backend_settings, "t-race") == EXPECTED
    assert _rows(backend_settings, REFUNDS, o=ORDER) == [(AMOUNT_CENTS,)]


def _at_once(action: Callable[[], object], n: int = 10) -> list[str]:
    """Run ``action`` in ``n`` threads released together; ``ok`` or the error's class name each."""
    outcomes: list[str] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        try:
            action()
            outcomes.append("ok")
        except (ApprovalConflict, ThreadBusy) as exc:
            outcomes.append(type(exc).__name__)

    workers = [threading.Thread(target=run) for _ in range(n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes
