"""``tiller keys`` and ``tiller serve`` from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agent.config import Settings
from agent.interfaces.cli.app import app as cli
from agent.interfaces.service.context import ServiceContext
from bench.load_server import free_port, wait_ready


@pytest.fixture
def tiller(module_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("TILLER_HOME", str(module_settings.home))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    monkeypatch.setenv("COLUMNS", "200")
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_keys_are_shown_once_listed_without_secret_and_revoked(tiller: Callable[..., Any], ctx: ServiceContext) -> None:
    created = tiller("keys", "create", "--tenant", "acme", "--role", "reviewer", "--name", "rita.cli")
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("tk_") and "cannot be shown again" in created.output
    who = ctx.keys.authenticate(key)
    assert (who.tenant, who.role, who.name) == ("acme", "reviewer", "rita.cli")
    listed = tiller("keys", "list", "--tenant", "acme")
    assert who.key_id in listed.output and "rita.cli" in listed.output and key.split("_", 2)[2] not in listed.output
    revoked = tiller("keys", "revoke", who.key_id)
    assert revoked.exit_code == 0 and f"Revoked key {who.key_id}" in revoked.output
    assert tiller("keys", "list").output.count(who.key_id) == 1
    bad_role = tiller("keys", "create", "--tenant", "acme", "--role", "boss")
    assert bad_role.exit_code == 2 and "role must be one of user, reviewer, admin" in bad_role.output
    unknown = tiller("keys", "revoke", "000000000000")
    assert unknown.exit_code == 2 and "no API key 000000000000" in unknown.output


def test_serve_runs_the_app_in_worker_processes(module_settings: Settings, ctx: ServiceContext) -> None:
    _, key = ctx.keys.create(tenant="acme", role="user", name="sam.serve")
    port = free_port()
    env = {**os.environ, "TILLER_HOME": str(module_settings.home), "TILLER_RETRIEVAL_MODE": "bm25"}
    command = [
        sys.executable,
        "-c",
        "from agent.interfaces.cli.app import main; main()",
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server)
        threads = httpx.get(f"{base}/v1/threads", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert threads.status_code == 200 and threads.json() == []
        assert httpx.get(f"{base}/v1/threads", timeout=5).status_code == 401
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"Tiller on http://127.0.0.1:{port}" in output
    assert "Without TILLER_REDIS_URL each worker keeps its own rate limits" in " ".join(output.split())
