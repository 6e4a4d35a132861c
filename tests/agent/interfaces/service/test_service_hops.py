"""On a SQLite home a chat request hands no work to a worker thread but the tool it runs: its
authentication, its checks, the thread's lease and release with the trace, and the approval row
run in place on the loop (agent/persistence/inplace.py), and the app's context dependency is
``async`` (FastAPI sends a sync dependency to a thread). Sync tools keep their bounded pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from agent.interfaces.service.context import ServiceContext
from tests.agent.interfaces.service.conftest import MakeKey


def _count_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``asyncio.to_thread`` and ``anyio.to_thread.run_sync`` from now on, by the function's name."""
    hops: list[str] = []
    to_thread, run_sync = asyncio.to_thread, anyio.to_thread.run_sync

    def name(func: Callable[..., Any]) -> str:
        return getattr(func, "__qualname__", repr(func))

    async def counted_to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        hops.append(name(func))
        return await to_thread(func, *args, **kwargs)

    async def counted_run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(name(func))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted_to_thread)
    monkeypatch.setattr(anyio.to_thread, "run_sync", counted_run_sync)
    return hops


def test_a_chat_turn_on_sqlite_sends_nothing_but_its_tool_to_a_thread(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ctx.tiller.stores.in_place
    ann = make_key("user", "ann.hops")
    hops = _count_hops(monkeypatch)
    thread = client.post("/v1/threads", json={"title": "hops"}, headers=ann)
    assert thread.status_code == 201
    posted = client.post(
        f"/v1/threads/{thread.json()['id']}/messages",
        json={"content": "Where is my order W1000002?", "stream": False},
        headers=ann,
    )
    assert posted.status_code == 200 and posted.json()["status"] == "completed", posted.text
    assert any(c["tool"] == "get_order" for c in posted.json()["trajectory"])  # the tool ran (on its pool)
    assert hops == []


def test_a_paused_refund_requests_its_approval_in_place(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    bo = make_key("user", "bo.hops")
    thread = client.post("/v1/threads", json={}, headers=bo).json()["id"]
    hops = _count_hops(monkeypatch)
    paused = client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "Please refund order W1000002, it arrived broken.", "stream": False},
        headers=bo,
    )
    assert paused.status_code == 200 and paused.json()["status"] == "awaiting_approval", paused.text
    assert paused.json()["pending_approvals"], "the approval row was not requested"
    assert hops == []
