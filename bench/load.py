"""Load and soak test of ``tiller serve`` on loopback (issue 6), and of LangGraph Server beside it (issue 18).

    python -m bench load [--users 20] [--duration 600] [--model offline|slow:<ms>] [--quick] [--json PATH]
    python -m bench load --runtime langgraph-server --n-jobs-per-worker 20 …   # the peer (bench/load_peer.py)
    python -m bench load --runtimes tiller,langgraph-server …                  # both, one after the other
    python -m bench load [--workers N --database-url postgresql://… [--redis-url redis://…]]

Prepares a fresh Tiller home (schema, demo data, BM25 index) in a scratch folder, creates a user
key and a reviewer key per simulated user, starts ``tiller serve`` as a subprocess on a free
loopback port — with the embedded offline model, or with ``slow:<ms>``: the real OpenAI provider
path against a local fake that answers every completion after exactly ``<ms>`` (``bench/load_model.py``)
— and drives it with U concurrent users (``bench/load_users.py``) for the duration. Every 5 s it
samples the server's resident memory, its CPU use and the load average. It prints Markdown tables (summary,
latency and framework overhead per kind of request, targets) and writes everything as JSON.

``--runtime langgraph-server`` runs the same load against LangGraph Server's in-memory runtime
(``langgraph dev``) serving LangChain's ``create_agent`` over the same tools and data
(``bench/peer_graph.py``), with the same fake model, driven by the same users through an adapter for
its API (``bench/load_peer_client.py``). Several runtimes (``--runtimes a,b``) run one after the
other, each on a fresh home, and a last table sets them side by side with the ratios of this run.

``--runtime create-agent`` serves that same graph with the least a server can do around it
(``bench/create_agent_app.py``: awaited inside the request, LangGraph's ``AsyncSqliteSaver``, no queue,
auth, run records or guards), driven by the same adapter: the CPU per run the stack itself costs;
``--runtime create-agent-hitl`` the same with the approval interrupt as the agent's only middleware.

``--quick`` (3 users, 20 s, no warm-up, 200 orders) proves the test works; its numbers mean nothing.

``--workers N`` serves with N uvicorn worker processes; they share a PostgreSQL database
(``--database-url``: the run seeds a schema of its own there and drops it after) and, with
``--redis-url``, the rate limits and the thread event streams. Server CPU and RSS then sum the
supervisor and its workers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.load_collector import CollectorWatch, render_collector
from bench.load_create_agent import APP_RUNTIMES, CREATE_AGENT_HITL_RUNTIME
from bench.load_model import MODEL_NAME
from bench.load_peer import PEER_RUNTIME
from bench.load_profile import Profile, ServerProfiler, render_profile
from bench.load_report import (
    LATENCY_COLUMNS,
    SUMMARY_COLUMNS,
    LatencyRow,
    LoadSummary,
    comparison,
    error_counts,
    latency_rows,
    summarize,
    verdicts,
)
from bench.load_server import (
    ServerProbe,
    ServerSample,
    create_users,
    fake_model,
    order_pools,
    prepare_home,
    scratch_schema,
    serve,
    server_env,
)
from bench.load_users import Service, SimulatedUser, Workload, run_users
from bench.report import machine, markdown_table

QUESTIONS = Path(__file__).resolve().parent.parent / "scenarios" / "commerce" / "kb_questions.yaml"
FAKE_MODEL_SPEC = f"openai:{MODEL_NAME}"
RUNTIMES = ("tiller", PEER_RUNTIME, *APP_RUNTIMES)


@dataclass(frozen=True)
class LoadOptions:
    users: int = 20
    duration_s: float = 600.0
    model: str = "slow:200"
    """``offline`` or ``slow:<ms>`` (the fake OpenAI server with a fixed delay per completion)."""
    warmup_s: float = 15.0
    """Requests started before this are left out of the latency percentiles (not of the errors)."""
    sample_s: float = 5.0
    stream_share: float = 0.5
    think_s: float = 0.0
    """Mean pause of a user before each message; 0 (the default) is a closed loop with no pause."""
    rate_per_minute: int | None = None
    """Per-key request rate given to the keys; ``None``: the service's default (120)."""
    orders: int = 2000
    """Seeded orders (customers: a quarter as many)."""
    runtime: str = "tiller"
    """What serves the load: ``tiller`` (``tiller serve``), ``langgraph-server`` (``langgraph dev``) or
    ``create-agent`` (the peer's graph in a bare ASGI app: bench/create_agent_app.py) or ``create-agent-hitl`` (the same
    with the approval interrupt as its only middleware)."""
    n_jobs_per_worker: int | None = None
    """LangGraph Server's concurrent runs (``langgraph dev --n-jobs-per-worker``; ``None``: its
    default, one). Tiller ignores it."""
    peer_venv: str | None = None
    """The venv LangGraph Server runs from (``None``: ``bench.load_peer.default_venv()``)."""
    profile_s: float = 0.0
    """Seconds of py-spy on the server after the warm-up (0: no profile; bench/load_profile.py)."""
    workers: int = 1
    """Service worker processes (``tiller serve --workers``)."""
    database_url: str | None = None
    """A PostgreSQL database to run on (in a scratch schema); ``None``: SQLite in the home."""
    redis_url: str | None = None
    """Redis for the service (``TILLER_REDIS_URL``): shared rate limits and event streams."""

    def __post_init__(self) -> None:
        kind, _, ms = self.model.partition(":")
        if self.model != "offline" and (kind != "slow" or not ms.replace(".", "", 1).isdigit()):
            raise ValueError(f"--model must be offline or slow:<ms>, got {self.model!r}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}")
        if self.runtime != "tiller" and self.model == "offline":
            raise ValueError(
                f"--runtime {self.runtime} needs --model slow:<ms>: the offline model runs inside Tiller only"
            )
        if self.n_jobs_per_worker is not None and self.n_jobs_per_worker < 1:
            raise ValueError(f"--n-jobs-per-worker must be at least 1, got {self.n_jobs_per_worker}")
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}")
        if self.workers > 1 and not (self.database_url or "").startswith("postgresql"):
            raise ValueError("--workers above 1 share a database: give --database-url postgresql://…")

    @property
    def delay_s(self) -> float:
        """The fake model's fixed delay per completion (0 for the offline model)."""
        return 0.0 if self.model == "offline" else float(self.model.partition(":")[2]) / 1000


