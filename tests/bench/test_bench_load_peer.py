"""LangGraph Server beside Tiller in the load test (``--runtimes tiller,langgraph-server``).

The end-to-end run needs the peer's venv (``python -m bench peer-venv``; elsewhere than the default
place: ``TILLER_TEST_PEER_VENV``) and is skipped, saying so, without it; the client adapter, the
process-tree probe and the side-by-side table are tested here without a server. No timing is
asserted: the measured numbers live in docs/BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.load import LoadOptions
from bench.load_peer import (
    UNPINNED,
    PeerNotInstalled,
    installed_pins,
    langgraph_executable,
    project_requirements,
)
from bench.load_peer_client import StreamReader, wait_result
from bench.load_report import comparison, ratio
from bench.load_server import process_tree, rss_mb, tree_cpu_seconds, tree_rss_mb

PEER_VENV_ENV = "TILLER_TEST_PEER_VENV"
"""Where the end-to-end test finds LangGraph Server's venv when it is not at the default place."""


def _ai(node_calls: str = "get_order") -> dict[str, object]:
    return {"type": "ai", "content": "", "tool_calls": [{"name": node_calls, "args": {}, "id": "c1"}]}


def test_stream_counts_model_calls_from_the_model_node_and_sees_the_interrupt() -> None:
    reader = StreamReader()
    reader.feed("metadata", {"run_id": "r1"})
    reader.feed("updates", {"model": {"messages": [_ai()]}})
    reader.feed("updates", {"tools": {"messages": [{"type": "tool", "content": "{}"}]}})
    reader.feed("updates", {"model": {"messages": [_ai("issue_refund")]}})
    # The approval hook rewrites the AI message: an update, not a model call.
    reader.feed("updates", {"HumanInTheLoopMiddleware.after_model": {"messages": [_ai("issue_refund")]}})
    reader.feed("messages", [{"type": "AIMessageChunk", "content": "tok"}, {}])
    reader.feed("updates", {"__interrupt__": [{"value": {"action_requests": []}, "id": "i1"}]})
    result = reader.result()
    assert result["status"] == "awaiting_approval"
    assert result["usage"] == {"steps": 2}


def test_stream_error_event_fails_the_run() -> None:
    reader = StreamReader()
    reader.feed("updates", {"model": {"messages": [_ai()]}})
    reader.feed("error", {"error": "GraphRecursionError", "message": "too deep"})
    assert reader.result() == {"status": "failed", "error": {"code": "GraphRecursionError", "message": "too deep"}}


def test_wait_result_counts_the_model_calls_after_the_last_human_message() -> None:
    earlier = [{"type": "human", "content": "hi"}, {"type": "ai", "content": "hello"}]
    turn = [{"type": "human", "content": "where is W1000001?"}, _ai(), {"type": "tool"}, {"type": "ai", "content": "x"}]
    assert wait_result({"messages": earlier + turn}) == {"status": "completed", "usage": {"steps": 2}, "interrupts": []}
    paused = wait_result({"messages": turn[:2], "__interrupt__": [{"id": "i1"}]})
    assert paused["status"] == "awaiting_approval" and paused["usage"] == {"steps": 1}
    failed = wait_result({"__error__": {"error": "ValueError", "message": "boom"}})
    assert failed == {"status": "failed", "error": {"code": "ValueError", "message": "boom"}}


