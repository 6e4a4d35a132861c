"""Cost limits per run, daily budgets per tenant, and bounded context."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.config import Limits, Settings
from agent.loop.nodes.call_model import bounded_history
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tests.fakes.openai_server import API_KEY, fake_openai

LOOKUP = {"content": None, "tool_calls": [{"name": "get_order", "arguments": {"order_id": "W1000002"}}]}


@pytest.fixture
def openai_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return settings.model_copy(update={"model": "openai:gpt-4o-mini"})


def test_a_run_stops_at_its_cost_limit(openai_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    one_call = (120 * 0.15 + 15 * 0.60) / 1e6
    with fake_openai([LOOKUP, LOOKUP, LOOKUP, {"content": "Stopped; it shipped."}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(openai_settings, limits=Limits(max_cost_usd=one_call * 1.5)) as tiller:
            result = tiller.ask("where is W1000002?")
    assert result.status is RunStatus.LIMIT_REACHED and result.stop_reason == "max_cost_usd"
    assert result.usage.steps == 3  # two turns reach the limit, then one answer with tools off
    assert result.usage.cost_usd == pytest.approx(3 * one_call)


def test_a_tenant_past_its_daily_budget_is_refused(openai_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    budgeted = openai_settings.model_copy(update={"tenant_daily_budgets": {"acme": 0.00001}})
    with fake_openai([{"content": "Hello."}] * 3) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(budgeted) as tiller:
            first = tiller.ask("hi")
            second = tiller.ask("hi again")
            globex = tiller.ask("hi", tenant="globex", user="g.agent")
    assert first.status is RunStatus.COMPLETED and first.usage.cost_usd > 0
    assert second.status is RunStatus.BLOCKED and second.error is not None
    assert second.error["kind"] == "budget_exhausted" and "00:00 UTC" in second.answer
    assert globex.status is RunStatus.COMPLETED  # budgets are per tenant
    assert len(server.requests) == 2  # the refused request never reached the model


def test_history_is_trimmed_by_whole_turns() -> None:
    turns: list[Any] = []
    for i in range(30):
        turns += [
            HumanMessage(f"question {i} " + "word " * 200),
            AIMessage("", tool_calls=[{"name": "get_order", "args": {"order_id": "W1000002"}, "id": f"c{i}"}]),
            ToolMessage("result " * 100, tool_call_id=f"c{i}"),
            AIMessage("answer " * 50),
        ]
    kept, before, after = bounded_history(turns, max_tokens=2_000)
    assert before > 10_000 and after <= 2_000 and isinstance(kept[0], HumanMessage)
    assert kept[-1] is turns[-1]
    ids = {m.tool_call_id for m in kept if isinstance(m, ToolMessage)}
    assert ids == {c["id"] for m in kept if isinstance(m, AIMessage) for c in m.tool_calls}


def test_the_current_turn_is_kept_even_when_alone_over_budget() -> None:
    turns = [HumanMessage("old"), AIMessage("old answer"), HumanMessage("huge " * 5_000)]
    kept, _, _ = bounded_history(turns, max_tokens=1_000)
    assert kept == turns[2:]


def test_the_trace_shows_context_before_and_after_trimming(settings: Settings) -> None:
    with Tiller(settings, model=ScriptedChatModel(["ok"] * 3), limits=Limits(max_context_tokens=1_000)) as tiller:
        tiller.ask("word " * 1_500, thread_id="t-ctx")
        second = tiller.ask("and now?", thread_id="t-ctx")
        trace = tiller.traces.get("acme", second.run_id or "")
    [event] = [s for s in trace.spans if s.kind == "model"]
    assert event.attributes["context_tokens"]["before"] > 1_000 >= event.attributes["context_tokens"]["after"]


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("gpt-4o-mini", (0.15, 0.60)),
        ("openai:gpt-4o-2024-08-06", (2.50, 10.00)),
        ("replay:gpt-4o-mini", (0.0, 0.0)),  # a recorded turn is never billed as the model it recorded
        ("llamacpp:SmolLM2-135M-Instruct.Q4_1", (0.0, 0.0)),  # local hardware
        ("mystery-model", None),  # unpriced, never guessed
    ],
)
def test_prices_by_name_provider_and_date_suffix(model: str, price: tuple[float, float] | None) -> None:
    from agent.models.pricing import PriceTable

    assert PriceTable().price_of(model) == price
