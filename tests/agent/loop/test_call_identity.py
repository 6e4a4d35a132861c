"""Call identity: what runs and what is recorded never depends on the provider's tool-call ids.

Against a fake OpenAI-compatible server with the id quirks real servers have — unique ids, ids
numbered anew in every response (``call_0`` each time), no ids at all, one id for every call —
and a model re-sending an executed call's id with other arguments: every call the model made is
recorded once with its own outcome, two identical requests the user really made both execute,
and one request resumed after a kill between its effect and the checkpoint executes once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from agent.config import Settings
from agent.loop.state import CallStatus, RunResult, RunStatus
from agent.runtime import Tiller
from tests.agent.runtime.crashing_resume import EXIT_CODE
from tests.fakes.openai_server import API_KEY, FakeOpenAI, fake_openai
from tools.commerce.models import Ticket
from tools.db import make_engine

MODES = ["unique", "per_response", "none", "same"]
TICKET = {"subject": "Parcel missing", "body": "Order W1000002 has not arrived.", "order_id": "W1000002"}


def _ticket(**changes: Any) -> dict[str, Any]:
    return {"name": "create_ticket", "arguments": {**TICKET, **changes}}


@pytest.fixture
def openai_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return settings.model_copy(update={"model": "openai:gpt-4o-mini"})


@pytest.fixture
def served(openai_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``served(replies, ids=...)``: a fake server and a runtime talking to it."""

    @contextmanager
    def start(replies: list[dict[str, Any]], ids: str) -> Iterator[tuple[FakeOpenAI, Tiller]]:
        with fake_openai(replies, ids=ids) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            with Tiller(openai_settings) as tiller:
                yield server, tiller

    return start


def _tickets(settings: Settings, subject: str | None = None) -> int:
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            query = select(func.count(Ticket.id))
            if subject is not None:
                query = query.where(Ticket.subject == subject)
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def _tool_spans(tiller: Tiller, result: RunResult) -> list[dict[str, Any]]:
    assert result.run_id is not None
    trace = tiller.traces.get("acme", result.run_id)
    return [s.attributes for s in trace.spans if s.kind == "tool"]


def _assert_paired(request: dict[str, Any]) -> None:
    """Every tool message sent to the provider answers a call of the assistant message before it."""
    open_ids: list[str] = []
    for message in request["messages"]:
        if message["role"] == "assistant":
            open_ids = [c["id"] for c in message.get("tool_calls") or []]
            assert all(open_ids) and len(set(open_ids)) == len(open_ids), open_ids
        elif message["role"] == "tool":
            assert message["tool_call_id"] in open_ids, (message["tool_call_id"], open_ids)


@pytest.mark.parametrize("ids", MODES)
def test_parallel_calls_in_one_response_are_two_calls(
    served: Callable[..., Any], openai_settings: Settings, ids: str
) -> None:
    replies = [
        {"content": None, "tool_calls": [_ticket(subject="First issue"), _ticket(subject="Second issue")]},
        {"content": "I opened two tickets."},
    ]
    with served(replies, ids) as (server, tiller):
        result = tiller.ask("open two tickets about W1000002")
        spans = _tool_spans(tiller, result)
    assert result.status is RunStatus.COMPLETED
    assert [(c.tool, c.args["subject"], c.status) for c in result.trajectory] == [
        ("create_ticket", "First issue", CallStatus.EXECUTED),
        ("create_ticket", "Second issue", CallStatus.EXECUTED),
    ]
    assert len({c.id for c in result.trajectory}) == 2
    assert sorted(s["args"]["subject"] for s in spans) == ["First issue", "Second issue"]
    assert {s["id"] for s in spans} == {c.id for c in result.trajectory}
    assert _tickets(openai_settings, "First issue") == 1 and _tickets(openai_settings, "Second issue") == 1
    _assert_paired(server.requests[1])
    sent = [c.provider_call_id for c in result.trajectory]
    assert sent == {"unique": ["call_1_0", "call_1_1"], "per_response": ["call_0", "call_1"]}.get(
        ids, [None, None] if ids == "none" else ["call_0", "call_0"]
    )


@pytest.mark.parametrize("ids", MODES)
def test_two_identical_requests_in_one_thread_execute_twice(
    served: Callable[..., Any], openai_settings: Settings, ids: str
) -> None:
    replies = [
        {"content": None, "tool_calls": [_ticket()]},
        {"content": "Ticket opened."},
        {"content": None, "tool_calls": [_ticket()]},
        {"content": "Another ticket opened."},
    ]
    before = _tickets(openai_settings, TICKET["subject"])
    with served(replies, ids) as (server, tiller):
        first = tiller.ask("open a ticket: W1000002 has not arrived", thread_id="t-twice")
        second = tiller.ask("open a ticket: W1000002 has not arrived", thread_id="t-twice")
        spans = [_tool_spans(tiller, first), _tool_spans(tiller, second)]
    for result in (first, second):
        assert result.status is RunStatus.COMPLETED
        assert [(c.tool, c.status) for c in result.trajectory] == [("create_ticket", CallStatus.EXECUTED)]
    assert first.trajectory[0].id != second.trajectory[0].id
    assert first.trajectory[0].result != second.trajectory[0].result  # two tickets, two ids
    assert _tickets(openai_settings, TICKET["subject"]) == before + 2
    assert [len(s) for s in spans] == [1, 1]
    for request in server.requests:
        _assert_paired(request)


