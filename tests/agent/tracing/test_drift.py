"""Drift between two windows: material and significant changes are flagged, noise is not."""

from __future__ import annotations

from datetime import timedelta

from agent.config import Settings
from agent.models.scripted import ScriptedChatModel
from agent.persistence.traces import Span, TraceView
from agent.runtime import Tiller
from agent.tracing.drift import drift_report
from tools.db import utcnow


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


def _search(i: int, when: int, hits: int, top: float) -> TraceView:
    run = _run(i, when, "completed", "search_knowledge_base")
    attrs = {"status": "executed", "retrieval_hits": hits, "retrieval_top_score": top if hits else None}
    return run.model_copy(
        update={"id": f"kb_{when}_{i}", "spans": [run.spans[0].model_copy(update={"attributes": attrs})]}
    )


def test_retrieval_scores_misses_and_negative_feedback_drift_are_flagged(settings: Settings) -> None:
    from agent.persistence.feedback import FeedbackStore

    with Tiller(settings, model=ScriptedChatModel([])) as tiller:
        for i in range(60):  # baseline: strong matches, almost never empty
            tiller.traces.save(_search(i, 8 + i % 6, 0 if i == 0 else 4, 9.0 + (i % 7) / 10))
        for i in range(60):  # now: weaker matches and a quarter of searches find nothing
            tiller.traces.save(_search(i, i % 6, 0 if i % 4 == 0 else 4, 5.0 + (i % 7) / 10))
        feedback = FeedbackStore(tiller.sessions)
        for i in range(80):  # 5% thumbs-down before, 40% now
            bad_before, bad_now = i % 20 == 0, i % 5 < 2
            for days, bad in ((9, bad_before), (2, bad_now)):
                item = feedback.add(
                    tenant="acme", thread_id="t", run_id=f"r{i}", rating="down" if bad else "up", comment="", user="u"
                )
                _backdate(tiller, item.id, days)
        signals = {s.name: s for s in drift_report(tiller.sessions, now=utcnow(), window=timedelta(days=7))}
    score = signals["retrieval_top_score"]
    assert score.flagged and score.baseline is not None and score.current is not None
    assert score.current < score.baseline and (score.baseline_n, score.current_n) == (59, 45)  # misses have no score
    miss = signals["retrieval_miss_rate"]
    assert miss.flagged and miss.current == 0.25
    negative = signals["negative_feedback_rate"]
    assert negative.flagged and negative.baseline == 0.05 and negative.current == 0.4


def test_steady_retrieval_is_not_flagged(settings: Settings) -> None:
    with Tiller(settings, model=ScriptedChatModel([])) as tiller:
        for i in range(60):
            tiller.traces.save(_search(i, 8 + i % 6, 4, 9.0 + (i % 7) / 10))
            tiller.traces.save(_search(i, i % 6, 4, 9.0 + ((i + 3) % 7) / 10))
        signals = {s.name: s for s in drift_report(tiller.sessions, now=utcnow(), window=timedelta(days=7))}
    assert not signals["retrieval_top_score"].flagged and not signals["retrieval_miss_rate"].flagged
    assert signals["negative_feedback_rate"].baseline is None  # no feedback: no rate, no flag


def _backdate(tiller: Tiller, feedback_id: int, days: int) -> None:
    from sqlalchemy import update

    from agent.persistence.tables import FeedbackRow

    with tiller.sessions.begin() as session:
        session.execute(
            update(FeedbackRow).where(FeedbackRow.id == feedback_id).values(created_at=utcnow() - timedelta(days=days))
        )


def test_a_knowledge_base_search_records_its_retrieval_signals(settings: Settings) -> None:
    with Tiller(settings) as tiller:
        found = tiller.ask("what is the return policy for electronics?")
        trace = tiller.traces.get("acme", found.run_id or "")
    [search] = [s for s in trace.spans if s.kind == "tool"]
    assert search.name == "search_knowledge_base"
    assert search.attributes["retrieval_hits"] >= 1 and search.attributes["retrieval_top_score"] > 0
