"""The ``openai:`` model path, against a local fake OpenAI-compatible server (no internet, no key)."""

from __future__ import annotations

import pytest

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.runtime import Tiller
from tests.fakes.openai_server import API_KEY, fake_openai


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return monkeypatch


def test_tool_calls_and_answers_round_trip_through_the_openai_api(
    settings: Settings, openai_env: pytest.MonkeyPatch
) -> None:
    replies = [
        {"content": None, "tool_calls": [{"name": "get_order", "arguments": {"order_id": "W1000002"}}]},
        {"content": "Your order shipped with UPS."},
    ]
    with fake_openai(replies) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(settings.model_copy(update={"model": "openai:gpt-4o-mini"})) as tiller:
            result = tiller.ask("where is my order W1000002?")
    assert result.status is RunStatus.COMPLETED and result.answer == "Your order shipped with UPS."
    assert [(c.tool, c.status) for c in result.trajectory] == [("get_order", CallStatus.EXECUTED)]
    assert result.usage.input_tokens == 240 and result.usage.output_tokens == 30
    first, second = server.requests
    assert first["model"] == "gpt-4o-mini"
    tools = {t["function"]["name"]: t for t in first["tools"]}
    assert "issue_refund" in tools and all("x-tiller" not in t for t in first["tools"])
    tool_reply = second["messages"][-1]
    assert tool_reply["role"] == "tool" and "1Z999AA10123456784" in tool_reply["content"]


def test_a_wrong_api_key_fails_the_run_with_a_clear_message(settings: Settings, openai_env: pytest.MonkeyPatch) -> None:
    openai_env.setenv("OPENAI_API_KEY", "sk-wrong")
    with fake_openai([]) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(settings.model_copy(update={"model": "openai:gpt-4o-mini"})) as tiller:
            result = tiller.ask("where is my order W1000002?")
    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["kind"] == "model_auth"
    assert "OPENAI_API_KEY" in result.error["message"]
    assert len(server.requests) == 1  # an auth error is not retried


def test_transient_errors_are_retried_then_the_fallback_model_answers(
    settings: Settings, openai_env: pytest.MonkeyPatch
) -> None:
    with fake_openai([{"status": 429}, {"status": 503}, {"status": 500}]) as server:
        openai_env.setenv("OPENAI_BASE_URL", server.base_url)
        spec = "openai:gpt-4o-mini,offline"
        with Tiller(settings.model_copy(update={"model": spec})) as tiller:
            result = tiller.ask("where is my order W1000002?")
    # Each of the two model turns: a try and two retries against the server, then the offline model.
    assert len(server.requests) == 6
    assert result.status is RunStatus.COMPLETED and "1Z999AA10123456784" in result.answer
