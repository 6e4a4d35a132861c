"""Load and soak test of ``tiller serve`` on loopback (issue 6).

    python -m bench load [--users 20] [--duration 600] [--model offline|slow:<ms>] [--quick] [--json PATH]
                         [--workers N --database-url postgresql://… [--redis-url redis://…]]

Prepares a fresh Tiller home (schema, demo data, BM25 index) in a scratch folder, creates a user
key and a reviewer key per simulated user, starts ``tiller serve`` as a subprocess on a free
loopback port — with the embedded offline model, or with ``slow:<ms>``: the real OpenAI provider
path against a local fake that answers every completion after exactly ``<ms>`` (``bench/load_model.py``)
— and drives it with U concurrent users (``bench/load_users.py``) for the duration. Every 5 s it
samples the server's resident memory, its CPU use and the load average. It prints Markdown tables (summary,
latency and framework overhead per kind of request, targets) and writes everything as JSON.

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
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.load_report import (
    LATENCY_COLUMNS,
    SUMMARY_COLUMNS,
    LatencyRow,
    LoadSummary,
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
from bench.load_users import Workload, run_users
from bench.report import machine, markdown_table

QUESTIONS = Path(__file__).resolve().parent.parent / "scenarios" / "commerce" / "kb_questions.yaml"
FAKE_MODEL_SPEC = "openai:load-fake"


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
    """The service's configuration (``TILLER_*``; everything else at its default)."""
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)


def parse_args(argv: Sequence[str] | None) -> tuple[LoadOptions, argparse.Namespace]:
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
    args = parser.parse_args(argv)
    try:
        return _options(args), args
    except ValueError as exc:
        parser.error(str(exc))


def _options(args: argparse.Namespace) -> LoadOptions:
    """The options, with ``--quick``'s smaller defaults for whatever was not given."""
    quick = args.quick
    return LoadOptions(
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
    users = create_users(home, options.users, options.rate_per_minute, database_url)
    orders, refundable = order_pools(home, database_url)
    questions = [q["question"] for q in yaml.safe_load(QUESTIONS.read_text())["questions"]]
    started_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with model_endpoint(options) as model_url:
        env = server_env(home, "offline" if model_url is None else FAKE_MODEL_SPEC, model_url)
        env |= {"TILLER_DATABASE_URL": database_url} if database_url else {}
        env |= {"TILLER_REDIS_URL": options.redis_url} if options.redis_url else {}
        with serve(home, env, workdir, workers=options.workers) as server:
            log(f"tiller serve (pid {server.pid}) on {server.url}: {options.users} users, {options.duration_s:.0f} s")
            now = time.monotonic()
            work = Workload(
                orders, refundable, questions, now, now + options.duration_s, options.stream_share, options.think_s
            )
            probe = ServerProbe(server.pid, work.now)
            asyncio.run(run_users(server.url, users, work, probe.sample, options.sample_s))
            served = _served_calls(model_url)
    summary = summarize(
        work.samples,
        probe.samples,
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
        server_env={k: _no_password(v) for k, v in env.items() if k.startswith("TILLER_") or k == "OPENAI_BASE_URL"},
        outcomes=_outcomes(work),
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
        f"## Load: `{o.model}`, {o.users} users, {o.duration_s:.0f} s{think}{where}",
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
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_json(options: LoadOptions) -> Path:
    where = f"-w{options.workers}" if options.workers > 1 else ""
    where += "-pg" if options.database_url else ""
    where += "-redis" if options.redis_url else ""
    name = f"{options.model.replace(':', '-')}-u{options.users}-{options.duration_s:.0f}s{where}.json"
    return Path("out") / "load" / name


def main(argv: Sequence[str] | None = None) -> LoadReport:
    options, args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tiller-load-") as scratch:
        report = run_load(options, args.workdir or Path(scratch))
    print(render(report), flush=True)
    path: Path = args.json or default_json(options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    log(f"results: {path}")
    return report


if __name__ == "__main__":
    main()