@dataclass
class LoadReport:
    options: LoadOptions
    summary: LoadSummary
    latency: list[LatencyRow]
    targets: list[dict[str, Any]]
    errors: dict[str, int]
    memory: list[ServerSample]
    machine: str
    started_at: str
    server_env: dict[str, str]
    """The service's configuration (Tiller's ``TILLER_*``, everything else at its default; the
    peer's command line and versions)."""
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    profile: Profile | None = None
    profile_error: str | None = None
    collector: dict[str, Any] | None = None
    """The server's garbage collector between the warm-up's end and the load's (``bench/load_collector.py``)."""


def parse_args(argv: Sequence[str] | None) -> tuple[list[LoadOptions], argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, help="concurrent users (default 20; --quick: 3)")
    parser.add_argument("--duration", type=float, help="seconds of load (default 600; --quick: 20)")
    parser.add_argument("--model", default="slow:200", help="offline | slow:<ms> (default slow:200)")
    parser.add_argument("--warmup", type=float, help="seconds left out of the percentiles (default 15; --quick: 0)")
    parser.add_argument("--sample-s", type=float, help="seconds between memory samples (default 5; --quick: 1)")
    parser.add_argument("--stream-share", type=float, default=0.5, help="share of messages streamed as SSE")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds a user pauses before a message")
    parser.add_argument("--rate-per-minute", type=int, help="per-key rate limit (default: the service's, 120)")
    parser.add_argument("--quick", action="store_true", help="3 users, 20 s, a small home: proves the test works")
    parser.add_argument("--workers", type=int, default=1, help="service worker processes (default 1)")
    parser.add_argument("--database-url", help="postgresql://… to run on (a scratch schema; default: SQLite)")
    parser.add_argument("--redis-url", help="redis://… for shared rate limits and event streams")
    parser.add_argument("--json", type=Path, help="result file (default out/load/<model>-u<users>-<duration>s.json)")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary one)")
    parser.add_argument(
        "--runtime",
        "--runtimes",
        dest="runtimes",
        default="tiller",
        help=f"what serves the load, or several one after the other: {' | '.join(RUNTIMES)} (default tiller)",
    )
    parser.add_argument(
        "--n-jobs-per-worker", type=int, help=f"{PEER_RUNTIME}: runs at once (langgraph dev's default: 1)"
    )
    parser.add_argument("--peer-venv", help=f"{PEER_RUNTIME}: the venv it runs from (default: see bench/load_peer.py)")
    parser.add_argument("--profile", type=float, default=0.0, help="seconds of py-spy on the server after warm-up")
    args = parser.parse_args(argv)
    try:
        base = _options(args)
        runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
        if not runtimes or len(set(runtimes)) != len(runtimes):
            raise ValueError(f"--runtimes must name each runtime once, got {args.runtimes!r}")
        return [replace(base, runtime=r) for r in runtimes], args
    except ValueError as exc:
        parser.error(str(exc))


