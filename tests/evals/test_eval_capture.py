"""`tiller eval capture`: a recorded thread becomes a scenario that replays and passes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agent.config import Settings
from agent.runtime import Tiller
from evals.cli import app


def test_a_captured_thread_replays_as_a_passing_scenario(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Tiller(settings) as tiller:  # the offline model, as in a chat
        paused = tiller.ask("refund order W1000001, it arrived damaged", thread_id="t-capture")
        tiller.decide(paused.pending_approvals[0].id, decision="edit", decided_by="rita", edits={"amount": "100.00"})
        tiller.resume("t-capture")

    monkeypatch.setenv("TILLER_HOME", str(settings.home))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    target = tmp_path / "captured.yaml"
    runner = CliRunner()
    out = runner.invoke(app, ["capture", "t-capture", "-o", str(target), "--id", "refund-edit-captured"])
    assert out.exit_code == 0, out.output
    scenario = yaml.safe_load(target.read_text())
    assert scenario["turns"] == ["refund order W1000001, it arrived damaged"]
    edited = {"amount": "100", "order_id": "W1000001", "reason": "damaged"}
    assert scenario["reviewer"] == [{"decision": "edit", "args": edited}]
    assert [c["tool"] for c in scenario["expect"]["trajectory"]["calls"]] == ["get_order", "issue_refund"]

    replay = runner.invoke(app, ["run", str(target), "--model", "offline"])
    assert replay.exit_code == 0, replay.output

    missing = runner.invoke(app, ["capture", "t-nope", "-o", str(tmp_path / "x.yaml")])
    assert missing.exit_code == 2 and "no thread t-nope" in missing.output
