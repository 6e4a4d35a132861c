"""The load test's ``create-agent`` runtimes: the peer's graph in a bare ASGI app (bench/create_agent_app.py).

    python -m bench load --runtimes tiller,create-agent,create-agent-hitl …

Started from this venv (LangChain's agents are in the ``bench`` extra) as its own process on a
free loopback port, over the same home the load test prepared for the run, with the same fake
model; driven by the users that speak LangGraph Server's API (``bench/load_peer_client.py``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bench.load_peer import peer_config, peer_users
from bench.load_server import Server, free_port, stop, wait_ready
from bench.load_users import Service

CREATE_AGENT_RUNTIME = "create-agent"
"""The peer's graph as LangGraph Server runs it (``create_agent`` with the nearest middleware)."""
CREATE_AGENT_HITL_RUNTIME = "create-agent-hitl"
"""``create_agent`` with the approval interrupt only: the least agent that serves the same load."""
APP_RUNTIMES = (CREATE_AGENT_RUNTIME, CREATE_AGENT_HITL_RUNTIME)
REPO = Path(__file__).resolve().parent.parent


@contextmanager
def app_service(
    home: Path, workdir: Path, model_url: str, users: int, *, approval_only: bool = False
) -> Iterator[Service]:
    """``bench.create_agent_app`` serving the peer's agent over ``home`` with the fake model at
    ``model_url`` (log: ``workdir/create-agent/server.log``), and ``users`` users speaking its API;
    ``approval_only``: with none of its middleware but the approval interrupt."""
    from bench.load_peer_client import LangGraphServerUser

    folder = workdir / "create-agent"
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "agent.json"
    replace(peer_config(home, model_url), approval_only=approval_only).write(config_path)
    port = free_port()
    argv = [sys.executable, "-m", "bench.create_agent_app", "--config", str(config_path), "--port", str(port)]
    argv += ["--checkpoints", str(folder / "checkpoints.sqlite")]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, proc, 120.0, log=log_path, path="/ok", name="bench.create_agent_app")
            described = {"command": "python -m bench.create_agent_app (Starlette on uvicorn, AsyncSqliteSaver)"}
            described["middleware"] = (
                "HumanInTheLoopMiddleware" if approval_only else "the peer's (bench/peer_graph.py)"
            )
            yield Service(Server(url, proc.pid, log_path), peer_users(users), LangGraphServerUser, described)
        finally:
            stop(proc)