def _options(args: argparse.Namespace) -> LoadOptions:
    """The options, with ``--quick``'s smaller defaults for whatever was not given."""
    quick = args.quick
    return LoadOptions(
        n_jobs_per_worker=args.n_jobs_per_worker,
        peer_venv=args.peer_venv,
        profile_s=args.profile,
        users=args.users or (3 if quick else 20),
        duration_s=args.duration or (20.0 if quick else 600.0),
        model=args.model,
        warmup_s=args.warmup if args.warmup is not None else (0.0 if quick else 15.0),
        sample_s=args.sample_s or (1.0 if quick else 5.0),
        stream_share=args.stream_share,
        think_s=args.think,
        rate_per_minute=args.rate_per_minute,
        orders=200 if quick else 2000,
        workers=args.workers,
        database_url=args.database_url,
        redis_url=args.redis_url,
    )


@contextmanager
def model_endpoint(options: LoadOptions) -> Iterator[str | None]:
    """The fake OpenAI server's URL for ``slow:<ms>``; ``None`` for the offline model."""
    if options.model == "offline":
        yield None
        return
    with fake_model(options.delay_s * 1000) as url:
        yield url


@contextmanager
def start_service(
    options: LoadOptions, home: Path, workdir: Path, model_url: str | None, database_url: str | None
) -> Iterator[Service]:
    """The server ``options.runtime`` names, on a free loopback port, with its users."""
    if options.runtime == PEER_RUNTIME:
        from bench.load_peer import peer_service

        assert model_url is not None  # LoadOptions refuses the offline model for the peer
        venv = Path(options.peer_venv) if options.peer_venv else None
        with peer_service(home, workdir, model_url, options.users, options.n_jobs_per_worker, venv) as service:
            yield service
        return
    if options.runtime in APP_RUNTIMES:
        from bench.load_create_agent import app_service

        assert model_url is not None
        approval_only = options.runtime == CREATE_AGENT_HITL_RUNTIME
        with app_service(home, workdir, model_url, options.users, approval_only=approval_only) as service:
            yield service
        return
    users = create_users(home, options.users, options.rate_per_minute, database_url)
    env = server_env(home, "offline" if model_url is None else FAKE_MODEL_SPEC, model_url)
    env |= {"TILLER_DATABASE_URL": database_url} if database_url else {}
    env |= {"TILLER_REDIS_URL": options.redis_url} if options.redis_url else {}
    with serve(home, env, workdir, workers=options.workers) as server:
        config = {k: _no_password(v) for k, v in env.items() if k.startswith("TILLER_") or k == "OPENAI_BASE_URL"}
        yield Service(server, users, SimulatedUser, config)


