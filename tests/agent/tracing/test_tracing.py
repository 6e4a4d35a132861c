"""Every run segment leaves a trace: node, model, tool, guard and approval spans; redacted; priced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from agent.config import Settings
from agent.interfaces.cli.app import app
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.persistence.traces import TraceStore, TraceView
from agent.runtime import Tiller
from tests.agent.runtime.test_runtime import LOOKUP_THEN_REFUND
from tests.fakes.openai_server import API_KEY, fake_openai


def kinds(trace: TraceView, kind: str) -> list[str]:
    return [s.name for s in trace.spans if s.kind == kind]


def test_a_lookup_run_records_nodes_model_calls_tools_and_guards(settings: Settings) -> None:
    model = ScriptedChatModel([{"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000002"}}]}, "UPS."])
    with Tiller(settings, model=model) as tiller:
        result = tiller.ask("where is W1000002?", labels={"scenario": "order-status"})
        assert result.run_id is not None
        trace = tiller.traces.get("acme", result.run_id)
    assert kinds(trace, "node") == ["guard_input", "call_model", "plan_tools", "call_model", "finalize"]
    assert kinds(trace, "model") == ["scripted", "scripted"] and kinds(trace, "tool") == ["get_order"]
    assert kinds(trace, "guard") == ["input", "output"]
    tool = next(s for s in trace.spans if s.kind == "tool")
    assert tool.attributes["status"] == "executed" and tool.attributes["result_bytes"] > 100
    assert tool.attributes["args"] == {"order_id": "W1000002"}
    assert (trace.status, trace.kind, trace.steps, trace.tool_calls) == ("completed", "ask", 2, 1)
    assert trace.labels == {"scenario": "order-status"}
    assert all(s.start_ms >= 0 for s in trace.spans) and trace.duration_ms >= max(s.start_ms for s in trace.spans)
    # Spans sit inside the node that produced them (stamped when written, not when received).
    plan = next(s for s in trace.spans if s.kind == "node" and s.name == "plan_tools")
    first_model = next(s for s in trace.spans if s.kind == "node" and s.name == "call_model")
    model = next(s for s in trace.spans if s.kind == "model")
    assert plan.duration_ms is not None and first_model.duration_ms is not None
    assert (
        plan.start_ms <= tool.start_ms and tool.start_ms + (tool.duration_ms or 0) <= plan.start_ms + plan.duration_ms
    )
    assert first_model.start_ms <= model.start_ms <= first_model.start_ms + first_model.duration_ms


def test_a_trace_that_cannot_be_stored_never_fails_the_run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(session: object, trace: TraceView) -> None:
        raise OperationalError("INSERT INTO trace_runs", {}, Exception("disk I/O error"))

    monkeypatch.setattr(TraceStore, "add", staticmethod(broken))
    model = ScriptedChatModel([{"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000002"}}]}, "UPS."])
    with Tiller(settings, model=model) as tiller:
        result = tiller.ask("where is W1000002?", thread_id="t-untraced")
        assert result.status is RunStatus.COMPLETED and result.answer == "UPS."
        assert tiller.threads.get("acme", "t-untraced").status == "completed"  # the lease was released
        assert tiller.traces.list("acme", limit=10) == []
    assert "could not store trace" in caplog.text


def test_an_approval_shows_in_both_segments(settings: Settings) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        paused = tiller.ask("refund W1000001", thread_id="t-tr")
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        done = tiller.resume("t-tr")
        first, second = (tiller.traces.get("acme", r.run_id or "") for r in (paused, done))
        listed = tiller.traces.list("acme", thread_id="t-tr")
    assert first.status == "awaiting_approval" and kinds(first, "approval") == ["requested"]
    assert any(s.attributes.get("interrupted") for s in first.spans if s.name == "request_approval")
    assert second.kind == "resume" and kinds(second, "approval") == ["decided"]
    assert kinds(second, "tool") == ["issue_refund"]  # get_order ran in the first segment only
    assert {t.id for t in listed} == {first.id, second.id}


def test_secrets_are_redacted_in_traces(settings: Settings) -> None:
    model = ScriptedChatModel(["Your card 4111 1111 1111 1111 is on file."])
    with Tiller(settings, model=model) as tiller:
        trace = tiller.traces.get("acme", tiller.ask("which card?").run_id or "")
    text = trace.model_dump_json()
    assert "4111 1111 1111 1111" not in text and "[REDACTED:card_number]" in text


def test_model_calls_are_priced_from_the_price_table(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    with fake_openai([{"content": "Hello."}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(settings.model_copy(update={"model": "openai:gpt-4o-mini"})) as tiller:
            trace = tiller.traces.get("acme", tiller.ask("hi").run_id or "")
    # 120 input and 15 output tokens at $0.15 / $0.60 per million
    assert trace.cost_usd == pytest.approx((120 * 0.15 + 15 * 0.60) / 1e6)
    [model_span] = [s for s in trace.spans if s.kind == "model"]
    assert model_span.name.startswith("gpt-4o-mini") and model_span.attributes["priced"] is True


def test_traces_cli_lists_shows_and_prunes(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLER_HOME", str(settings.home))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    monkeypatch.setenv("COLUMNS", "200")
    run: Callable[..., Any] = lambda *a: CliRunner().invoke(app, list(a), catch_exceptions=False)  # noqa: E731
    asked = run("ask", "where is my order W1000002?")
    run_id = asked.output.split("trace ")[-1].split()[0]
    assert run_id.startswith("run_")
    assert run_id in run("traces", "list").output
    shown = run("traces", "show", run_id).output
    assert "get_order" in shown and "call_model" in shown and "guard" in shown
    assert run("traces", "show", "run_nope").exit_code == 2
    assert "removed 1 run" in run("traces", "prune", "--older-than", "0s").output
    assert run("traces", "prune", "--older-than", "soon").exit_code == 2


def test_costs_per_tenant_model_and_projection(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.tracing.costs import cost_report, parse_volume, projection
    from tools.db import utcnow

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    replies = [{"content": "Hello."}, {"content": "Hi again."}]
    with fake_openai(replies) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(settings.model_copy(update={"model": "openai:gpt-4o-mini"})) as tiller:
            tiller.ask("hi")
            tiller.ask("hello", tenant="globex", user="globex.agent")
            by_tenant = cost_report(tiller.sessions, by="tenant", since=utcnow() - timedelta(days=1))
            by_model = cost_report(tiller.sessions, by="model", since=utcnow() - timedelta(days=1))
    one_call = (120 * 0.15 + 15 * 0.60) / 1e6
    assert {r.key: (r.runs, r.completed) for r in by_tenant} == {"acme": (1, 1), "globex": (1, 1)}
    assert all(r.cost_usd == pytest.approx(one_call) for r in by_tenant)
    [model] = by_model
    assert model.key.startswith("gpt-4o-mini") and model.cost_usd == pytest.approx(2 * one_call)
    assert [parse_volume(v) for v in ("100k", "1m", "2500")] == [100_000, 1_000_000, 2500]
    [month] = projection(by_tenant, [1_000_000])
    assert month["monthly_cost"] == pytest.approx(one_call * 1_000_000)


def test_eval_trials_copied_into_a_home_are_not_operational(settings: Settings) -> None:
    """An eval run's traces are kept and listed, but costs, drift and budgets leave them out."""
    from agent.persistence.traces import EVAL_LABEL, runs_between
    from agent.tracing.costs import cost_report
    from agent.tracing.drift import drift_report
    from tools.db import utcnow

    with Tiller(settings) as tiller:
        tiller.ask("where is my order W1000002?")
        trial = tiller.ask("where is my order W1000003?", labels={"scenario": "s1"})
        stored = tiller.traces.get("acme", trial.run_id)
        copy = {"id": "run_eval_copy", "spans": [], "labels": {**stored.labels, EVAL_LABEL: "r1"}}
        tiller.traces.save(stored.model_copy(update=copy))
        since = utcnow() - timedelta(days=1)
        operational = {r.id for r in runs_between(tiller.sessions, since)}
        everything = {r.id for r in runs_between(tiller.sessions, since, with_evals=True)}
        [acme] = cost_report(tiller.sessions, by="tenant", since=since)
        drift_report(tiller.sessions, now=utcnow(), window=timedelta(days=1))  # on the operational runs alone
    assert "run_eval_copy" in everything and "run_eval_copy" not in operational
    assert acme.runs == 2 == len(operational)