def test_probe_measures_the_whole_process_tree() -> None:
    child = "import time; x = bytearray(40 * 2**20); time.sleep(30)"
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while len(process_tree(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        tree = process_tree(parent.pid)
        assert len(tree) == 2 and tree[0] == parent.pid
        time.sleep(0.5)  # the child has touched its 40 MiB
        parent_rss, child_rss = rss_mb(parent.pid), rss_mb(tree[1])
        assert parent_rss is not None and child_rss is not None and child_rss > 40
        total = tree_rss_mb(parent.pid)
        assert total is not None and total == pytest.approx(parent_rss + child_rss, abs=2)
        assert (tree_cpu_seconds(parent.pid) or 0.0) > 0
    finally:
        for pid in reversed(process_tree(parent.pid)[1:]):
            subprocess.run(["kill", str(pid)], check=False)
        parent.kill()
        parent.wait()
    assert tree_rss_mb(parent.pid) is None  # gone: the probe skips the sample


def test_side_by_side_divides_the_first_runtime_by_each_other() -> None:
    from bench.load_report import LoadSummary

    def summary(runtime: str, runs_per_s: float, p95: float, cpu_ms: float | None) -> LoadSummary:
        numbers = dict.fromkeys(("requests_per_s", "error_rate", "rss_first_mb", "rss_max_mb"), 1.0)
        numbers |= dict.fromkeys(("rss_slope_mb_per_min", "load_min", "load_mean", "load_max"), 1.0)
        return LoadSummary(
            runtime=runtime, model="slow:200", users=20, duration_s=90, warmup_s=15, requests=1, runs=1,
            errors=0, rate_limited=0, model_calls=1, model_calls_served=1, runs_per_s=runs_per_s,
            rss_last_mb=200.0, server_cpu_pct=90.0, server_cpu_ms_per_run=cpu_ms, p50_overhead_ms=p95 / 2,
            p95_overhead_ms=p95, p99_overhead_ms=p95 * 2, **numbers,
        )  # fmt: skip

    table = comparison([summary("tiller", 30.0, 100.0, 15.0), summary("langgraph-server", 12.0, 1500.0, None)])
    assert "| tiller | 30.00 |" in table and "| langgraph-server | 12.00 |" in table
    assert "| runs/s | 2.50× |" in table
    assert "| overhead p95 | 0.07× |" in table
    assert "| server CPU ms/run | – |" in table  # unknown on one side: no ratio rather than a wrong one
    assert ratio(1.0, 0.0) is None and ratio(float("nan"), 1.0) is None


def test_the_peer_refuses_the_in_process_offline_model() -> None:
    with pytest.raises(ValueError, match="needs --model slow"):
        LoadOptions(runtime="langgraph-server", model="offline")
    with pytest.raises(ValueError, match="--runtime must be one of"):
        LoadOptions(runtime="langgraph-cloud")
    with pytest.raises(ValueError, match="at least 1"):
        LoadOptions(runtime="langgraph-server", n_jobs_per_worker=0)


def test_a_missing_peer_venv_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(PeerNotInstalled, match="python -m bench peer-venv"):
        langgraph_executable(tmp_path / "nowhere")


def test_peer_venv_pins_everything_shared_but_what_langgraph_api_refuses() -> None:
    pins = {p.split("==")[0] for p in installed_pins()}
    assert {"langgraph", "langchain-core", "sqlalchemy", "bm25s"} <= pins
    assert not pins & {*UNPINNED, "tiller"}
    assert any(r.startswith("langchain>=") for r in project_requirements())


@pytest.mark.slow
def test_quick_load_runs_tiller_and_langgraph_server_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("langchain.agents", reason="the bench extra (langchain) is not installed")
    venv = os.environ.get(PEER_VENV_ENV)  # the suite drops TILLER_* variables, TILLER_PEER_VENV too
    try:
        langgraph_executable(Path(venv) if venv else None)
    except PeerNotInstalled as exc:
        pytest.skip(f"{exc} (here: {PEER_VENV_ENV})")
    from bench.__main__ import main

    out = tmp_path / "load.json"
    argv = ["load", "--quick", "--duration", "8", "--model", "slow:20", "--runtimes", "tiller,langgraph-server"]
    argv += ["--peer-venv", venv] if venv else []
    reports = main([*argv, "--n-jobs-per-worker", "3", "--workdir", str(tmp_path), "--json", str(out)])["load"]

    runs = json.loads(out.read_text())["runs"]
    assert [r["summary"]["runtime"] for r in runs] == [r.summary.runtime for r in reports]
    assert [r.summary.runtime for r in reports] == ["tiller", "langgraph-server"]
    for run in runs:
        summary = run["summary"]
        assert summary["errors"] == 0, run["errors"]
        assert summary["model_calls_served"] == summary["model_calls"] > 0  # the peer's calls are counted right
        assert summary["server_cpu_ms_per_run"] > 0 and all(m["rss_mb"] > 0 for m in run["memory"])
    peer = runs[1]
    assert peer["server_env"]["langgraph-api"] == "0.16.7"
    assert "--n-jobs-per-worker 3" in peer["server_env"]["command"]
    for run in runs:
        # Every refund paused (Tiller's approval, the peer's interrupt), then ran once after the
        # approval: one refund row per completed continuation, none lost to concurrent writers.
        paused, done = run["outcomes"]["message: refund"], run["outcomes"]["approve→done: refund"]
        assert set(paused) == {"awaiting_approval"} and done == {"completed": paused["awaiting_approval"]}
        with sqlite3.connect(tmp_path / run["summary"]["runtime"] / "home" / "tiller.db") as db:
            (refunds,) = db.execute("select count(*) from refunds where created_by like 'load.%'").fetchone()
        assert refunds == done["completed"] > 0, run["summary"]["runtime"]
    printed = capsys.readouterr().out
    assert "## Side by side" in printed and "| runs/s | " in printed and "tiller ÷ langgraph-server" in printed
