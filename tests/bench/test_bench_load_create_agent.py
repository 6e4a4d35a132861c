"""``create_agent`` in a bare ASGI app as a runtime of the load test (``--runtime create-agent``).

No timing is asserted: the measured numbers live in docs/BENCHMARKS.md."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.load import LoadOptions


def test_create_agent_refuses_the_in_process_offline_model() -> None:
    with pytest.raises(ValueError, match="--runtime create-agent needs --model slow"):
        LoadOptions(runtime="create-agent", model="offline")


def test_a_run_body_starts_a_turn_or_resumes_the_interrupt() -> None:
    pytest.importorskip("langchain.agents", reason="the bench extra (langchain) is not installed")
    from langgraph.types import Command

    from bench.create_agent_app import dumps, run_input

    turn = {"messages": [{"role": "user", "content": "hi"}]}
    assert run_input({"assistant_id": "agent", "input": turn}) == turn
    resumed = run_input({"command": {"resume": {"decisions": [{"type": "approve"}]}}})
    assert isinstance(resumed, Command) and resumed.resume == {"decisions": [{"type": "approve"}]}

    @dataclass
    class Paused:
        value: dict[str, int]
        id: str

    from langchain_core.messages import AIMessage

    data = json.loads(dumps({"m": AIMessage("ok"), "i": [Paused({"n": 1}, "x")], "other": object}))
    assert data["m"]["type"] == "ai" and data["m"]["content"] == "ok"
    assert data["i"] == [{"value": {"n": 1}, "id": "x"}] and isinstance(data["other"], str)


@pytest.mark.slow
def test_quick_load_on_create_agent_pauses_and_completes_every_refund(tmp_path: Path) -> None:
    pytest.importorskip("langchain.agents", reason="the bench extra (langchain) is not installed")
    from bench.__main__ import main

    out = tmp_path / "load.json"
    argv = ["load", "--quick", "--duration", "8", "--model", "slow:20", "--runtimes", "create-agent,create-agent-hitl"]
    reports = main([*argv, "--workdir", str(tmp_path), "--json", str(out)])["load"]

    runs = json.loads(out.read_text())["runs"]
    assert [r["summary"]["runtime"] for r in runs] == [r.summary.runtime for r in reports]
    assert [r.summary.runtime for r in reports] == ["create-agent", "create-agent-hitl"]
    assert [r["server_env"]["middleware"] for r in runs] == [
        "the peer's (bench/peer_graph.py)",
        "HumanInTheLoopMiddleware",
    ]
    for run in runs:
        summary = run["summary"]
        assert summary["errors"] == 0, run["errors"]
        assert summary["model_calls_served"] == summary["model_calls"] > 0
        assert summary["server_cpu_ms_per_run"] > 0 and all(m["rss_mb"] > 0 for m in run["memory"])
        assert run["collector"] is not None and run["collector"]["collections"] >= 0  # its /metrics answered
        # Every refund paused at the interrupt, then ran once after the approval.
        paused, done = run["outcomes"]["message: refund"], run["outcomes"]["approve→done: refund"]
        assert set(paused) == {"awaiting_approval"} and done == {"completed": paused["awaiting_approval"]}
        with sqlite3.connect(tmp_path / summary["runtime"] / "home" / "tiller.db") as db:
            (refunds,) = db.execute("select count(*) from refunds where created_by like 'load.%'").fetchone()
        assert refunds == done["completed"] > 0
