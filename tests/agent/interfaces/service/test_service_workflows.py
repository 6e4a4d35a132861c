"""Scripted workflow runs: the spec, queue and deny modes, resuming, the CLI and the API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agent.config import Settings
from agent.errors import ConfigError
from agent.interfaces.cli.app import app as cli
from agent.interfaces.service.context import ServiceContext
from agent.workflows.files import ResultsFolder
from agent.workflows.runner import WorkflowRunner
from agent.workflows.spec import expand_tasks, load_workflow, parse_workflow, read_inputs
from tests.agent.interfaces.service.conftest import MakeKey
from tests.agent.interfaces.service.test_service_approvals import refunded_cents

EXAMPLES = Path(__file__).resolve().parents[4] / "scenarios" / "workflows"


def test_workflow_files_and_their_errors(tmp_path: Path) -> None:
    refunds = load_workflow(EXAMPLES / "damaged-refunds.yaml")
    tasks = expand_tasks(refunds, read_inputs(EXAMPLES / "damaged-refunds.jsonl"))
    assert [(t.id, t.prompt) for t in tasks] == [
        ("W1000001", "refund $129.99 on order W1000001, it arrived damaged"),
        ("W1000004", "refund $25 on order W1000004, it arrived broken"),
    ]
    assert len(expand_tasks(load_workflow(EXAMPLES / "order-questions.yaml"))) == 4

    def error(text: str, records: list[dict[str, Any]] | None = None) -> str:
        (tmp_path / "w.yaml").write_text(text)
        with pytest.raises(ConfigError) as caught:
            expand_tasks(load_workflow(tmp_path / "w.yaml"), records)
        return str(caught.value)

    assert "line 3: not valid YAML" in error("name: x\ntasks: [a\nb: c: d\n")
    assert "colour" in error("name: x\ncolour: red\ntasks: [{prompt: hi}]")
    assert "unknown limits ['max_stepz']" in error("name: x\nlimits: {max_stepz: 3}\ntasks: [{prompt: hi}]")
    assert "inputs line 7: no field 'order_id'" in error("name: x\nprompt: 'refund {order_id}'", [{"_line": 7}])
    assert "used twice" in error("name: x\ntasks: [{id: a, prompt: hi}, {id: a, prompt: ho}]")
    assert "has no tasks" in error("name: x\n")
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\nnot json\n')
    with pytest.raises(ConfigError, match=r"bad\.jsonl line 2: not valid JSON"):
        read_inputs(tmp_path / "bad.jsonl")


def decide_when_asked(ctx: ServiceContext, decisions: dict[str, tuple[str, str | None]]) -> threading.Thread:
    """A reviewer in another thread: decides each order's refund (by order id) once it is asked."""

    def review() -> None:
        deadline = time.monotonic() + 30
        left = dict(decisions)
        while left and time.monotonic() < deadline:
            for a in ctx.tiller.approvals.list("acme", status="pending"):
                order = a.args.get("order_id")
                if a.requested_by.startswith("workflow") and order in left:
                    decision, reason = left.pop(order)
                    ctx.tiller.decide(a.id, decision=decision, decided_by="rita", tenant="acme", reason=reason)  # type: ignore[arg-type]
            time.sleep(0.05)

    reviewer = threading.Thread(target=review)
    reviewer.start()
    return reviewer


def test_queued_approvals_decided_mid_run_finish_the_run(ctx: ServiceContext, tmp_path: Path) -> None:
    workflow = parse_workflow(
        {
            "name": "mid-run",
            "approval": "queue",
            "prompt": "refund ${amount} on order {order_id}, it arrived damaged",
            "tasks": [{"id": "status", "prompt": "where is my order W1000002?"}],
        }
    )
    tasks = expand_tasks(
        workflow,
        [
            {"id": "r1", "order_id": "W1000001", "amount": "129.99"},
            {"id": "r4", "order_id": "W1000004", "amount": "11"},
        ],
    )
    reviewer = decide_when_asked(ctx, {"W1000001": ("approve", None), "W1000004": ("reject", "needs a photo")})
    folder = ResultsFolder(tmp_path / "out", workflow)
    runner = WorkflowRunner(
        ctx.tiller, workflow, run_id=folder.run_id, tenant="acme", user="workflow.refunds", poll_s=0.05
    )
    summary = runner.run(tasks, folder)
    reviewer.join()
    assert summary.statuses == {"completed": 3}
    outcomes = folder.latest()
    approved, rejected = outcomes["r1"], outcomes["r4"]
    assert approved["approvals"] == [
        {"id": approved["approvals"][0]["id"], "tool": "issue_refund", "decision": "approve", "decided_by": "rita"}
    ]
    assert [c["status"] for c in approved["tool_calls"]] == ["executed", "executed"] and approved["waited_s"] > 0
    assert "Refunded $129.99" in approved["answer"] and approved["usage"]["steps"] >= 2
    assert rejected["approvals"][0]["reason"] == "needs a photo" and "needs a photo" not in rejected["answer"]
    assert outcomes["status"]["tool_calls"][0]["tool"] == "get_order" and outcomes["status"]["approvals"] == []
    assert refunded_cents(ctx, "W1000001") == [12999]
    folder.close()


