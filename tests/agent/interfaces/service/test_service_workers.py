"""Two `tiller serve` processes on one PostgreSQL and one Redis stream each other's runs live.

A thread started on A is followed on B while it runs: B's stream shows the run's steps as they
happen (each model call takes a second, so B's copy of a step must arrive before A's next
model turn). The run pauses for approval; a reviewer approves through B, which continues the
thread; A's stream shows B's continuation step by step (the decision, the refund's result, the
model's answer), and the refund happens once. An event
id A gave the client resumes the stream on B (``Last-Event-ID``).

The model is the load test's fake OpenAI server (``bench/load_model.py``) with a fixed delay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from agent.config import Settings
from agent.persistence.database import open_database
from agent.persistence.keys import KeyStore
from bench.load_model import API_KEY
from bench.load_server import fake_model, free_port, wait_ready
from tests.agent.interfaces.service.test_service_postgres import refund_count
from tools.domain import load_domain

PG_URL = os.environ.get("TILLER_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("TILLER_TEST_REDIS_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="needs TILLER_TEST_POSTGRES_URL and TILLER_TEST_REDIS_URL"),
]
MODEL_DELAY_S = 1.0


@dataclass
class Stream:
    """A server-sent event stream read on a thread of its own: (arrival time, type, id, data)."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    events: list[tuple[float, str, str | None, dict[str, Any]]] = field(default_factory=list)
    status_code: int | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with httpx.stream(self.method, self.url, json=self.body, headers=self.headers, timeout=90) as response:
            self.status_code = response.status_code
            kind, event_id = "message", None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("id: "):
                    event_id = line.removeprefix("id: ")
                elif line.startswith("data: "):
                    self.events.append((time.monotonic(), kind, event_id, json.loads(line.removeprefix("data: "))))
                    kind, event_id = "message", None

    def wait_for(self, kind: str, status: str | None = None, timeout_s: float = 30.0) -> float:
        """The arrival time of the first event of this type (and status), waiting for it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, k, _, data in list(self.events):
                if k == kind and (status is None or data.get("status") == status):
                    return at
            time.sleep(0.02)
        raise AssertionError(f"no {kind} {status or ''} on {self.url} in {timeout_s} s; got {self.kinds()}")

    def join(self, timeout_s: float = 60.0) -> None:
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"{self.url} did not end; got {self.kinds()}"

    def kinds(self, job_id: str | None = None) -> list[str]:
        return [k for _, k, _, d in self.events if job_id is None or d.get("job_id") == job_id]

    def first(self, kind: str) -> tuple[float, str | None, dict[str, Any]]:
        return next((at, i, d) for at, k, i, d in self.events if k == kind)


def serve(settings: Settings, model_url: str, workdir: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TILLER_", "OPENAI_"))},
        "TILLER_HOME": str(settings.home),
        "TILLER_DATABASE_URL": str(settings.database_url),
        "TILLER_REDIS_URL": str(REDIS_URL),
        "TILLER_RETRIEVAL_MODE": "bm25",
        "TILLER_MODEL": "openai:load-fake",
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": API_KEY,
    }
    command = [sys.executable, "-c", "from agent.interfaces.cli.app import main; main()", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir
    )
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture
def two_servers(pg_settings: Settings, tmp_path: Any) -> Iterator[tuple[str, str]]:
    started: list[subprocess.Popen[str]] = []
    with fake_model(MODEL_DELAY_S * 1000) as model_url:
        try:
            bases = []
            for _ in range(2):  # one after the other: the first creates the checkpoint tables
                process, base = serve(pg_settings, model_url, str(tmp_path))
                started.append(process)
                wait_ready(base, process, 120)
                bases.append(base)
            yield bases[0], bases[1]
        finally:
            for process in started:
                process.terminate()  # uvicorn waits for open streams: a failed test may leave some
                try:
                    process.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.communicate()


def keys(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    engine, sessions = open_database(str(settings.database_url), require=load_domain("commerce"))
    store = KeyStore(sessions)
    user = {"Authorization": f"Bearer {store.create(tenant='acme', role='user', name='jane.doe')[1]}"}
    reviewer = {"Authorization": f"Bearer {store.create(tenant='acme', role='reviewer', name='rita')[1]}"}
    engine.dispose()
    return user, reviewer


def test_a_run_on_one_process_streams_live_and_resumes_on_another(
    pg_settings: Settings, two_servers: tuple[str, str]
) -> None:
    a, b = two_servers
    user, reviewer = keys(pg_settings)
    thread = httpx.post(f"{a}/v1/threads", json={}, headers=user).json()["id"]
    body = {"content": "refund $5 on order W1000001, it arrived damaged", "stream": True}
    posted = Stream("POST", f"{a}/v1/threads/{thread}/messages", user, body)
    posted.wait_for("run_started")
    on_b = Stream("GET", f"{b}/v1/threads/{thread}/events?timeout=60", user)

    # B shows A's run from its start and step by step: its copy of the order lookup's result
    # arrives before A's next model turn (a second later), not with the final status.
    posted.join()
    assert posted.kinds()[-1] == "status" and posted.events[-1][3]["status"] == "awaiting_approval"
    job = posted.events[0][3]["job_id"]
    on_b.wait_for("status", "awaiting_approval")
    assert on_b.events[0][1] == "status" and on_b.events[0][3]["status"] == "running"
    assert on_b.kinds(job) == posted.kinds()
    assert [e[2] for e in on_b.events if e[3].get("job_id") == job] == [e[2] for e in posted.events]
    assert {"model", "tool_call", "tool_result", "approval_requested"} <= set(on_b.kinds(job))
    looked_up_on_b, _, result = on_b.first("tool_result")
    assert result["tool"] == "get_order" and result["ok"]
    second_model_turn_on_a = [at for at, kind, _, _ in posted.events if kind == "model"][1]
    assert looked_up_on_b < second_model_turn_on_a - MODEL_DELAY_S / 2, "B got the step only after A went on"

    # An id A gave the client resumes the stream on B after that event.
    _, tool_call_id, _ = posted.first("tool_call")
    resumed = Stream("GET", f"{b}/v1/threads/{thread}/events?timeout=2", {**user, "Last-Event-ID": str(tool_call_id)})
    resumed.join()
    after = posted.kinds()[posted.kinds().index("tool_call") + 1 :]
    assert resumed.kinds()[0] == "status" and resumed.kinds(job) == after

    # Approved and continued through B; A's stream shows B's continuation step by step.
    on_a = Stream("GET", f"{a}/v1/threads/{thread}/events?timeout=60", user)
    on_a.wait_for("status", "awaiting_approval")
    approval = posted.events[-1][3]["pending_approvals"][0]["id"]
    decided = httpx.post(f"{b}/v1/approvals/{approval}/approve", json={}, headers=reviewer, timeout=30)
    assert decided.status_code == 200, decided.text
    on_a.join()
    on_b.join()
    continuation = on_a.first("run_started")[2]
    assert continuation["kind"] == "resume" and continuation["job_id"] != job
    steps = on_a.kinds(continuation["job_id"])
    assert steps[0] == "run_started" and steps[-1] == "status"
    assert {"approval_decided", "tool_result", "model", "final"} <= set(steps), steps
    refunded = [d for _, k, _, d in on_a.events if k == "tool_result" and d["job_id"] == continuation["job_id"]]
    assert [(r["tool"], r["ok"]) for r in refunded] == [("issue_refund", True)]
    assert on_a.events[-1][3]["status"] == "completed" and on_b.events[-1][3]["status"] == "completed"
    assert on_b.kinds(continuation["job_id"]) == steps  # B ran it: its own stream has the same steps
    assert refund_count(pg_settings, "W1000001") == 1
