"""LangGraph Server as the load test's peer: its venv, its config, and ``langgraph dev`` on loopback.

    python -m bench peer-venv [--path DIR]        # once: creates the peer's venv (~2 min)
    python -m bench load --runtime langgraph-server --n-jobs-per-worker 20 …

**Why a venv of its own.** ``langgraph-cli[inmem]`` (which brings ``langgraph-api``, the open-source
in-memory LangGraph Server) cannot be an extra of this project: installed beside the project's
dependencies it would downgrade three of them (langgraph-api 0.16.7 needs ``jsonschema-rs<0.45``,
``protobuf<7`` and ``structlog<26``; see :data:`UNPINNED`). The server is a separate process anyway,
so it runs from a venv of its own: the pinned LangGraph Server, plus this project's dependencies at
the versions installed here (a constraints file frozen from the current interpreter, all but
:data:`UNPINNED`), so LangGraph, LangChain, the OpenAI SDK, SQLAlchemy and the retrieval stack are
the same builds on both sides. Tiller itself is not installed there: the server gets this checkout on
``PYTHONPATH`` and imports ``bench.peer_app`` (the agent) and ``tools/`` (the domain's tools).

The venv is ``TILLER_PEER_VENV`` if set, else ``~/.cache/tiller/peer-venv`` (outside any checkout,
so every worktree on the machine shares it); ``--peer-venv`` on ``bench load`` overrides both.

**How it is served.** ``langgraph dev --no-browser --no-reload`` (no file watcher: one process, like
``tiller serve``; its dev persistence — a periodic pickle of the in-memory state — stays on, as
``langgraph dev`` ships it), on a free loopback port, with ``--n-jobs-per-worker`` when given
(``langgraph dev`` runs one run at a time by default), its version check and LangSmith tracing off.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from bench.load_server import LoadUser, Server, free_port, stop, wait_ready
from bench.load_users import Service
from bench.peer_graph import CONFIG_ENV, PeerAgentConfig

PEER_RUNTIME = "langgraph-server"
PEER_PACKAGES = ("langgraph-cli[inmem]==0.4.40", "langgraph-api==0.16.7")
"""LangGraph Server as measured (issue 18 measured langgraph-api 0.16.7)."""
UNPINNED = ("jsonschema-rs", "protobuf", "structlog")
"""Installed in the project's venv at versions langgraph-api 0.16.7 refuses; the peer's venv takes
what langgraph-api asks for instead."""
VENV_ENV = "TILLER_PEER_VENV"
REPO = Path(__file__).resolve().parent.parent
GRAPH_ID = "agent"


class PeerNotInstalled(RuntimeError):
    """The peer's venv (with ``langgraph``) is not there; the message says how to create it."""


def default_venv() -> Path:
    """``TILLER_PEER_VENV``, else ``$XDG_CACHE_HOME/tiller/peer-venv`` (``~/.cache`` by default)."""
    if os.environ.get(VENV_ENV):
        return Path(os.environ[VENV_ENV])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "tiller" / "peer-venv"


def langgraph_executable(venv: Path | None = None) -> Path:
    """The ``langgraph`` CLI of the peer's venv; :class:`PeerNotInstalled` if it is missing."""
    venv = venv or default_venv()
    exe = venv / "bin" / "langgraph"
    if not exe.exists():
        raise PeerNotInstalled(
            f"LangGraph Server is not installed: no {exe}. Create its venv with `python -m bench peer-venv` "
            f"(or `make peer-venv`; it goes to {default_venv()}), or point {VENV_ENV} (or --peer-venv) at one "
            f"that has {' and '.join(PEER_PACKAGES)}."
        )
    return exe