@pytest.mark.parametrize("ids", MODES)
def test_an_executed_calls_id_resent_with_other_arguments_is_a_new_call(
    served: Callable[..., Any], openai_settings: Settings, ids: str
) -> None:
    forged = "call_forged"
    replies = [
        {"content": None, "tool_calls": [{**_ticket(subject="Honest ticket"), "id": forged}]},
        {"content": None, "tool_calls": [{**_ticket(subject="Forged ticket", order_id="W1000003"), "id": forged}]},
        {"content": "Done."},
    ]
    with served(replies, ids) as (_server, tiller):
        result = tiller.ask("open a ticket: W1000002 has not arrived")
        spans = _tool_spans(tiller, result)
        stored = tiller.traces.get("acme", result.run_id or "")
    # The run's record says what happened: two writes, each with its own arguments and result.
    assert [(c.args["subject"], c.status, c.provider_call_id) for c in result.trajectory] == [
        ("Honest ticket", CallStatus.EXECUTED, forged),
        ("Forged ticket", CallStatus.EXECUTED, forged),
    ]
    tickets = [c.result["ticket_id"] for c in result.trajectory if c.result]
    assert len(set(tickets)) == 2
    assert sorted(s["args"]["subject"] for s in spans) == ["Forged ticket", "Honest ticket"]
    assert stored.tool_calls == 2
    assert _tickets(openai_settings, "Honest ticket") == 1 and _tickets(openai_settings, "Forged ticket") == 1


def test_a_reused_id_does_not_inherit_an_approval(served: Callable[..., Any], refunds: Any) -> None:
    """A later call re-sending an approved call's id waits for its own approval."""

    def refund(amount: str) -> dict[str, Any]:
        args = {"order_id": "W1000001", "amount": amount, "reason": "damaged"}
        return {"content": None, "tool_calls": [{"name": "issue_refund", "id": "call_refund", "arguments": args}]}

    replies = [refund("10.00"), {"content": "Refunded $10.00."}, refund("119.99")]
    with served(replies, "unique") as (_server, tiller):
        paused = tiller.ask("refund $10 on W1000001, it arrived damaged", thread_id="t-reuse")
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        assert tiller.resume("t-reuse").status is RunStatus.COMPLETED
        again = tiller.ask("a note says: refund the rest", thread_id="t-reuse")
    assert refunds("W1000001") == (1, 1000)
    assert again.status is RunStatus.AWAITING_APPROVAL
    [waiting] = again.pending_approvals
    assert waiting.id != paused.pending_approvals[0].id and waiting.args["amount"] == "119.99"


@pytest.mark.parametrize("ids", MODES)
def test_a_resume_after_a_kill_between_effect_and_checkpoint_executes_once(
    served: Callable[..., Any], openai_settings: Settings, refunds: Any, ids: str
) -> None:
    args = {"order_id": "W1000001", "amount": "129.99", "reason": "damaged"}
    replies = [
        {"content": None, "tool_calls": [{"name": "issue_refund", "arguments": args}]},
        {"content": "Your refund is on its way."},
    ]
    with served(replies, ids) as (server, tiller):
        paused = tiller.ask("refund W1000001, it arrived damaged", thread_id="t-kill")
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        env = {
            **os.environ,
            "TILLER_HOME": str(openai_settings.home),
            "TILLER_MODEL": "openai:gpt-4o-mini",
            "TILLER_RETRIEVAL_MODE": "bm25",
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": API_KEY,
            "PYTHONPATH": os.getcwd(),
        }
        command = [sys.executable, "-m", "tests.agent.runtime.crashing_resume", "t-kill"]
        child = subprocess.run(command, env=env, capture_output=True, timeout=120)
        assert child.returncode == EXIT_CODE, child.stderr.decode()[-2000:]
        assert refunds("W1000001") == (1, 12999)  # the effect committed before the kill
        done = tiller.resume("t-kill")
        again = tiller.resume("t-kill")
    assert done.status is RunStatus.COMPLETED and again.status is RunStatus.COMPLETED
    assert refunds("W1000001") == (1, 12999)
    [refund] = [c for c in done.trajectory if c.tool == "issue_refund"]
    assert refund.status is CallStatus.REPLAYED and refund.id == paused.trajectory[0].id
