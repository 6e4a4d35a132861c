"""Drift between two windows: material and significant changes are flagged, noise is not."""

from __future__ import annotations

from datetime import timedelta

from agent.approvals import utcnow
from agent.config import Settings
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from agent.tracing.drift import drift_report
from agent.tracing.store import Span, TraceView


def _run(i: int, when: int, status: str, tool: str) -> TraceView:
    now = utcnow()
    return TraceView(
        id=f"run_{when}_{i}",
        tenant_id="acme",
        thread_id=f"t{i}",
        user_id="u",
        kind="ask",
        status=status,
        started_at=now - timedelta(days=when, minutes=i),
        duration_ms=10.0,
        spans=[
            Span(kind="tool", name=tool, start_ms=1, duration_ms=1, attributes={"status": "executed"}),
            Span(kind="guard", name="input", start_ms=0, attributes={"verdict": "allow"}),
        ],
    )


def test_a_jump_in_limit_reached_and_a_new_tool_mix_are_flagged(settings: Settings) -> None:
    with Tiller(settings, model=ScriptedChatModel([])) as tiller:
        for i in range(120):  # baseline: 8 to 14 days ago; 2% limit_reached; lookups
            tiller.traces.save(_run(i, 8 + i % 6, "limit_reached" if i % 50 == 0 else "completed", "get_order"))
        for i in range(120):  # current: the last 6 days; 30% limit_reached; refunds appear
            status = "limit_reached" if i % 10 < 3 else "completed"
            tiller.traces.save(_run(i, i % 6, status, "issue_refund" if i % 4 == 0 else "get_order"))
        signals = {s.name: s for s in drift_report(tiller.sessions, now=utcnow(), window=timedelta(days=7))}
    limit = signals["limit_reached_rate"]
    assert limit.flagged and limit.baseline is not None and limit.baseline < 0.05 and limit.current == 0.3
    assert signals["tool_mix"].flagged
    assert not signals["failed_rate"].flagged and not signals["guard_flag_rate"].flagged
    assert signals["approval_rejection_rate"].baseline is None  # no decisions: no rate, no flag


def test_refused_calls_are_recorded_as_spans(settings: Settings) -> None:
    turns = [{"tool_calls": [{"name": "drop_database", "args": {}}]}, "I can't."]
    with Tiller(settings, model=ScriptedChatModel(turns)) as tiller:
        trace = tiller.traces.get("acme", tiller.ask("drop it").run_id or "")
    [refusal] = [s for s in trace.spans if s.kind == "refusal"]
    assert refusal.name == "drop_database" and refusal.attributes["error_kind"] == "unknown_tool"
