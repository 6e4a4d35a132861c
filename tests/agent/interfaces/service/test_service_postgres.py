"""Two service processes on one PostgreSQL behave as one service.

A thread started through process 1 is approved through process 2 and resumes there; the same
approval decided through both at once executes the action once and the second decision gets a
clear 409; process 1's event stream shows the continuation run by process 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from agent.config import Settings
from agent.persistence.database import open_database
from agent.persistence.keys import KeyStore
from bench.load_server import free_port, wait_ready
from tests.agent.interfaces.service.conftest import sse_events
from tools.domain import load_domain

PG_URL = os.environ.get("TILLER_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="TILLER_TEST_POSTGRES_URL is not set (CI sets it)"),
]


def serve(settings: Settings) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TILLER_")},
        "TILLER_HOME": str(settings.home),
        "TILLER_DATABASE_URL": str(settings.database_url),
        "TILLER_RETRIEVAL_MODE": "bm25",
    }
    command = [sys.executable, "-c", "from agent.interfaces.cli.app import main; main()", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, f"http://127.0.0.1:{port}"


def refund_count(settings: Settings, order_id: str) -> int:
    engine, _ = open_database(str(settings.database_url), require=load_domain("commerce"))
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.public_id = :o"),
            {"o": order_id},
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_two_processes_share_threads_approvals_and_streams(pg_settings: Settings) -> None:
    engine, sessions = open_database(str(pg_settings.database_url), require=load_domain("commerce"))
    keys = KeyStore(sessions)
    user = {"Authorization": f"Bearer {keys.create(tenant='acme', role='user', name='jane.doe')[1]}"}
    rita = {"Authorization": f"Bearer {keys.create(tenant='acme', role='reviewer', name='rita')[1]}"}
    sam = {"Authorization": f"Bearer {keys.create(tenant='acme', role='reviewer', name='sam')[1]}"}
    engine.dispose()
    # One after the other: two processes creating the checkpoint tables of a fresh database at the
    # same instant race in PostgresSaver.setup() (reported; `tiller serve` prepares them first).
    started: list[subprocess.Popen[str]] = []
    try:
        bases = []
        for _ in range(2):
            process, base = serve(pg_settings)
            started.append(process)
            wait_ready(base, process)
            bases.append(base)
        one, two = bases
        thread = httpx.post(f"{one}/v1/threads", json={}, headers=user).json()["id"]
        body = {"content": "refund order W1000001, it arrived damaged", "stream": False}
        paused = httpx.post(f"{one}/v1/threads/{thread}/messages", json=body, headers=user, timeout=30).json()
        assert paused["status"] == "awaiting_approval", paused
        approval = paused["pending_approvals"][0]["id"]
        assert [a["id"] for a in httpx.get(f"{two}/v1/approvals", headers=rita).json()] == [approval]

        def decide(base: str, headers: dict[str, str]) -> httpx.Response:
            return httpx.post(f"{base}/v1/approvals/{approval}/approve", headers=headers, timeout=30)

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(decide, (one, two), (sam, rita)))
        assert sorted(a.status_code for a in answers) == [200, 409]
        conflict = next(a for a in answers if a.status_code == 409).json()["error"]
        assert conflict["code"] == "approval_conflict" and approval in conflict["message"]
        assert "already" in conflict["message"] or "decided concurrently" in conflict["message"]

        with httpx.stream("GET", f"{one}/v1/threads/{thread}/events", headers=user, timeout=60) as events:
            streamed = sse_events(events.iter_lines())
        assert streamed[-1][1]["status"] == "completed"
        assert "Refunded $129.99" in streamed[-1][1]["answer"]
        history = httpx.get(f"{two}/v1/threads/{thread}", headers=user).json()
        assert history["status"] == "completed" and history["messages"][0]["content"] == body["content"]
        assert refund_count(pg_settings, "W1000001") == 1
        assert json.loads(httpx.get(f"{two}/readyz").text)["status"] == "ready"
    finally:
        for process in started:
            process.terminate()
            process.communicate(timeout=30)
