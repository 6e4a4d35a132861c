"""The ``router:`` model: the offline model answers what it is sure of, a stronger model the rest.

The strong tier is the ``openai:`` path against the local fake OpenAI server, so every
escalation is a real HTTP request the test can count.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from agent.config import Settings
from agent.errors import ConfigError
from agent.loop.state import RunStatus
from agent.models.factory import make_model
from agent.models.router import RouterChain, assess
from agent.runtime import Tiller
from tests.fakes.openai_server import API_KEY, fake_openai

ROUTER = "router:offline,openai:gpt-4o-mini"


@pytest.fixture
def routed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return settings.model_copy(update={"model": ROUTER, "model_retries": 0})


def test_single_intent_lookups_and_policy_questions_stay_on_the_cheap_tier(
    routed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_openai([]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(routed) as tiller:
            order = tiller.ask("where is my order W1000002?")
            policy = tiller.ask("what is the return policy for electronics?")
            trace = tiller.traces.get(routed.tenant, order.run_id or "")
    assert server.requests == []  # the strong model was never asked
    assert order.status is RunStatus.COMPLETED and "UPS" in order.answer
    assert policy.status is RunStatus.COMPLETED
    assert [(r.tier, r.reason) for r in order.routes] == [
        ("cheap", "confident lookup get_order"),
        ("cheap", "confident answer"),
    ]
    model_spans = [s for s in trace.spans if s.kind == "model"]
    assert [s.attributes["tier"] for s in model_spans] == ["cheap", "cheap"]


def test_an_action_is_escalated_and_the_rest_of_the_turn_stays_on_the_strong_tier(
    routed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = [
        {"content": None, "tool_calls": [{"name": "get_order", "arguments": {"order_id": "W1000002"}}]},
        {"content": "Order W1000002 has shipped, so it can no longer be cancelled."},
    ]
    with fake_openai(replies) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(routed) as tiller:
            result = tiller.ask("please cancel order W1000002")
            trace = tiller.traces.get(routed.tenant, result.run_id or "")
            samples = {
                (m.labels["tier"], m.labels["cache"]): m.value
                for metric in tiller.metrics.registry.collect()
                if metric.name == "tiller_model_requests"
                for m in metric.samples
                if m.name.endswith("_total")
            }
    assert len(server.requests) == 2  # both steps of the turn went to the strong model
    assert result.answer == "Order W1000002 has shipped, so it can no longer be cancelled."
    assert [(r.tier, r.model, r.reason) for r in result.routes] == [
        ("strong", "gpt-4o-mini", "action cancel_order goes to the strong tier"),
        ("strong", "gpt-4o-mini", "escalated earlier in this turn"),
    ]
    spans = [s.attributes for s in trace.spans if s.kind == "model"]
    assert [a["tier"] for a in spans] == ["strong", "strong"]
    assert spans[0]["discarded"]["model"] == "offline"  # the thrown-away cheap reply is on record
    assert samples == {("strong", "miss"): 2.0}


def test_a_request_the_cheap_tier_is_unsure_about_is_escalated(
    routed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_openai([{"content": "I will handle both: first the cancellation, then the refund."}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(routed) as tiller:
            result = tiller.ask("cancel W1000001 and refund W1000002")
    assert len(server.requests) == 1
    assert [(r.tier, r.reason) for r in result.routes] == [("strong", "cheap tier not confident (refuse)")]
    assert result.usage.cost_usd > 0  # gpt-4o-mini is priced; the offline attempt is free


def test_when_the_strong_tier_is_down_the_cheap_reply_is_kept(
    routed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_openai([{"status": 500}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(routed) as tiller:
            result = tiller.ask("cancel W1000001 and refund W1000002")
    assert len(server.requests) == 1
    assert result.status is RunStatus.COMPLETED
    assert "can't help with that request on my own" in result.answer
    assert result.routes[0].tier == "cheap"
    assert result.routes[0].reason.startswith("strong tier failed; kept the cheap reply")


def test_a_discarded_cheap_reply_is_still_billed(
    routed: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("offline: {input: 1000, output: 1000}\ngpt-4o-mini: {input: 0, output: 0}\n")
    priced = routed.model_copy(update={"price_file": prices})
    with fake_openai([{"content": "Both done."}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(priced) as tiller:
            result = tiller.ask("cancel W1000001 and refund W1000002")
            trace = tiller.traces.get(priced.tenant, result.run_id or "")
    assert result.routes[0].tier == "strong"
    assert result.usage.cost_usd > 0  # only the offline attempt was priced, and it counts
    assert trace.cost_usd == pytest.approx(result.usage.cost_usd)


def test_assess_keeps_confident_reads_and_escalates_actions() -> None:
    read_only = {"get_order", "search_knowledge_base"}
    lookup = AIMessage(content="", tool_calls=[{"name": "get_order", "args": {}, "id": "c1"}])
    refund = AIMessage(content="", tool_calls=[{"name": "issue_refund", "args": {}, "id": "c2"}])
    assert assess(lookup, read_only) == (True, "confident lookup get_order")
    assert assess(refund, read_only) == (False, "action issue_refund goes to the strong tier")
    assert assess(AIMessage(content="  "), read_only) == (False, "cheap reply was empty")
    heading_for_refund = AIMessage(
        content="",
        tool_calls=[{"name": "get_order", "args": {}, "id": "c3"}],
        response_metadata={"tiller_offline": {"kind": "call", "tool": "issue_refund", "confident": True}},
    )
    assert assess(heading_for_refund, read_only)[0] is False


@pytest.mark.parametrize("spec", ["router:offline", "router:,openai:gpt-4o", "router:offline,router:offline,offline"])
def test_a_router_spec_needs_two_tiers(spec: str) -> None:
    with pytest.raises(ConfigError, match="router:CHEAP,STRONG"):
        make_model(spec)


def test_the_strong_tier_may_be_a_fallback_chain() -> None:
    chain = make_model("router:offline,offline,offline")
    assert isinstance(chain, RouterChain)
    assert len(chain.cheap.models) == 1 and len(chain.strong.models) == 2
    assert json.dumps(chain.spec) == '"router:offline,offline,offline"'


def test_costs_by_tier_and_their_monthly_projection(routed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from agent.interfaces.cli.app import app

    with fake_openai([{"content": "Both done."}]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(routed) as tiller:
            tiller.ask("where is my order W1000002?")
            escalated = tiller.ask("cancel W1000001 and refund W1000002")
    monkeypatch.setenv("TILLER_HOME", str(routed.home))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    outcome = CliRunner().invoke(app, ["costs", "--by", "tier", "--project", "1m"], terminal_width=200)
    assert outcome.exit_code == 0, outcome.output
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in outcome.output.splitlines() if "│" in line]
    runs = {row[0]: row[1] for row in cells if len(row) == 8}
    assert runs == {"strong": "1", "cheap": "1"}  # runs with a model call on each tier
    per_request = escalated.usage.cost_usd / 2  # the only paid call, over the two requests
    assert f"${per_request * 1_000_000:,.2f}" in outcome.output  # the strong tier's share at 1m/month
