"""Model faults on the ``openai:`` path, against the local fake server: retries, fallback, breaker.

Timeouts, 429/5xx, dropped and truncated responses are retried (bounded, jittered backoff),
then the fallback model answers; malformed tool calls and unknown tools go back to the model as
errors; an empty answer is repaired; with no model left the run ends ``failed`` with a message.
The provider's circuit breaker opens after repeated failures, sends later turns straight to the
fallback, and closes again after a successful half-open probe.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agent.breakers import BreakerBoard, BreakerSettings
from agent.config import Settings
from agent.loop.events import BreakerEvent, GuardEvent, RunEvent
from agent.loop.state import CallStatus, RunStatus
from agent.models.chain import ModelChain
from agent.models.factory import make_model
from agent.runtime import Tiller
from tests.fakes.openai_server import API_KEY, FakeOpenAI, fake_openai

GET_ORDER = {"tool_calls": [{"name": "get_order", "arguments": {"order_id": "W1000002"}}]}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[FakeOpenAI]:
    replies, default = getattr(request, "param", ([], None))
    with fake_openai(replies, default) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield fake


def _chain(spec: str = "openai:gpt-4o-mini", retries: int = 1, timeout_s: float = 5.0, **extra: Any) -> ModelChain:
    return dataclasses.replace(make_model(spec, retries=retries, retry_initial_s=0.01, timeout_s=timeout_s), **extra)


def _served(server: FakeOpenAI, *replies: dict[str, Any]) -> None:
    server.replies.extend(replies)


def test_a_429_is_retried_then_the_model_answers(settings: Settings, server: FakeOpenAI) -> None:
    _served(server, {"status": 429, "retry_after": "0"}, {"content": "Hello! How can I help?"})
    with Tiller(settings, model=_chain()) as tiller:
        result = tiller.ask("hello")
    assert result.status is RunStatus.COMPLETED and result.answer == "Hello! How can I help?"
    assert len(server.requests) == 2


def test_dropped_and_truncated_responses_are_retried(settings: Settings, server: FakeOpenAI) -> None:
    _served(server, {"fault": "drop"}, {"fault": "truncate", "content": "x"}, {"content": "Hello!"})
    with Tiller(settings, model=_chain(retries=2)) as tiller:
        result = tiller.ask("hello")
    assert result.status is RunStatus.COMPLETED and result.answer == "Hello!" and len(server.requests) == 3


def test_timeouts_are_retried_then_the_fallback_model_answers(settings: Settings, server: FakeOpenAI) -> None:
    server.default = {"delay": 1.0, "content": "too late"}
    started = time.monotonic()
    with Tiller(settings, model=_chain("openai:gpt-4o-mini,offline", timeout_s=0.2)) as tiller:
        result = tiller.ask("where is my order W1000002?")
    assert result.status is RunStatus.COMPLETED and "1Z999AA10123456784" in result.answer
    assert len(server.requests) == 4  # two model turns, each tried twice (one retry) before the fallback
    assert time.monotonic() - started < 5


def test_malformed_tool_arguments_go_back_to_the_model(settings: Settings, server: FakeOpenAI) -> None:
    broken = {"tool_calls": [{"name": "get_order", "raw_arguments": '{"order_id": "W1000002"'}]}
    _served(server, broken, GET_ORDER, {"content": "Your order W1000002 shipped with UPS."})
    with Tiller(settings, model=_chain()) as tiller:
        result = tiller.ask("where is my order W1000002?")
    assert [c.status for c in result.trajectory] == [CallStatus.INVALID, CallStatus.EXECUTED]
    assert result.status is RunStatus.COMPLETED and result.answer == "Your order W1000002 shipped with UPS."
    told = server.requests[1]["messages"][-1]
    assert told["role"] == "tool" and "not valid JSON" in told["content"]


def test_an_unknown_tool_is_refused_and_the_model_recovers(settings: Settings, server: FakeOpenAI) -> None:
    unknown = {"tool_calls": [{"name": "drop_all_tables", "arguments": {}}]}
    _served(server, unknown, {"content": "Sorry, I can't do that."})
    with Tiller(settings, model=_chain()) as tiller:
        result = tiller.ask("drop the tables")
    [call] = result.trajectory
    assert call.status is CallStatus.INVALID and call.error is not None and call.error["kind"] == "unknown_tool"
    assert result.status is RunStatus.COMPLETED and result.answer == "Sorry, I can't do that."


def test_an_empty_answer_is_repaired(settings: Settings, server: FakeOpenAI) -> None:
    _served(server, {"content": ""}, {"content": "Hello! How can I help?"})
    events: list[RunEvent] = []
    with Tiller(settings, model=_chain()) as tiller:
        result = tiller.ask("hello", on_event=events.append)
    assert result.answer == "Hello! How can I help?"
    guards = [(e.stage, e.verdict, e.problems) for e in events if isinstance(e, GuardEvent)]
    assert ("output", "repair (empty)", ["empty: the answer is empty"]) in guards


def test_a_response_without_choices_goes_to_the_fallback(settings: Settings, server: FakeOpenAI) -> None:
    server.default = {"fault": "no_choices"}
    with Tiller(settings, model=_chain("openai:gpt-4o-mini,offline")) as tiller:
        result = tiller.ask("where is my order W1000002?")
    assert result.status is RunStatus.COMPLETED and "1Z999AA10123456784" in result.answer


def test_with_no_model_left_the_run_fails_gracefully(settings: Settings, server: FakeOpenAI) -> None:
    server.default = {"status": 503}
    with Tiller(settings, model=_chain()) as tiller:
        result = tiller.ask("where is my order W1000002?")
    assert result.status is RunStatus.FAILED and "could not complete" in result.answer
    assert result.error is not None and result.error["kind"] == "model_unavailable"
    assert "HTTP 503" in result.error["message"] and len(server.requests) == 2


def test_the_provider_breaker_opens_fails_fast_and_closes_after_a_probe(settings: Settings, server: FakeOpenAI) -> None:
    server.default = {"status": 503}
    board = BreakerBoard(BreakerSettings(fail_max=2, reset_timeout_s=0.3))
    chain = _chain("openai:gpt-4o-mini,offline", retries=0, breakers=board, breaker_fail_max=2)
    events: list[RunEvent] = []
    with Tiller(settings, model=chain) as tiller:
        for _ in range(2):  # two failures open the breaker; the offline model answers each time
            assert tiller.ask("hello", on_event=events.append).status is RunStatus.COMPLETED
        target = f"model:openai@{server.base_url}"
        assert board.states()[target] == "open"
        assert BreakerEvent(target=target, state="open", previous="closed") in events
        fast = tiller.ask("hello")  # open: no request reaches the provider
        assert fast.status is RunStatus.COMPLETED and len(server.requests) == 2
        time.sleep(0.35)
        server.default = {"content": "Hi, the provider is back."}
        probe = tiller.ask("hello", on_event=events.append)  # half-open: one probe, it succeeds
    assert probe.answer == "Hi, the provider is back." and board.states()[target] == "closed"
    states = [e.state for e in events if isinstance(e, BreakerEvent) and e.target == target]
    assert states == ["open", "half-open", "closed"]


def test_a_huge_integer_argument_is_an_invalid_argument_not_a_crash(settings: Settings, server: FakeOpenAI) -> None:
    huge = {"tool_calls": [{"name": "get_order", "raw_arguments": '{"order_id": 99999999999999999999999}'}]}
    _served(server, huge, {"content": "Which order do you mean?"})
    with Tiller(settings, model=_chain()) as tiller:
        result = tiller.ask("where is my order?")
    [call] = result.trajectory
    assert call.status is CallStatus.INVALID and call.args == {"order_id": "99999999999999999999999"}
    assert result.status is RunStatus.COMPLETED and result.answer == "Which order do you mean?"


def test_arguments_that_are_not_an_object_fail_over_to_the_fallback(settings: Settings, server: FakeOpenAI) -> None:
    server.default = {"tool_calls": [{"name": "get_order", "raw_arguments": "[1, 2]"}]}
    with Tiller(settings, model=_chain()) as tiller:
        failed = tiller.ask("where is my order W1000002?")
    assert failed.status is RunStatus.FAILED and failed.error is not None
    assert failed.error["kind"] == "model_malformed_reply" and len(server.requests) == 1  # not retried blindly
    with Tiller(settings, model=_chain("openai:gpt-4o-mini,offline")) as tiller:
        rescued = tiller.ask("where is my order W1000002?")
    assert rescued.status is RunStatus.COMPLETED and "1Z999AA10123456784" in rescued.answer