def test_a_rerun_skips_finished_tasks_and_continues_waiting_ones(ctx: ServiceContext, tmp_path: Path) -> None:
    workflow = parse_workflow(
        {
            "name": "rerun",
            "approval": "queue",
            "approval_wait_s": 0.2,
            "tasks": [
                {"id": "status", "prompt": "where is my order W1000002?"},
                {"id": "refund", "prompt": "refund $7 on order W1000004, it arrived damaged"},
            ],
        }
    )
    tasks = expand_tasks(workflow)
    folder = ResultsFolder(tmp_path / "out", workflow)
    runner = WorkflowRunner(
        ctx.tiller, workflow, run_id=folder.run_id, tenant="acme", user="workflow.rerun", poll_s=0.05
    )
    first = runner.run(tasks, folder)
    assert first.statuses == {"completed": 1, "awaiting_approval": 1}
    assert folder.finished() == {"status"}
    [approval] = folder.latest()["refund"]["approvals"]
    ctx.tiller.decide(approval["id"], decision="approve", decided_by="rita", tenant="acme")

    second = runner.run(tasks, folder)  # as `tiller run` again after an interruption
    assert (second.skipped, second.statuses) == (1, {"completed": 1})
    assert "Refunded $7.00" in folder.latest()["refund"]["answer"]
    thread = runner.thread_id(tasks[1])
    asked = [m for m in ctx.tiller.messages(thread, tenant="acme") if m.type == "human"]
    assert len(asked) == 1  # continued, not asked again
    folder.close()


def test_tiller_run_in_deny_mode_refuses_high_risk_calls(
    module_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ctx: ServiceContext
) -> None:
    monkeypatch.setenv("TILLER_HOME", str(module_settings.home))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    monkeypatch.setenv("COLUMNS", "200")
    run: Callable[[], Any] = lambda: CliRunner().invoke(  # noqa: E731
        cli, ["run", str(EXAMPLES / "order-questions.yaml"), "--output", str(tmp_path / "out")], catch_exceptions=False
    )
    before = len(ctx.tiller.approvals.list("acme", status="all"))
    first = run()
    assert first.exit_code == 0, first.output
    assert "completed │ 4" in first.output and "4 run, 0 already finished" in first.output
    lines = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    refund = next(o for o in lines if o["task_id"] == "refund-W1000004")
    assert [(c["tool"], c["status"]) for c in refund["tool_calls"]] == [
        ("get_order", "executed"),
        ("issue_refund", "denied"),
    ]
    assert "deny mode" in refund["answer"] and refund["approvals"] == []
    assert len(ctx.tiller.approvals.list("acme", status="all")) == before  # nothing queued for reviewers
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["statuses"] == {"completed": 4} and summary["usage"]["tool_calls"] == 4  # the denied call never ran
    again = run()
    assert again.exit_code == 0 and "0 run, 4 already finished" in again.output


