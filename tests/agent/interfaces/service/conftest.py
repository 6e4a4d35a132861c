"""Service fixtures: one app per test module over its own copy of the seeded database.

Building the app opens a ``Tiller`` (about a second), so tests of a module share one app and
keep out of each other's way by using their own keys, threads and orders.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.config import Settings, with_domain_defaults
from agent.interfaces.service.app import create_app
from agent.interfaces.service.config import ServiceSettings
from agent.interfaces.service.context import ServiceContext

MakeKey = Callable[..., dict[str, str]]


def clean_env() -> pytest.MonkeyPatch:
    """A monkeypatch with the developer's TILLER_* variables removed (tests set what they need)."""
    patch = pytest.MonkeyPatch()
    for name in list(os.environ):
        if name.startswith("TILLER_") and not name.startswith("TILLER_TEST_"):
            patch.delenv(name)
    return patch


@pytest.fixture(scope="module")
def module_settings(seeded_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("service") / ".tiller"
    shutil.copytree(seeded_home, home)
    patch = clean_env()
    yield with_domain_defaults(Settings(home=home, model="offline", retrieval_mode="bm25", model_retry_initial_s=0.01))
    patch.undo()


def service_settings(**overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {"redis_url": None, "rate_per_minute": 10_000, "max_concurrent_runs": 8}
    return ServiceSettings(**{**values, **overrides})


@pytest.fixture(scope="module")
def app(module_settings: Settings) -> FastAPI:
    return create_app(module_settings, service_settings(max_message_chars=2000, max_body_bytes=16 * 1024))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ctx(app: FastAPI, client: TestClient) -> ServiceContext:
    """The started app's context (its runtime runs on the app's loop once the app started)."""
    return app.state.context  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def make_key(ctx: ServiceContext) -> MakeKey:
    """``make_key(role, name, tenant="acme", **limits)`` → the ``Authorization`` header of a new key."""

    def make(role: str, name: str, tenant: str = "acme", **limits: int) -> dict[str, str]:
        _, key = ctx.keys.create(tenant=tenant, role=role, name=name, **limits)
        return {"Authorization": f"Bearer {key}"}

    return make


def sse_events(lines: Iterator[str]) -> list[tuple[str, dict[str, Any]]]:
    """Parse a server-sent event stream into ``(event, data)`` pairs (keep-alives skipped)."""
    import json

    events: list[tuple[str, dict[str, Any]]] = []
    kind, data = "message", ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            events.append((kind, json.loads(data)))
            kind, data = "message", ""
    return events


def stream(client: TestClient, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> list[tuple[str, Any]]:
    """Request a server-sent event stream and read it to its end."""
    with client.stream(method, url, headers=headers, **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return sse_events(response.iter_lines())


@contextmanager
def served(app: FastAPI, *, lifespan: Literal["on", "off"]) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1, in a thread of this process; yields
    its base URL. ``lifespan="off"`` when a ``TestClient`` already runs the app's lifespan."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
