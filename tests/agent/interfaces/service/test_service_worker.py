"""``tiller worker`` on PostgreSQL: 200 queued tasks, 3 workers, one killed mid-task — every task
is done, none is run twice to completion, and each side effect happens once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from agent.config import Settings
from agent.persistence.approvals import ApprovalStore
from agent.persistence.database import open_database
from agent.persistence.tables import TraceRunRow, WorkflowRunRow, WorkflowTaskRow
from agent.workflows.rows import RunSink
from agent.workflows.spec import expand_tasks, parse_workflow
from tools.domain import load_domain

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
LOOKUPS = ["where is my order W1000002?", "what is the status of order W1000003?", "where is my order W1000007?"]


def spawn_worker(settings: Settings) -> subprocess.Popen[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TILLER_")},
        "TILLER_HOME": str(settings.home),
        "TILLER_DATABASE_URL": str(settings.database_url),
        "TILLER_RETRIEVAL_MODE": "bm25",
    }
    command = [
        sys.executable,
        "-c",
        "from agent.interfaces.cli.app import main; main()",
        "worker",
        "--concurrency",
        "2",
        "--lease-s",
        "2",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_workers_share_the_queue_and_a_killed_worker_loses_nothing(pg_settings: Settings) -> None:
    engine, sessions = open_database(str(pg_settings.database_url), require=load_domain("commerce"))
    prompts = [LOOKUPS[n % 3] for n in range(198)]
    prompts += ["refund order W1000001, it arrived damaged", "refund $10 on order W1000004, it arrived damaged"]
    workflow = parse_workflow({"name": "bulk", "approval": "queue", "tasks": [{"prompt": p} for p in prompts]})
    tasks = expand_tasks(workflow)
    RunSink.create(
        sessions, run_id="wfr_bulk", tenant="acme", requested_by="workflow.bulk", workflow=workflow,
        tasks=tasks, concurrency=2, executor="queue",
    )  # fmt: skip
    workers = [spawn_worker(pg_settings) for _ in range(3)]
    approvals = ApprovalStore(sessions, ttl_s=3600)
    killed_task: int | None = None
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            with sessions() as session:
                if killed_task is None:
                    owner = f"%:{workers[0].pid}"
                    killed_task = session.scalar(
                        select(WorkflowTaskRow.id).where(
                            WorkflowTaskRow.status == "running", WorkflowTaskRow.lease_owner.like(owner)
                        )
                    )
                    if killed_task is not None:
                        workers[0].send_signal(signal.SIGKILL)  # mid-task: its lease must expire
                status = session.scalar(select(WorkflowRunRow.status).where(WorkflowRunRow.id == "wfr_bulk"))
            if status == "finished":
                break
            for approval in approvals.list("acme", status="pending"):
                approvals.decide("acme", approval.id, decision="approve", decided_by="rita")
            time.sleep(0.02)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert status == "finished", outputs
    assert killed_task is not None and workers[0].returncode == -signal.SIGKILL

    with sessions() as session:
        rows = session.scalars(select(WorkflowTaskRow).where(WorkflowTaskRow.run_id == "wfr_bulk")).all()
        assert len(rows) == 200 and {r.status for r in rows} == {"completed"}
        reclaimed = session.get(WorkflowTaskRow, killed_task)
        assert reclaimed is not None and reclaimed.attempts >= 2 and reclaimed.status == "completed"
        asks = session.execute(
            select(TraceRunRow.thread_id, func.count())
            .where(TraceRunRow.thread_id.like("wf-wfr_bulk-%"), TraceRunRow.kind == "ask")
            .group_by(TraceRunRow.thread_id)
        ).all()
        assert max(count for _, count in asks) == 1  # no task was asked twice
        refunds = session.execute(
            text("SELECT o.public_id, count(*) FROM refunds r JOIN orders o ON o.id = r.order_id "
                 "WHERE o.public_id IN ('W1000001', 'W1000004') GROUP BY o.public_id ORDER BY 1")
        ).all()  # fmt: skip
    assert [tuple(r) for r in refunds] == [("W1000001", 1), ("W1000004", 2)]  # W1000004 had one refund seeded
    engine.dispose()
