"""Following a thread whose run happens in another process, as the fanout delivers it.

This module's app (the ``client`` of ``conftest``, over the ``app`` below) has a scripted fanout
(``live``, as Redis would be) that hands the hub a run of "another process": the follower sees
it from its ``run_started`` and ends with its ``status``; a run whose end never arrives (its
process died) gives way to the thread's row.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.config import Settings
from agent.interfaces.service.app import create_app
from agent.interfaces.service.fanout import Deliver, LocalFanout
from agent.interfaces.service.sse import StreamEvent
from tests.agent.interfaces.service.conftest import MakeKey, service_settings, stream


class ScriptedFanout(LocalFanout):
    """Another process's run of a thread: its backlog on follow, the rest of it a moment later."""

    live = True

    def __init__(self) -> None:
        self.deliver: Deliver | None = None
        self.backlog: dict[str, list[StreamEvent]] = {}
        self.later: dict[str, list[StreamEvent]] = {}

    async def start(self, deliver: Deliver) -> None:
        self.deliver = deliver

    async def follow(self, thread_id: str) -> None:
        assert self.deliver is not None
        self.deliver(thread_id, self.backlog.get(thread_id, []))
        if thread_id in self.later:
            asyncio.get_running_loop().call_later(0.3, self.deliver, thread_id, self.later[thread_id])


def remote(thread_id: str, job: str, *steps: tuple[str, dict[str, Any]]) -> list[StreamEvent]:
    tag = {"thread_id": thread_id, "job_id": job}
    return [StreamEvent(0, kind, {**tag, **data}, f"{job}.{n}") for n, (kind, data) in enumerate(steps, 1)]


@pytest.fixture(scope="module")
def fanout() -> ScriptedFanout:
    return ScriptedFanout()


@pytest.fixture(scope="module")
def app(module_settings: Settings, fanout: ScriptedFanout) -> FastAPI:
    app = create_app(module_settings, service_settings())
    app.state.context.hub.fanout = fanout  # before the lifespan starts it
    return app


@pytest.fixture(scope="module")
def make_key(app: FastAPI) -> MakeKey:
    keys = app.state.context.keys

    def make(role: str, name: str, tenant: str = "acme") -> dict[str, str]:
        return {"Authorization": f"Bearer {keys.create(tenant=tenant, role=role, name=name)[1]}"}

    return make


def test_a_run_elsewhere_streams_from_its_start_and_ends_with_its_status(
    client: TestClient, make_key: MakeKey, fanout: ScriptedFanout
) -> None:
    uma = make_key("user", "uma.remote")
    thread = client.post("/v1/threads", json={}, headers=uma).json()["id"]  # idle in the database
    run = remote(
        thread,
        "job_elsewhere",
        ("run_started", {"kind": "message"}),
        ("model", {"content": "", "tool_calls": []}),
        ("tool_result", {"id": "c1", "tool": "get_order", "ok": True}),
        ("final", {"status": "completed", "answer": "done"}),
        ("status", {"status": "completed", "answer": "done"}),
    )
    fanout.backlog[thread], fanout.later[thread] = run[:2], run[2:]
    started = time.monotonic()
    events = stream(client, "GET", f"/v1/threads/{thread}/events?timeout=20", uma)
    assert [k for k, _ in events] == ["status", "run_started", "model", "tool_result", "final", "status"]
    assert events[0][1]["status"] == "running"  # the row says idle; the run's events say otherwise
    assert events[-1][1]["answer"] == "done"
    assert time.monotonic() - started < 4  # ended by the streamed status, not by polling the row


def test_a_run_whose_end_never_arrives_gives_way_to_the_row(
    client: TestClient, make_key: MakeKey, fanout: ScriptedFanout
) -> None:
    vic = make_key("user", "vic.remote")
    thread = client.post("/v1/threads", json={}, headers=vic).json()["id"]
    fanout.backlog[thread] = remote(thread, "job_died", ("run_started", {"kind": "message"}))
    events = stream(client, "GET", f"/v1/threads/{thread}/events?timeout=30", vic)
    assert [k for k, _ in events] == ["status", "run_started", "status"]
    assert [d["status"] for k, d in events if k == "status"] == ["running", "idle"]