@contextmanager
def database(options: LoadOptions) -> Iterator[str | None]:
    """The database URL the run uses: a scratch PostgreSQL schema, or ``None`` (SQLite in the home)."""
    if options.database_url is None:
        yield None
        return
    with scratch_schema(options.database_url) as url:
        yield url


def run_load(options: LoadOptions, workdir: Path) -> LoadReport:
    """Prepare, serve, load, measure; the server and the fake model are stopped afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    with database(options) as database_url:
        return _run_load(options, workdir, database_url)


def _run_load(options: LoadOptions, workdir: Path, database_url: str | None) -> LoadReport:
    home = workdir / "home"
    log(f"preparing a Tiller home in {home}" + (f" on {database_url}" if database_url else ""))
    prepare_home(home, customers=max(10, options.orders // 4), orders=options.orders, database_url=database_url)
    orders, refundable = order_pools(home, database_url)
    questions = [q["question"] for q in yaml.safe_load(QUESTIONS.read_text())["questions"]]
    started_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with (
        model_endpoint(options) as model_url,
        start_service(options, home, workdir, model_url, database_url) as service,
    ):
        server = service.server
        log(f"{options.runtime} (pid {server.pid}) on {server.url}: {options.users} users, {options.duration_s:.0f} s")
        now = time.monotonic()
        work = Workload(
            orders, refundable, questions, now, now + options.duration_s, options.stream_share, options.think_s
        )
        probe = ServerProbe(server.pid, work.now)
        profiler = ServerProfiler(server.pid, options.profile_s, workdir / "server.pyspy.txt")
        if options.profile_s:
            profiler.start(delay_s=options.warmup_s)
        collector = CollectorWatch(server.url, options.warmup_s, options.duration_s - options.warmup_s)
        collector.start()
        asyncio.run(run_users(server.url, service.users, work, probe.sample, options.sample_s, service.user_factory))
        served = _served_calls(model_url)
        gc_reading = collector.finish()
        profile = profiler.finish() if options.profile_s else None
    summary = summarize(
        work.samples,
        probe.samples,
        runtime=options.runtime,
        model=options.model,
        users=options.users,
        duration_s=options.duration_s,
        warmup_s=options.warmup_s,
        delay_s=options.delay_s,
        model_calls_served=served,
    )
    return LoadReport(
        options=options,
        summary=summary,
        latency=latency_rows(work.samples, options.delay_s, options.warmup_s, options.duration_s),
        targets=[{"target": t, "measured": m, "met": ok} for t, m, ok in verdicts(summary)],
        errors=error_counts(work.samples),
        memory=probe.samples,
        machine=machine(),
        started_at=started_at,
        server_env=service.config,
        outcomes=_outcomes(work),
        collector=gc_reading,
        profile=profile,
        profile_error=profiler.error,
    )


def _no_password(value: str) -> str:
    """A URL as the report may show it: ``scheme://user:***@host…``."""
    return re.sub(r"(://[^:/@]+):[^@/]+@", r"\1:***@", value)


def _served_calls(model_url: str | None) -> int | None:
    if model_url is None:
        return None
    return int(httpx.get(model_url.removesuffix("/v1") + "/stats", timeout=5).json()["calls"])


def _outcomes(work: Workload) -> dict[str, dict[str, int]]:
    """Run statuses per intent (``awaiting_approval`` for refunds, then ``completed`` after it)."""
    table: dict[str, dict[str, int]] = {}
    for s in work.samples:
        if s.run_status is not None:
            key = f"{s.kind}: {s.intent}"
            table.setdefault(key, {})
            table[key][s.run_status] = table[key].get(s.run_status, 0) + 1
    return table