def test_workflow_runs_through_the_api(client: TestClient, make_key: MakeKey, ctx: ServiceContext) -> None:
    wes, rita = make_key("user", "wes.workflow"), make_key("reviewer", "rita.workflow")
    workflow = {
        "name": "api-refunds",
        "approval": "queue",
        "prompt": "refund ${amount} on order {order_id}, it arrived damaged",
    }
    bad = client.post("/v1/workflows/runs", json={"workflow": {**workflow, "colour": "red"}}, headers=wes)
    assert bad.status_code == 422 and "colour" in bad.json()["error"]["message"]
    started = client.post(
        "/v1/workflows/runs",
        json={"workflow": workflow, "inputs": [{"id": "a", "order_id": "W1000004", "amount": "2"}]},
        headers=wes,
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    progress = wait_for(
        client, f"/v1/workflows/runs/{run_id}", wes, lambda p: p["counts"].get("awaiting_approval") == 1
    )
    assert progress["status"] == "running" and progress["requested_by"] == "wes.workflow"
    [approval] = [a for a in client.get("/v1/approvals", headers=rita).json() if a["requested_by"] == "wes.workflow"]
    assert client.post(f"/v1/approvals/{approval['id']}/approve", headers=rita).status_code == 200
    done = wait_for(client, f"/v1/workflows/runs/{run_id}", wes, lambda p: p["status"] == "finished")
    assert done["counts"] == {"completed": 1}
    [result] = client.get(f"/v1/workflows/runs/{run_id}/results", headers=wes).json()
    assert result["status"] == "completed" and "Refunded $2.00" in result["outcome"]["answer"]
    assert result["outcome"]["approvals"][0]["decided_by"] == "rita.workflow"
    assert run_id in [r["id"] for r in client.get("/v1/workflows/runs", headers=rita).json()]
    assert client.get(f"/v1/workflows/runs/{run_id}", headers=make_key("user", "xena.other")).status_code == 404
    assert (
        client.get(f"/v1/workflows/runs/{run_id}", headers=make_key("admin", "gwen", tenant="globex")).status_code
        == 404
    )
    resumed = client.post(f"/v1/workflows/runs/{run_id}/resume", headers=wes)
    assert resumed.status_code == 202
    assert wait_for(client, f"/v1/workflows/runs/{run_id}", wes, lambda p: p["status"] == "finished")["counts"] == {
        "completed": 1
    }


def wait_for(
    client: TestClient, url: str, headers: dict[str, str], done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).json()
        if done(body):
            return body  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{url} never reached the expected state: {body}")


def test_queued_api_runs_are_executed_by_a_worker(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext, module_settings: Settings
) -> None:
    """With TILLER_WORKFLOW_EXECUTOR=queue the API only queues; a ``Worker`` (here on SQLite) runs it."""
    from agent.interfaces.service.app import create_app
    from agent.workflows.worker import Worker
    from tests.agent.interfaces.service.conftest import service_settings

    queued_app = create_app(module_settings, service_settings(workflow_executor="queue"), tiller=ctx.tiller)
    zoe, rita = make_key("user", "zoe.queue"), make_key("reviewer", "rita.queue")
    workflow = {
        "name": "queued",
        "tasks": [
            {"id": "s", "prompt": "where is W1000002?"},
            {"id": "r", "prompt": "refund $1 on order W1000004, it arrived damaged"},
        ],
    }
    with TestClient(queued_app) as api:
        started = api.post("/v1/workflows/runs", json={"workflow": workflow}, headers=zoe)
        assert started.status_code == 202 and started.json()["counts"] == {"queued": 2}
        run_id = started.json()["id"]
        assert api.post(f"/v1/workflows/runs/{run_id}/resume", headers=zoe).json()["error"]["code"] == "run_queued"
        stop = threading.Event()
        worker = Worker(module_settings, concurrency=2, lease_s=5, poll_s=0.05, owner="test-worker")
        working = threading.Thread(target=worker.run, args=(stop,))
        working.start()
        try:
            wait_for(api, f"/v1/workflows/runs/{run_id}", zoe, lambda p: p["counts"].get("awaiting_approval") == 1)
            [approval] = [a for a in api.get("/v1/approvals", headers=rita).json() if a["requested_by"] == "zoe.queue"]
            api.post(f"/v1/approvals/{approval['id']}/approve", headers=rita)
            done = wait_for(api, f"/v1/workflows/runs/{run_id}", zoe, lambda p: p["status"] == "finished")
        finally:
            stop.set()
            working.join()
    results = {
        r["task_id"]: r["outcome"] for r in client.get(f"/v1/workflows/runs/{run_id}/results", headers=zoe).json()
    }
    assert done["counts"] == {"completed": 2} and worker.done == 2, results
    assert "Refunded $1.00" in results["r"]["answer"] and results["r"]["approvals"][0]["decided_by"] == "rita.queue"
