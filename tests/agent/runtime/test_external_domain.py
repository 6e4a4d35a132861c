"""A domain written outside this repository — the one `tiller domains new` scaffolds, put on the
path the way `pip install -e` would, chosen by an import path — runs through the CLI, the approval
flow, a workflow, the HTTP service and the eval harness in worker processes, with no monkeypatching
of Tiller."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agent.config import load_settings
from agent.interfaces.cli.app import app
from agent.interfaces.service.app import create_app
from evals.cli import app as eval_app
from tests.agent.interfaces.service.conftest import stream

pytestmark = pytest.mark.timeout(600)


def test_a_scaffolded_domain_outside_the_repository_runs_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    where = tmp_path / "my-desk"
    made = runner.invoke(app, ["domains", "new", "my-desk", "--dir", str(where)])
    assert made.exit_code == 0, made.output
    # What `pip install -e` gives: the package importable here and in every child process.
    monkeypatch.syspath_prepend(str(where))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(where), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TILLER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    monkeypatch.setenv("COLUMNS", "200")
    spec = "my_desk.domain:domain"

    def tiller(*args: str) -> str:
        out = runner.invoke(app, ["--domain", spec, *args], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return out.output

    tiller("db", "upgrade")
    tiller("db", "seed")
    tiller("index")
    status = json.loads(tiller("ask", "What is the status of item I1002?", "--json"))
    assert status["status"] == "completed" and [c["tool"] for c in status["trajectory"]] == ["get_item"]
    assert "I1002" in status["answer"]

    paused = json.loads(tiller("ask", "Retire item I1002, it is broken", "--json"))
    assert paused["status"] == "awaiting_approval"
    [approval] = paused["pending_approvals"]
    assert approval["tool"] == "retire_item" and approval["args"]["item_id"] == "I1002"
    approved = tiller("approvals", "approve", approval["id"], "--as", "rita")  # and the thread continues
    assert "retired" in approved
    assert "executed" in tiller("approvals", "show", approval["id"])  # the effect ran, once
    again = json.loads(tiller("ask", "Retire item I1002, it is broken", "--json"))
    [second] = again["pending_approvals"]
    refused = tiller("approvals", "approve", second["id"], "--as", "rita")  # the scaffold's own rule
    assert "already retired" in refused and "tool_crashed" not in refused
    assert "failed" in tiller("approvals", "show", second["id"])

    monkeypatch.setenv("TILLER_DOMAIN", spec)
    workflow = tmp_path / "desk.yaml"
    workflow.write_text(
        'name: desk\napproval: deny\ntasks:\n  - {id: status, prompt: "What is the status of item I1003?"}\n'
    )
    ran = runner.invoke(app, ["run", str(workflow), "--output", str(tmp_path / "out")], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    [line] = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert json.loads(line)["status"] == "completed" and "I1003" in json.loads(line)["answer"]

    # The service `tiller serve` runs, on the same settings (the domain from TILLER_DOMAIN).
    with TestClient(create_app(load_settings())) as client:
        _, key = client.app.state.context.keys.create(tenant="demo", role="user", name="desk.user")  # type: ignore[attr-defined]
        auth = {"Authorization": f"Bearer {key}"}
        thread = client.post("/v1/threads", json={"title": "desk"}, headers=auth).json()["id"]
        events = stream(
            client, "POST", f"/v1/threads/{thread}/messages", auth, json={"content": "status of item I1002?"}
        )
    status = events[-1][1]
    assert status["status"] == "completed" and "I1002" in status["answer"]
    assert tuple(d["tool"] for k, d in events if k == "tool_call") == ("get_item",)

    # The domain's own scenarios, 100 trials, in worker processes (which import the package anew).
    out = runner.invoke(
        eval_app,
        ["run", str(where / "scenarios"), "-k", "50", "--processes", "2", "--no-traces"],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    assert "(2 passed, 0 failed" in out.output and "100/100" in out.output.replace(" ", "")