def render(report: LoadReport) -> str:
    targets = [(t["target"], t["measured"], "**met**" if t["met"] else "**missed**") for t in report.targets]
    o = report.options
    think = f", think time {o.think_s:g} s" if o.think_s else ", no think time"
    where = f", {o.workers} workers" if o.workers > 1 else ""
    where += ", PostgreSQL" if o.database_url else ""
    where += " + Redis" if o.redis_url else ""
    lines = [
        f"## Load: {_served_by(o)}, `{o.model}`, {o.users} users, {o.duration_s:.0f} s{think}{where}",
        "",
        markdown_table([report.summary], SUMMARY_COLUMNS),
        "",
        markdown_table(report.latency, LATENCY_COLUMNS),
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *(f"| {t} | {m} | {v} |" for t, m, v in targets),
    ]
    if report.errors:
        lines += ["", "Errors:", *(f"- {n} × {e}" for e, n in list(report.errors.items())[:10])]
    served = report.summary.model_calls_served
    if served is not None:
        lines += ["", f"Model calls: {report.summary.model_calls} counted from the runs, {served} served by the fake."]
    lines += ["", render_collector(report.collector)]
    if report.options.profile_s:
        lines += render_profile(report.profile, report.profile_error)
    return "\n".join(lines)


def _served_by(options: LoadOptions) -> str:
    if options.runtime == PEER_RUNTIME:
        jobs = options.n_jobs_per_worker
        return f"LangGraph Server (`langgraph dev`, {'default: 1' if jobs is None else jobs} job(s) per worker)"
    if options.runtime in APP_RUNTIMES:
        what = "with the approval interrupt only" if options.runtime == CREATE_AGENT_HITL_RUNTIME else "as the peer's"
        return f"`create_agent` {what}, awaited in a bare ASGI app (bench/create_agent_app.py)"
    return "`tiller serve`"


def render_comparison(reports: Sequence[LoadReport]) -> str:
    """The runtimes side by side, and the first one's numbers over each other's (same run)."""
    summaries = [r.summary for r in reports]
    return "\n".join(["## Side by side (one invocation, one after the other)", "", comparison(summaries)])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_json(options: Sequence[LoadOptions]) -> Path:
    """``out/load/<model>-u<users>-<duration>s.json``, prefixed by the runtimes unless only Tiller ran."""
    first, names = options[0], [o.runtime for o in options]
    prefix = "" if names == ["tiller"] else "+".join(names) + "-"
    where = f"-w{first.workers}" if first.workers > 1 else ""
    where += "-pg" if first.database_url else ""
    where += "-redis" if first.redis_url else ""
    name = f"{prefix}{first.model.replace(':', '-')}-u{first.users}-{first.duration_s:.0f}s{where}.json"
    return Path("out") / "load" / name


def main(argv: Sequence[str] | None = None) -> list[LoadReport]:
    runs, args = parse_args(argv)
    reports = []
    path: Path = args.json or default_json(runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tiller-load-") as scratch:
        workdir = args.workdir or Path(scratch)
        for options in runs:
            reports.append(run_load(options, workdir / options.runtime if len(runs) > 1 else workdir))
            _keep_profile(reports[-1], path)
            print(render(reports[-1]) + "\n", flush=True)
    if len(reports) > 1:
        print(render_comparison(reports), flush=True)
    data: Any = asdict(reports[0]) if len(reports) == 1 else {"runs": [asdict(r) for r in reports]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    log(f"results: {path}")
    return reports


def _keep_profile(report: LoadReport, path: Path) -> None:
    """Copy py-spy's stacks beside the result file before the scratch folder goes."""
    if report.profile is not None and report.profile.raw:
        kept = path.with_suffix(f".{report.options.runtime}.pyspy.txt")
        shutil.copyfile(report.profile.raw, kept)
        report.profile.raw = str(kept)


if __name__ == "__main__":
    main()
