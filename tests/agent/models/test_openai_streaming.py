"""The ``openai:`` model streams: against the fake OpenAI-compatible server, a streamed run —
parallel tool calls whose arguments arrive in interleaved pieces — runs exactly as the same
replies unstreamed (trajectory, results, database effects, usage), and text tokens reach a
callback while the reply is still arriving."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from sqlalchemy import func, select

from agent.config import Settings
from agent.loop.state import RunResult, RunStatus
from agent.models.factory import ModelChain, make_model
from agent.models.tokens import TokenRelay
from agent.runtime import Tiller
from tests.fakes.openai_server import API_KEY, fake_openai
from tools.commerce.models import Ticket
from tools.db import make_engine


def _ticket(subject: str, body: str) -> dict[str, Any]:
    return {"name": "create_ticket", "arguments": {"subject": subject, "body": body, "order_id": "W1000002"}}


TICKETS = [
    _ticket("Parcel missing", "Not arrived."),
    _ticket("Wrong colour", "Ordered blue, got red."),
    {"name": "get_order", "arguments": {"order_id": "W1000002"}},
]
REPLIES: list[dict[str, Any]] = [
    {"content": None, "tool_calls": TICKETS},
    {"content": "I opened two tickets about W1000002, which shipped with UPS."},
]


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)


def _chain(streaming: bool) -> ModelChain:
    chain = make_model("openai:gpt-4o-mini", retries=0, streaming=streaming)
    assert isinstance(chain, ModelChain)
    return chain


def _tickets(settings: Settings) -> list[tuple[str, str]]:
    engine = make_engine(settings.db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(Ticket.subject, Ticket.body).order_by(Ticket.subject)).all()
        count = conn.execute(select(func.count(Ticket.id))).scalar_one()
    engine.dispose()
    assert count == len(rows)
    return [(str(s), str(b)) for s, b in rows]


def _run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, streaming: bool, tokens: bool = True
) -> tuple[RunResult, list[dict]]:
    with fake_openai(REPLIES) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(settings, model=_chain(streaming)) as tiller:
            result = tiller.ask("open two tickets about W1000002 and tell me where it is", tokens=tokens)
    assert all(bool(r.get("stream")) is (streaming and tokens) for r in server.requests)
    return result, server.requests


def _copy(settings: Settings, tmp_path: Path) -> Settings:
    home = tmp_path / "second" / ".tiller"
    shutil.copytree(settings.home, home)
    return settings.model_copy(update={"home": home})


def _seen(result: RunResult) -> list[tuple[Any, ...]]:
    return [(c.id, c.tool, c.args, c.status, c.result) for c in result.trajectory]


def test_a_streamed_run_is_the_unstreamed_run(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = _copy(settings, tmp_path)
    before = _tickets(settings)
    plain, plain_requests = _run(settings, monkeypatch, streaming=False)
    streamed, streamed_requests = _run(other, monkeypatch, streaming=True)
    assert plain.status is streamed.status is RunStatus.COMPLETED
    assert streamed.answer == plain.answer
    assert len(streamed.trajectory) == 3 and _seen(streamed) == _seen(plain)
    assert _tickets(other) == _tickets(settings) != before  # the same two tickets, once each
    assert len(_tickets(settings)) == len(before) + 2
    assert streamed.usage.input_tokens == plain.usage.input_tokens == 240  # usage from the final chunk
    assert streamed.usage.output_tokens == plain.usage.output_tokens == 30
    assert streamed_requests[1]["messages"] == plain_requests[1]["messages"]  # the provider saw the same


def test_a_run_nobody_watches_token_by_token_asks_for_whole_replies(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streaming costs a chunk per token; a caller that waits for the result does not pay it
    (``_run`` asserts every request's ``stream`` flag), and the run is the same run."""
    other = _copy(settings, tmp_path)
    watched, _ = _run(settings, monkeypatch, streaming=True, tokens=True)
    unwatched, requests = _run(other, monkeypatch, streaming=True, tokens=False)
    assert _seen(unwatched) == _seen(watched) and unwatched.answer == watched.answer
    assert unwatched.usage.input_tokens == watched.usage.input_tokens == 240
    assert requests and all(r["messages"] and r["tools"] for r in requests)  # sent in full, via extra_body


def test_a_truncated_argument_is_invalid_streamed_or_not(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {"content": None, "tool_calls": [{"name": "get_order", "raw_arguments": '{"order_id": "W1000002"'}]}
    with fake_openai([broken, {"content": "Sorry, let me retry."}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(settings, model=_chain(streaming=True)) as tiller:
            result = tiller.ask("where is W1000002?")
    [call] = result.trajectory
    assert call.status.value == "invalid" and call.error is not None and "not valid JSON" in call.error["message"]


def test_tokens_arrive_before_the_reply_is_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Your order W1000002 shipped with UPS on Monday and should arrive by Thursday."
    tokens: list[tuple[float, str]] = []
    with fake_openai([{"content": text, "chunk_delay": 0.02}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        model = _chain(streaming=True).bind(None)
        relay = TokenRelay(lambda text: tokens.append((time.monotonic(), text)))
        reply = model.invoke([HumanMessage("where is W1000002?")], config={"callbacks": [relay]})
    assert reply.content == text and "".join(t for _, t in tokens) == text
    assert len(tokens) > 5
    assert tokens[0][0] < server.sent_at[0] - 0.1  # the first token came well before the stream ended
    assert reply.usage_metadata is not None and reply.usage_metadata["input_tokens"] == 120


def test_a_server_that_does_not_stream_is_asked_again_unstreamed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some OpenAI-compatible servers ignore ``stream``: a plain JSON body to a stream request
    has no events; the reply is fetched again whole, and that server is not asked to stream again."""
    with fake_openai([REPLIES[0], *REPLIES]) as server:  # the first reply is asked for twice
        server.streams = False
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(settings, model=_chain(streaming=True)) as tiller:
            result = tiller.ask("open two tickets about W1000002 and tell me where it is", tokens=True)
    assert result.status is RunStatus.COMPLETED and len(result.executed_calls) == 3
    assert [bool(r.get("stream")) for r in server.requests] == [True, False, False]


def test_only_plain_json_skips_the_sdks_revalidation() -> None:
    from agent.models.openai_stream import wire_payload

    tool = {"type": "function", "function": {"name": "get_order", "parameters": {"type": "object", "properties": {}}}}
    plain = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "tools": [tool]}
    sent = wire_payload(plain)
    assert sent["messages"] == [] and sent["extra_body"] == {"messages": plain["messages"], "tools": [tool]}
    odd = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": b"hi"}]}]}
    assert wire_payload(odd) == odd  # bytes deep inside a message: left to the SDK
    keyed = {"model": "m", "messages": [{"role": "user", "content": "hi", "meta": {1: "x"}}]}
    assert wire_payload(keyed) == keyed  # a key JSON cannot hold
