"""The runtime on PostgreSQL: business data, approvals, ledger and LangGraph checkpoints all in one
database, shared by two runtimes as two service processes would share it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tests.agent.runtime.test_runtime import LOOKUP_THEN_REFUND

PG_URL = os.environ.get("TILLER_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="TILLER_TEST_POSTGRES_URL is not set (CI sets it)"),
]


def refund_count(settings: Settings, order_id: str) -> int:
    engine = create_engine(settings.db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.public_id = :o"),
            {"o": order_id},
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_thread_started_on_one_runtime_is_approved_and_resumed_on_another(pg_settings: Settings) -> None:
    with Tiller(pg_settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as first:
        paused = first.ask("refund W1000001, it arrived damaged", thread_id="t-pg")
        assert paused.status is RunStatus.AWAITING_APPROVAL
        approval_id = paused.pending_approvals[0].id
    assert not (pg_settings.home / "checkpoints.db").exists()  # checkpoints live in PostgreSQL

    with Tiller(pg_settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as second:
        assert [a.id for a in second.approvals.list("acme")] == [approval_id]
        second.decide(approval_id, decision="approve", decided_by="rita")
        done = second.resume("t-pg")
        assert done.status is RunStatus.COMPLETED
        assert second.resume("t-pg").status is RunStatus.COMPLETED
    assert refund_count(pg_settings, "W1000001") == 1
    assert next(c for c in done.trajectory if c.tool == "issue_refund").status is CallStatus.EXECUTED


def test_offline_model_answers_on_postgres(pg_settings: Settings) -> None:
    with Tiller(pg_settings) as tiller:
        result = tiller.ask("where is my order W1000002?")
    assert result.status is RunStatus.COMPLETED and "1Z999AA10123456784" in result.answer