def project_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """This project's dependencies and its ``bench`` extra (LangChain's ``create_agent``)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["bench"]]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_pins() -> list[str]:
    """``name==version`` of every distribution installed here, but this project and :data:`UNPINNED`."""
    skip = {"tiller", *UNPINNED}
    pins = {_normalized(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    return [f"{name}=={version}" for name, version in sorted(pins.items()) if name not in skip]


def create_peer_venv(path: Path, *, pin: bool = True) -> Path:
    """Create the peer's venv at ``path`` (or top it up) and return its ``langgraph``."""
    print(f"creating LangGraph Server's venv in {path}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="peer-constraints-", delete=False) as f:
        f.write("\n".join(installed_pins() if pin else []) + "\n")
    try:
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c", f.name]
        done = subprocess.run([*pip, *PEER_PACKAGES, *project_requirements()])
    finally:
        os.unlink(f.name)
    if done.returncode != 0:
        hint = " (a new conflict with a pinned version? retry with --unpinned)" if pin else ""
        raise SystemExit(f"pip could not install LangGraph Server into {path}{hint}")
    return langgraph_executable(path)


def server_env(config_path: Path) -> dict[str, str]:
    """The peer's environment: this one without Tiller's, OpenAI's or LangSmith's variables (and
    without ``PYTHONPATH``), plus this checkout on the path and the agent's config."""
    dropped = ("TILLER_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_", "LANGGRAPH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k != "PYTHONPATH"}
    return env | {
        "PYTHONPATH": str(REPO),
        CONFIG_ENV: str(config_path),
        "LANGGRAPH_NO_VERSION_CHECK": "true",  # no call home at start-up (the machine is offline)
        "LANGSMITH_TRACING": "false",
    }


@contextmanager
def serve_peer(
    workdir: Path, config: PeerAgentConfig, *, n_jobs_per_worker: int | None, venv: Path | None = None
) -> Iterator[Server]:
    """``langgraph dev`` serving the peer's agent on a free loopback port, logging to
    ``workdir/peer/server.log``; stopped (SIGTERM, then SIGKILL) afterwards."""
    exe = langgraph_executable(venv)
    folder = workdir / "peer"
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "agent.json"
    config.write(config_path)
    # "dependencies" is this checkout (`langgraph dev` puts it on sys.path; nothing is installed).
    app = {"dependencies": [str(REPO)], "graphs": {GRAPH_ID: "bench.peer_app:graph"}}
    (folder / "langgraph.json").write_text(json.dumps(app))
    port = free_port()
    argv = [str(exe), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--config", str(folder / "langgraph.json")]
    if n_jobs_per_worker is not None:
        argv += ["--n-jobs-per-worker", str(n_jobs_per_worker)]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=server_env(config_path), stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, proc, 120.0, log=log_path, path="/ok", name="langgraph dev")
            yield Server(url, proc.pid, log_path)
        finally:
            stop(proc)


def peer_versions(exe: Path) -> dict[str, str]:
    """The versions that matter of the peer's venv (``langgraph-api``, its runtime, LangGraph, LangChain)."""
    names = ("langgraph-api", "langgraph-runtime-inmem", "langgraph", "langchain", "langchain-openai", "openai")
    code = f"import json, importlib.metadata as m; print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    out = subprocess.run([str(exe.with_name("python")), "-c", code], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


@contextmanager
def peer_service(
    home: Path, workdir: Path, model_url: str, users: int, n_jobs_per_worker: int | None, venv: Path | None
) -> Iterator[Service]:
    """LangGraph Server serving the peer's agent over ``home`` (prepared by the load test) with the
    fake model at ``model_url``, and ``users`` simulated users speaking its API."""
    from bench.load_peer_client import LangGraphServerUser

    config = peer_config(home, model_url)
    exe = langgraph_executable(venv)
    with serve_peer(workdir, config, n_jobs_per_worker=n_jobs_per_worker, venv=venv) as server:
        jobs = "" if n_jobs_per_worker is None else f" --n-jobs-per-worker {n_jobs_per_worker}"
        described = {"command": f"langgraph dev --no-browser --no-reload{jobs}", "venv": str(exe.parent.parent)}
        yield Service(server, peer_users(users), LangGraphServerUser, described | peer_versions(exe))


def peer_users(users: int) -> list[LoadUser]:
    """No API keys: the peer's servers run without auth, so the users are names only."""
    return [LoadUser(f"load.user{i:03d}", key="", reviewer_key="") for i in range(1, users + 1)]


def peer_config(home: Path, model_url: str) -> PeerAgentConfig:
    """The peer's agent over ``home``'s data with the fake model at ``model_url``: Tiller's own
    prompt and limits for the commerce domain, so both send the model the same text."""
    from agent.config import Limits
    from agent.loop.context import system_prompt
    from bench.load_model import API_KEY, MODEL_NAME
    from bench.load_server import TENANT, home_settings
    from tools.domain import load_domain

    settings, limits, domain = home_settings(home), Limits(), load_domain("commerce")
    return PeerAgentConfig(
        database_url=settings.db_url,
        index_dir=settings.index_dir / domain.name,
        model=MODEL_NAME,
        model_url=model_url,
        api_key=API_KEY,
        prompt=system_prompt(domain.prompt()),  # Tiller's own, so both send the same text
        tenant=TENANT,
        user="load.peer",
        max_model_calls=limits.max_steps,
        max_tool_calls=limits.max_tool_calls,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench peer-venv", description="Create the venv LangGraph Server runs from (bench/load_peer.py)."
    )
    parser.add_argument("--path", type=Path, default=None, help=f"where (default: {default_venv()})")
    parser.add_argument(
        "--unpinned", action="store_true", help="do not pin the shared dependencies to this venv's versions"
    )
    args = parser.parse_args(argv)
    exe = create_peer_venv(args.path or default_venv(), pin=not args.unpinned)
    print(f"LangGraph Server is ready: {exe}")
