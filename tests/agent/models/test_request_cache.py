"""Opt-in caching of identical model requests: hits, tenant scope, TTL, off by default and in evals."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.models.offline import OfflineChatModel
from agent.models.request_cache import ModelRequestCache, cache_scope, is_cache_hit
from agent.runtime import Tiller
from evals.homes import hermetic_settings
from tests.fakes.openai_server import API_KEY, fake_openai

REPLIES = [
    {"content": None, "tool_calls": [{"name": "get_order", "arguments": {"order_id": "W1000002"}}]},
    {"content": "Your order shipped with UPS."},
]


@pytest.fixture
def openai_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return settings.model_copy(update={"model": "openai:gpt-4o-mini", "model_retries": 0})


def _model_spans(tiller: Tiller, tenant: str, run_id: str | None) -> list[dict[str, object]]:
    return [s.attributes for s in tiller.traces.get(tenant, run_id or "").spans if s.kind == "model"]


def test_an_identical_request_is_answered_from_the_cache_once_opted_in(
    openai_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = openai_settings.model_copy(update={"model_cache": True})
    with fake_openai(REPLIES) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(cached) as tiller:
            first = tiller.ask("where is my order W1000002?", thread_id="t-first")
            second = tiller.ask("where is my order W1000002?", thread_id="t-second")
            spans = _model_spans(tiller, cached.tenant, second.run_id)
            hits = {
                m.labels["cache"]: m.value
                for metric in tiller.metrics.registry.collect()
                if metric.name == "tiller_model_requests"
                for m in metric.samples
                if m.name.endswith("_total")
            }
    assert len(server.requests) == 2  # the second thread's two model steps never reached the server
    assert first.answer == second.answer == "Your order shipped with UPS."
    assert [(c.tool, c.status) for c in second.trajectory] == [("get_order", CallStatus.EXECUTED)]  # tools still run
    assert first.usage.cost_usd > 0 and second.usage.cost_usd == 0  # a hit is not billed
    assert second.usage.input_tokens == 0
    assert [s["cache_hit"] for s in spans] == [True, True]
    assert hits == {"miss": 2.0, "hit": 2.0}


def test_the_cache_is_off_by_default(openai_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_openai(REPLIES * 2) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with Tiller(openai_settings) as tiller:
            tiller.ask("where is my order W1000002?", thread_id="t-first")
            second = tiller.ask("where is my order W1000002?", thread_id="t-second")
            spans = _model_spans(tiller, openai_settings.tenant, second.run_id)
    assert len(server.requests) == 4
    assert [s["cache_hit"] for s in spans] == [False, False]


def test_tenants_never_share_cached_replies(openai_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = openai_settings.model_copy(update={"model_cache": True})
    cache = ModelRequestCache()
    prompt, params = "the same prompt", "the same model"
    with cache_scope("acme"):
        cache.update(prompt, params, [])
        assert cache.lookup(prompt, params) == []
    with cache_scope("globex"):
        assert cache.lookup(prompt, params) is None
    assert cache.lookup(prompt, params) is None  # outside a run's scope nothing is read...
    cache.update("other", params, [])
    with cache_scope("acme"):
        assert cache.lookup("other", params) is None  # ...or written
    assert cached.model_cache


def test_entries_expire_after_their_ttl() -> None:
    now = [0.0]
    cache = ModelRequestCache(ttl_s=60, timer=lambda: now[0])
    model = OfflineChatModel(cache=cache)
    messages = [HumanMessage("hello")]
    with cache_scope("acme"):
        assert not is_cache_hit(model.invoke(messages))
        now[0] = 59.0
        assert is_cache_hit(model.invoke(messages))
        now[0] = 61.0
        assert not is_cache_hit(model.invoke(messages))
    assert (cache.hits, cache.misses) == (1, 2)


def test_a_cached_reply_still_needs_its_approval(settings: Settings) -> None:
    """Caching a model decision never caches a side effect: the refund waits for a reviewer again."""
    cached = settings.model_copy(update={"model_cache": True})
    with Tiller(cached) as tiller:
        ask = "my order W1000003 arrived damaged, please refund it"
        first = tiller.ask(ask, thread_id="t-a")
        second = tiller.ask(ask, thread_id="t-b")
    assert first.status is second.status is RunStatus.AWAITING_APPROVAL
    assert len(second.pending_approvals) == 1
    assert second.pending_approvals[0].id != first.pending_approvals[0].id


def test_evals_never_use_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("TILLER_MODEL_CACHE", "true")
    assert Settings().model_cache is True
    assert hermetic_settings(home=tmp_path).model_cache is False  # every trial's runtime is uncached
