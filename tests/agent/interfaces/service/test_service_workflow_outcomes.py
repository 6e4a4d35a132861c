"""Workflow results tell the real outcome: a refund the tool refused is a failed task, a thread
another process resumed is followed rather than an error, and a rerun keeps one line per task."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from agent.errors import ThreadBusy
from agent.interfaces.service.context import ServiceContext
from agent.workflows.files import ResultsFolder
from agent.workflows.runner import WorkflowRunner
from agent.workflows.spec import expand_tasks, parse_workflow
from tests.agent.interfaces.service.test_service_approvals import refunded_cents
from tests.agent.runtime.test_review import refund_in_full_elsewhere


def approve_and_resume_when_asked(ctx: ServiceContext, order_id: str) -> threading.Thread:
    """A reviewer who approves and continues the thread at once (`tiller approvals approve`)."""

    def review() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for a in ctx.tiller.approvals.list("acme", status="pending"):
                if a.requested_by.startswith("workflow") and a.args.get("order_id") == order_id:
                    ctx.tiller.decide(a.id, decision="approve", decided_by="rita", tenant="acme")
                    # ThreadBusy: the workflow's own poll saw the decision first and resumed it.
                    with contextlib.suppress(ThreadBusy):
                        ctx.tiller.resume(a.thread_id, tenant="acme")
                    return
            time.sleep(0.02)

    reviewer = threading.Thread(target=review)
    reviewer.start()
    return reviewer


def runner_for(ctx: ServiceContext, workflow_spec: dict, folder: ResultsFolder) -> WorkflowRunner:
    workflow = parse_workflow(workflow_spec)
    return WorkflowRunner(ctx.tiller, workflow, run_id=folder.run_id, tenant="acme", user="workflow.truth", poll_s=0.05)


def test_queue_mode_follows_a_thread_another_process_resumed(ctx: ServiceContext, tmp_path: Path) -> None:
    spec = {
        "name": "race",
        "approval": "queue",
        "tasks": [{"id": "r", "prompt": "refund $3 on order W1000008, damaged"}],
    }
    workflow = parse_workflow(spec)
    folder = ResultsFolder(tmp_path / "out", workflow)
    reviewer = approve_and_resume_when_asked(ctx, "W1000008")
    summary = runner_for(ctx, spec, folder).run(expand_tasks(workflow), folder)
    reviewer.join()
    outcome = folder.latest()["r"]
    assert summary.statuses == {"completed": 1}, outcome
    assert outcome["status"] == "completed" and outcome["error"] is None
    assert refunded_cents(ctx, "W1000008").count(300) == 1
    folder.close()


def test_a_refused_refund_is_a_failed_task_and_a_rerun_keeps_one_line_per_task(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    spec = {
        "name": "refused",
        "approval": "queue",
        "approval_wait_s": 0.2,
        "tasks": [
            {"id": "status", "prompt": "where is my order W1000002?"},
            {"id": "too-much", "prompt": "refund $90 on order W1000004, it arrived damaged"},
        ],
    }
    workflow = parse_workflow(spec)
    tasks = expand_tasks(workflow)
    folder = ResultsFolder(tmp_path / "out", workflow)
    runner = runner_for(ctx, spec, folder)
    first = runner.run(tasks, folder)
    assert first.statuses == {"completed": 1, "awaiting_approval": 1}
    [approval] = folder.latest()["too-much"]["approvals"]
    ctx.tiller.decide(approval["id"], decision="approve", decided_by="rita", tenant="acme")
    refund_in_full_elsewhere(ctx.tiller, "W1000004")  # the facts change before the task continues
    second = runner.run(tasks, folder)
    outcome = folder.latest()["too-much"]
    assert second.statuses == {"failed": 1}
    assert outcome["status"] == "failed" and "fully refunded already" in outcome["error"]
    lines = folder.results.read_text().splitlines()
    assert len(lines) == 2  # one per task, the latest outcome
    assert ctx.tiller.approvals.get("acme", approval["id"]).status == "failed"
    folder.close()
