"""What the load test runs against: a fresh Tiller home, its API keys, and processes on loopback.

``prepare_home`` seeds a demo home the way ``tiller db init && tiller db seed && tiller index``
does; ``create_users`` makes one user key and one reviewer key per simulated user (distinct keys,
so per-key rate limits apply per user as in production); ``serve`` starts ``tiller serve`` as a
subprocess on a free port and waits for ``/readyz``; ``fake_model`` starts the fixed-latency fake
OpenAI server (``bench.load_model``) in its own process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from agent.config import Settings
from agent.persistence.setup import fixtures_of, init_database, seed_database
from agent.runtime.toolset import build_index
from bench.cold import bench_env, tiller_executable
from tools.commerce.domain import KB_DIR
from tools.domain import load_domain

TENANT = "acme"


@dataclass(frozen=True)
class LoadUser:
    """One simulated customer-support user and the reviewer who decides its refunds."""

    name: str
    key: str
    reviewer_key: str


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path


def home_settings(home: Path, database_url: str | None = None) -> Settings:
    """The home as the server sees it: ``server_env`` drops every ``TILLER_*`` variable, so this
    pins what the environment could otherwise change here (database, knowledge base)."""
    return Settings(home=home, database_url=database_url, kb_dir=KB_DIR, retrieval_mode="bm25")


@contextmanager
def scratch_schema(database_url: str, prefix: str = "tiller_load") -> Iterator[str]:
    """A fresh schema of that PostgreSQL database for one load run (dropped after); yields the
    URL that selects it (through the search_path), so runs never see each other's data."""
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{database_url}{'&' if '?' in database_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def prepare_home(home: Path, *, customers: int = 500, orders: int = 2000, database_url: str | None = None) -> None:
    """Database schema, demo data (by default the size `tiller db seed` makes), the BM25 index."""
    settings = home_settings(home, database_url)
    init_database(settings)
    seed_database(settings, fixtures_of(load_domain("commerce"), {"customers": customers, "orders": orders}))
    build_index(settings)


def create_users(
    home: Path, count: int, rate_per_minute: int | None, database_url: str | None = None
) -> list[LoadUser]:
    """A user key and a reviewer key per simulated user (a reviewer may not approve its own calls)."""
    from agent.persistence.database import open_database
    from agent.persistence.keys import KeyStore

    engine, sessions = open_database(home_settings(home, database_url).db_url, require=load_domain("commerce"))
    try:
        keys = KeyStore(sessions)
        users = []
        for i in range(1, count + 1):
            name = f"load.user{i:03d}"
            _, key = keys.create(tenant=TENANT, role="user", name=name, rate_per_minute=rate_per_minute)
            _, reviewer = keys.create(
                tenant=TENANT, role="reviewer", name=f"load.reviewer{i:03d}", rate_per_minute=rate_per_minute
            )
            users.append(LoadUser(name, key, reviewer))
        return users
    finally:
        engine.dispose()


def order_pools(home: Path, database_url: str | None = None) -> tuple[list[str], list[str]]:
    """(any order of the tenant, delivered orders with at least $20 left to refund)."""
    from tools.commerce.models import Order, OrderStatus
    from tools.db import make_engine

    engine = make_engine(home_settings(home, database_url).db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Order.public_id, Order.status, Order.amount_paid_cents - Order.amount_refunded_cents).where(
                    Order.tenant_id == TENANT
                )
            ).all()
    finally:
        engine.dispose()
    refundable = [oid for oid, status, left in rows if status == OrderStatus.DELIVERED and left >= 2000]
    return [oid for oid, _, _ in rows], refundable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(home: Path, model: str, model_url: str | None) -> dict[str, str]:
    """The service's environment: this one without ``TILLER_*``/``OPENAI_*``, plus the home, BM25
    retrieval and the model (``OPENAI_BASE_URL`` pointing at the fake for ``openai:`` specs)."""
    env = bench_env(home) | {"TILLER_MODEL": model}
    if model_url is not None:
        from bench.load_model import API_KEY

        env |= {"OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": API_KEY}
    return env


