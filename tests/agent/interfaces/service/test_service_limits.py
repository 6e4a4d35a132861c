"""Per-key rate limits (in process, and shared through Redis) and the operations endpoints."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.errors import RateLimited
from agent.interfaces.service.ratelimit import RateLimits
from agent.persistence.keys import Principal
from tests.agent.interfaces.service.conftest import MakeKey

REDIS_URL = os.environ.get("TILLER_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TILLER_TEST_REDIS_URL is not set (CI sets it)")


def test_requests_over_the_keys_rate_get_429_with_retry_after(client: TestClient, make_key: MakeKey) -> None:
    sara = make_key("user", "sara.rate", rate_per_minute=3)
    assert [client.get("/v1/threads", headers=sara).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/v1/threads", headers=sara)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "at most 3 requests per minute" in refused.json()["error"]["message"]
    assert client.get("/v1/threads", headers=make_key("user", "tom.rate")).status_code == 200  # per key
    assert 'tiller_rate_limited_total{limit="requests_per_minute"} 1.0' in client.get("/metrics").text


def test_runs_over_the_keys_concurrency_get_429(client: TestClient, make_key: MakeKey, ctx: ServiceContext) -> None:
    uma = make_key("user", "uma.runs", max_concurrent_runs=1)
    thread = client.post("/v1/threads", json={}, headers=uma).json()["id"]
    who = next(p for p in [ctx.keys.authenticate(uma["Authorization"].removeprefix("Bearer "))])
    token = client.portal.call(ctx.limits.take_run_slot, who)  # type: ignore[union-attr]  # a run in progress
    try:
        refused = client.post(f"/v1/threads/{thread}/messages", json={"content": "where is W1000002?"}, headers=uma)
    finally:
        client.portal.call(ctx.limits.give_back_run_slot, who, token)  # type: ignore[union-attr]
    assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["code"] == "too_many_runs"
    done = client.post(
        f"/v1/threads/{thread}/messages", json={"content": "where is W1000002?", "stream": False}, headers=uma
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"


def test_the_in_memory_window_is_checked_on_the_loop_without_thread_hops(monkeypatch: pytest.MonkeyPatch) -> None:
    """The moving window in memory refuses past the key's rate with a retry hint, keys apart, and
    never sends work to a thread: the asyncio ``limits`` storage hopped to one for every key's
    expiry sweep, ~10 hops a run that queued the runtime's own database work behind them."""
    hops: list[object] = []

    async def no_thread(func: object, *args: object, **kwargs: object) -> object:
        hops.append(func)
        raise AssertionError("the in-memory rate limit went to a worker thread")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    vic = Principal(key_id="k" * 12, tenant="acme", role="user", name="vic", rate_per_minute=3)
    ann = Principal(key_id="a" * 12, tenant="acme", role="user", name="ann", rate_per_minute=3)

    async def scenario() -> None:
        limits = RateLimits(rate_per_minute=100, max_concurrent_runs=1)
        assert limits.backend == "memory"
        for _ in range(3):
            await limits.hit(vic)
            await asyncio.sleep(0)  # let any expiry task the storage scheduled run
        with pytest.raises(RateLimited) as refused:
            await limits.hit(vic)
        assert 1 <= refused.value.retry_after <= 60
        await limits.hit(ann)  # another key has a window of its own

    asyncio.run(scenario())
    assert hops == []


@needs_redis
def test_limits_are_shared_between_processes_through_redis() -> None:
    """Two limiters on one Redis (as two service processes) share both the rate and the run slots."""
    assert REDIS_URL is not None
    who = Principal(key_id=uuid.uuid4().hex[:12], tenant="acme", role="user", name="vic", rate_per_minute=2)

    async def scenario() -> None:
        first = RateLimits(rate_per_minute=100, max_concurrent_runs=1, redis_url=REDIS_URL)
        second = RateLimits(rate_per_minute=100, max_concurrent_runs=1, redis_url=REDIS_URL)
        try:
            assert first.backend == "redis" and await first.ping() == "ok"
            await first.hit(who)
            await second.hit(who)
            with pytest.raises(RateLimited) as refused:
                await first.hit(who)
            assert 1 <= refused.value.retry_after <= 60
            token = await first.take_run_slot(who)
            with pytest.raises(RateLimited):
                await second.take_run_slot(who)
            await first.give_back_run_slot(who, token)
            await first.give_back_run_slot(who, await second.take_run_slot(who))
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())


def test_health_readiness_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "checkpoints": "ok"},
    }
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'tiller_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics.text
    assert "tiller_runs_in_progress" in metrics.text
    names = [family.name for family in text_string_to_metric_families(metrics.text)]
    assert len(names) == len(set(names))  # one family per name, or Prometheus rejects the scrape
    assert {"tiller_runs", "tiller_approvals", "tiller_model_requests", "tiller_rate_limited"} <= set(names)
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/threads", "/v1/threads/{thread_id}/messages", "/v1/approvals/{approval_id}/edit"} <= set(paths)
    unknown = client.get("/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_readiness_fails_when_the_database_does_not_answer(ctx: ServiceContext, client: TestClient) -> None:
    from tools.db import make_engine

    healthy = ctx.tiller.engine
    ctx.tiller.engine = make_engine("postgresql://tiller@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    try:
        ready = client.get("/readyz")
    finally:
        ctx.tiller.engine.dispose()
        ctx.tiller.engine = healthy
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready" and ready.json()["checks"]["database"].startswith("error")
