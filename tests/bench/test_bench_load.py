"""The load test runs end to end on loopback (``python -m bench load --quick``): a real
``tiller serve`` subprocess, simulated users, approvals, memory samples and the JSON result.
No timing is asserted here: the measured numbers live in docs/BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from bench.__main__ import main
from bench.load_model import plan_reply
from bench.load_server import LoadUser
from bench.load_users import Sample, SimulatedUser, Workload

pytestmark = pytest.mark.slow


def test_quick_load_completes_without_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The fixed-latency fake (the real OpenAI provider path); the offline model runs in docs/BENCHMARKS.md.
    model, out = "slow:20", tmp_path / "load.json"
    argv = ["load", "--quick", "--duration", "8", "--model", model, "--workdir", str(tmp_path), "--json", str(out)]
    (report,) = main(argv)["load"]

    data = json.loads(out.read_text())
    summary = data["summary"]
    assert set(data) >= {"options", "summary", "latency", "targets", "errors", "memory", "outcomes", "machine"}
    assert {
        "requests_per_s",
        "runs_per_s",
        "errors",
        "rate_limited",
        "error_rate",
        "rss_slope_mb_per_min",
        "p95_overhead_ms",
    } <= set(summary)
    assert summary["requests"] > 0 and summary["runs"] > 0
    assert summary["errors"] == 0, data["errors"]  # 429s are allowed, counted apart
    assert data["memory"] and all(m["rss_mb"] > 0 for m in data["memory"])
    kinds = {row["kind"] for row in data["latency"]}
    assert {"all runs", "create_thread"} <= kinds
    assert {t["target"].split(" (")[0] for t in data["targets"]} >= {"0 non-429 errors", "no memory growth trend"}
    assert summary["model_calls_served"] == summary["model_calls"] > 0  # every call reached the fake server
    collector = data["collector"]  # the server's own tiller_gc_* metrics, read after warm-up and at the end
    assert collector["collections"] > 0 and collector["seconds"] >= 0 and collector["longest_pause_ms_since_start"] > 0
    assert report.summary.requests == summary["requests"]
    assert "| target | measured | verdict |" in capsys.readouterr().out


def test_fake_model_walks_a_refund_through_lookup_approval_and_answer() -> None:
    tools = [{"type": "function", "function": {"name": n}} for n in ("get_order", "issue_refund")]
    user = {"role": "user", "content": "refund $3 on order W1100000, it arrived damaged"}
    first = plan_reply({"messages": [user], "tools": tools})
    assert first["tool_calls"][0]["function"]["name"] == "get_order"
    looked_up = [user, first, {"role": "tool", "content": "order W1100000 delivered"}]
    second = plan_reply({"messages": looked_up, "tools": tools})
    call = second["tool_calls"][0]["function"]
    assert call["name"] == "issue_refund"
    assert json.loads(call["arguments"]) == {"order_id": "W1100000", "amount": "3", "reason": "damaged"}
    done = plan_reply({"messages": [*looked_up, second, {"role": "tool", "content": "refunded $3"}], "tools": tools})
    assert "refunded $3" in done["content"] and not done.get("tool_calls")


def test_a_reviewer_whose_approval_is_blocked_rejects_it_instead_of_failing_the_user() -> None:
    """A long load spends the refundable orders' balances: the approval is then refused by the
    tool's rules (409 ``approval_blocked``), and the simulated reviewer rejects it with a reason."""
    seen: list[tuple[str, dict[str, object]]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content or b"{}")))
        if request.url.path.endswith("/approve"):
            return httpx.Response(409, json={"error": {"code": "approval_blocked", "message": "no balance left"}})
        return httpx.Response(200, json={"approval": {"status": "rejected"}})

    async def decide() -> tuple[Sample, dict[str, object]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(reply), base_url="http://t") as client:
            work = Workload(["W1"], ["W1"], ["q"], 0.0, 1.0, 0.5, 0.0)
            user = SimulatedUser(LoadUser("u", "tk_u", "tk_r"), client, work, seed=1)
            sample = Sample("approve", "refund", 0.0, 0.0, 0)
            return sample, await user._approve(sample, "apr_1")

    sample, decided = asyncio.run(decide())
    assert [path for path, _ in seen] == ["/v1/approvals/apr_1/approve", "/v1/approvals/apr_1/reject"]
    assert seen[1][1]["reason"]  # a rejection needs a reason
    assert (sample.http_status, sample.run_status, sample.error) == (200, "blocked, rejected", None)
    assert decided == {"approval": {"status": "rejected"}}