@contextmanager
def fake_model(delay_ms: float) -> Iterator[str]:
    """The fixed-latency fake OpenAI server in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.load_model", "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the fake model server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[-1])}/v1"
    finally:
        stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def serve(
    home: Path, env: dict[str, str], workdir: Path, ready_timeout_s: float = 120.0, workers: int = 1
) -> Iterator[Server]:
    """``tiller serve [--workers N]`` on a free loopback port, logging to ``workdir/server.log``."""
    port = free_port()
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [tiller_executable(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, proc, ready_timeout_s, log=log_path)
            yield Server(url, proc.pid, log_path)
        finally:
            stop(proc)


def wait_ready(
    url: str,
    proc: subprocess.Popen[bytes] | subprocess.Popen[str],
    timeout_s: float = 60.0,
    *,
    log: Path | None = None,
    path: str = "/readyz",
    name: str = "tiller serve",
) -> None:
    """Poll ``url`` + ``path`` until it answers 200; ``RuntimeError`` with the server's output
    (the tail of ``log``, else what it printed to its stdout pipe) if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{_output(proc, log)}")
        try:
            if httpx.get(f"{url}{path}", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    shown = log.read_text()[-3000:] if log is not None else ""
    raise RuntimeError(f"{name} not ready after {timeout_s:.0f} s:\n{shown}")


def _output(proc: subprocess.Popen[bytes] | subprocess.Popen[str], log: Path | None) -> str:
    """What an exited server printed: its log's tail, or its stdout pipe."""
    if log is not None:
        return log.read_text()[-3000:]
    if proc.stdout is None:
        return ""
    out = proc.stdout.read()  # it has exited: the pipe ends (a later communicate() still works)
    return out if isinstance(out, str) else out.decode(errors="replace")


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 20.0) -> None:
    """SIGTERM (uvicorn drains the runs in progress), then SIGKILL after ``grace_s``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


@dataclass(frozen=True)
class ServerSample:
    """The server's process tree at one instant: resident memory, CPU use since the previous
    sample and in all, load."""

    t_s: float
    rss_mb: float
    cpu_pct: float | None
    load_1m: float
    cpu_s: float | None = None
    """CPU seconds the tree has used since it started (user + system, reaped children included)."""


class ServerProbe:
    """Samples a process and its descendants every time ``sample`` is called (the load test calls
    it every few seconds): ``tiller serve`` is one process, a server with workers or a reloader is
    several, and each is measured whole."""

    def __init__(self, pid: int, clock: Callable[[], float]) -> None:
        self.pid = pid
        self.clock = clock
        self.samples: list[ServerSample] = []
        self._last = (clock(), tree_cpu_seconds(pid))

    def sample(self) -> None:
        now, rss, cpu = self.clock(), tree_rss_mb(self.pid), tree_cpu_seconds(self.pid)
        if rss is None:
            return  # the process is gone; the run reports it
        then, cpu_then = self._last
        busy = None
        if cpu is not None and cpu_then is not None and now > then:
            busy = round(100 * (cpu - cpu_then) / (now - then), 1)
        self._last = (now, cpu)
        cpu_s = None if cpu is None else round(cpu, 3)
        self.samples.append(ServerSample(round(now, 1), round(rss, 1), busy, os.getloadavg()[0], cpu_s))


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (from ``/proc/*/stat``'s parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` and its descendants, MiB (``None`` if ``pid`` is gone)."""
    root = rss_mb(pid)
    if root is None:
        return None
    return root + sum(rss_mb(p) or 0.0 for p in process_tree(pid)[1:])


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time of ``pid`` (its exited, reaped children included) and its live descendants."""
    root = _stat_fields(pid)
    if root is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = sum(int(root[i]) for i in (11, 12, 13, 14)) / tick
    return total + sum(cpu_seconds(p) or 0.0 for p in process_tree(pid)[1:])


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name (which may hold spaces): state, ppid, …"""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()
    except OSError:
        return None


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return float(psutil.Process(pid).memory_info().rss) / 2**20
        except psutil.Error:
            return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return None
    return kib / 1024


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