def test_metrics_count_runs_tools_guards_and_decisions(settings: Settings) -> None:
    from prometheus_client import generate_latest

    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        paused = tiller.ask("refund W1000001", thread_id="t-metrics")
        backlog = tiller.metrics.registry.get_sample_value("tiller_approvals", {"status": "pending"})
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        tiller.resume("t-metrics")
        registry = tiller.metrics.registry
        value = registry.get_sample_value
        assert backlog == 1 and value("tiller_approvals", {"status": "pending"}) == 0
        assert value("tiller_approvals", {"status": "executed"}) == 1  # counted in the database at scrape time
    assert value("tiller_runs_total", {"tenant": "acme", "status": "awaiting_approval"}) == 1
    assert value("tiller_runs_total", {"tenant": "acme", "status": "completed"}) == 1
    assert value("tiller_tool_latency_seconds_count", {"tool": "issue_refund", "status": "executed"}) == 1
    assert value("tiller_approvals_requested_total", {"tool": "issue_refund"}) == 1
    assert value("tiller_approvals_decided_total", {"tool": "issue_refund", "decision": "approve"}) == 1
    assert value("tiller_guard_verdicts_total", {"stage": "input", "verdict": "allow"}) == 1
    tokens = {
        d: value("tiller_tokens_total", {"model": "scripted", "tenant": "acme", "direction": d})
        for d in ("input", "estimated")
    }
    assert tokens["input"] == 0 and tokens["estimated"] > 0  # the scripted model's usage is an estimate
    assert b"tiller_approval_time_to_decision_seconds_bucket" in generate_latest(registry)


def test_cache_hits_show_in_the_trajectory_trace_and_metrics(settings: Settings) -> None:
    search = {"tool_calls": [{"name": "search_knowledge_base", "args": {"query": "return window for tents"}}]}
    with Tiller(settings, model=ScriptedChatModel([search, "ok", search, "ok"])) as tiller:
        first = tiller.ask("return window?", thread_id="t-cache")
        second = tiller.ask("again: return window?", thread_id="t-cache")
        trace = tiller.traces.get("acme", second.run_id or "")
        value = tiller.metrics.registry.get_sample_value
        hits = value("tiller_tool_results_total", {"tool": "search_knowledge_base", "cache": "hit"})
        misses = value("tiller_tool_results_total", {"tool": "search_knowledge_base", "cache": "miss"})
    assert (first.trajectory[0].cache_hit, second.trajectory[0].cache_hit) == (False, True)
    assert [s.attributes["cache_hit"] for s in trace.spans if s.kind == "tool"] == [True]
    assert (hits, misses) == (1, 1)
