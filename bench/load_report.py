"""The load test's numbers: throughput, latency and framework overhead, errors, memory trend.

Framework overhead of a run = its end-to-end latency seen by the client − its model time, where
model time = model calls × the fake model's fixed delay (0 for the in-process offline model, whose
own compute therefore counts as overhead). Latency percentiles cover requests started after the
warm-up; errors and 429s are counted over the whole run.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.load_server import ServerSample
from bench.load_users import Sample
from bench.report import Column, markdown_table
from bench.stats import percentile

MAX_P95_OVERHEAD_MS = 150.0
MAX_RSS_SLOPE_MB_PER_MIN = 0.5
""""No memory growth trend": the RSS slope over the second half of the run stays under this
(0.5 MB/min is 30 MB an hour; a leak of one small object per request shows up well above it)."""


@dataclass(frozen=True)
class LatencyRow:
    kind: str
    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    overhead_p50_ms: float
    overhead_p95_ms: float
    overhead_p99_ms: float
    model_calls_per_run: float
    runtime_p50_ms: float | None
    """The runtime's own time for the run (``usage.elapsed_s``: the graph, model calls included)."""
    outside_p50_ms: float | None
    """Latency − runtime: HTTP, authentication, rate limits, waiting for a run thread, streaming."""
    outside_p95_ms: float | None


@dataclass(frozen=True)
class LoadSummary:
    runtime: str
    """``tiller`` or the peer (``langgraph-server``), as ``--runtime`` names it."""
    model: str
    users: int
    duration_s: float
    warmup_s: float
    requests: int
    requests_per_s: float
    runs: int
    runs_per_s: float
    errors: int
    rate_limited: int
    error_rate: float
    model_calls: int
    model_calls_served: int | None
    rss_first_mb: float
    rss_last_mb: float
    rss_max_mb: float
    rss_slope_mb_per_min: float
    load_min: float
    load_mean: float
    load_max: float
    server_cpu_pct: float
    """Mean CPU use of the server's processes over the run (100 = one core)."""
    server_cpu_ms_per_run: float | None
    """The server's CPU time from the first sample to the last, per run served in that time."""
    p50_overhead_ms: float
    p95_overhead_ms: float
    p99_overhead_ms: float


def overhead_s(sample: Sample, delay_s: float) -> float:
    return sample.latency_s - sample.model_calls * delay_s


def is_run(sample: Sample) -> bool:
    """An agent run: a message that was not refused with a 429, or a decision until its
    continuation settled."""
    return sample.kind in ("message", "approve→done") and sample.http_status != 429


def is_request(sample: Sample) -> bool:
    """One HTTP exchange, 429s included. ``approve→done`` spans several and is not one; the
    event-stream request it follows the continuation with is counted only when refused (429)."""
    return sample.kind != "approve→done"


def _timed(sample: Sample) -> bool:
    """Does the sample's latency count in the percentiles? Not for errors, 429s, or spans that
    include waiting out a 429."""
    return sample.error is None and sample.http_status != 429 and not sample.throttled


def _row(kind: str, samples: Sequence[Sample], delay_s: float) -> LatencyRow:
    ms = [s.latency_s * 1000 for s in samples]
    over = [overhead_s(s, delay_s) * 1000 for s in samples]
    calls = statistics.fmean(s.model_calls for s in samples) if samples else 0.0
    timed = [s for s in samples if s.runtime_s is not None]
    runtime = [s.runtime_s * 1000 for s in timed if s.runtime_s is not None]
    outside = [(s.latency_s - (s.runtime_s or 0.0)) * 1000 for s in timed]
    return LatencyRow(
        kind,
        len(samples),
        percentile(ms, 50),
        percentile(ms, 95),
        percentile(ms, 99),
        percentile(over, 50),
        percentile(over, 95),
        percentile(over, 99),
        calls,
        percentile(runtime, 50) if timed else None,
        percentile(outside, 50) if timed else None,
        percentile(outside, 95) if timed else None,
    )


def latency_rows(samples: Sequence[Sample], delay_s: float, warmup_s: float, duration_s: float) -> list[LatencyRow]:
    """One row per kind of request (and per message intent), plus all runs together: requests
    started between the warm-up and the end, without error or 429."""
    ok = [s for s in samples if _timed(s) and warmup_s <= s.started_s < duration_s]
    groups: dict[str, list[Sample]] = {"all runs": [s for s in ok if is_run(s)]}
    for intent in ("order", "policy", "refund"):
        groups[f"message: {intent}"] = [s for s in ok if s.kind == "message" and s.intent == intent]
    groups["message, streamed (SSE)"] = [s for s in ok if s.kind == "message" and s.streamed]
    groups["message, JSON"] = [s for s in ok if s.kind == "message" and not s.streamed]
    for kind in ("approve→done", "approve", "create_thread"):
        groups[kind] = [s for s in ok if s.kind == kind]
    return [_row(kind, group, delay_s) for kind, group in groups.items() if group]


def slope_per_min(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute; 0 with fewer than 3 points."""
    if len(points) < 3:
        return 0.0
    slope, _ = statistics.linear_regression([t for t, _ in points], [v for _, v in points])
    return slope * 60


def summarize(
    samples: Sequence[Sample],
    memory: Sequence[ServerSample],
    *,
    runtime: str = "tiller",
    model: str,
    users: int,
    duration_s: float,
    warmup_s: float,
    delay_s: float,
    model_calls_served: int | None,
) -> LoadSummary:
    window = max(1e-9, duration_s - warmup_s)
    measured = [s for s in samples if warmup_s <= s.started_s < duration_s]
    requests = [s for s in samples if is_request(s)]
    errors = [s for s in samples if s.error is not None]
    runs_ok = [s for s in measured if is_run(s) and _timed(s)]
    over = [overhead_s(s, delay_s) * 1000 for s in runs_ok]
    second_half = [(m.t_s, m.rss_mb) for m in memory if m.t_s >= duration_s / 2]
    loads = [m.load_1m for m in memory] or [0.0]
    rss = [m.rss_mb for m in memory] or [0.0]
    cpu = [m.cpu_pct for m in memory if m.cpu_pct is not None]
    return LoadSummary(
        runtime=runtime,
        model=model,
        users=users,
        duration_s=duration_s,
        warmup_s=warmup_s,
        requests=len(requests),
        requests_per_s=sum(1 for s in measured if is_request(s) and s.http_status != 429) / window,
        runs=sum(1 for s in samples if is_run(s)),
        runs_per_s=sum(1 for s in measured if is_run(s)) / window,
        errors=len(errors),
        rate_limited=sum(1 for s in samples if s.http_status == 429),
        error_rate=len(errors) / max(1, len(requests)),
        model_calls=sum(s.model_calls for s in samples if is_run(s)),
        model_calls_served=model_calls_served,
        rss_first_mb=rss[0],
        rss_last_mb=rss[-1],
        rss_max_mb=max(rss),
        rss_slope_mb_per_min=slope_per_min(second_half),
        load_min=min(loads),
        load_mean=statistics.fmean(loads),
        load_max=max(loads),
        server_cpu_pct=statistics.fmean(cpu) if cpu else 0.0,
        server_cpu_ms_per_run=cpu_ms_per_run(memory, sum(1 for s in samples if is_run(s))),
        p50_overhead_ms=percentile(over, 50),
        p95_overhead_ms=percentile(over, 95),
        p99_overhead_ms=percentile(over, 99),
    )


def cpu_ms_per_run(memory: Sequence[ServerSample], runs: int) -> float | None:
    """Server CPU milliseconds per run: the CPU time between the first and the last sample (the
    load starts after the first and ends before the last) over the runs of the whole load."""
    spent = [m.cpu_s for m in memory if m.cpu_s is not None]
    if len(spent) < 2 or runs == 0:
        return None
    return 1000 * (spent[-1] - spent[0]) / runs


def error_counts(samples: Sequence[Sample]) -> dict[str, int]:
    """Errors by message (HTTP status and code, or the run's failure kind), most frequent first."""
    return dict(Counter(s.error for s in samples if s.error is not None).most_common())


def verdicts(summary: LoadSummary) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the three targets of the load test."""
    return [
        ("0 non-429 errors", f"{summary.errors} errors, {summary.rate_limited} × 429", summary.errors == 0),
        (
            f"no memory growth trend (RSS slope over the 2nd half ≤ {MAX_RSS_SLOPE_MB_PER_MIN} MB/min)",
            f"{summary.rss_slope_mb_per_min:+.2f} MB/min; RSS {summary.rss_first_mb:.0f} → {summary.rss_last_mb:.0f} MB"
            f" (max {summary.rss_max_mb:.0f})",
            summary.rss_slope_mb_per_min <= MAX_RSS_SLOPE_MB_PER_MIN,
        ),
        (
            f"p95 framework overhead ≤ {MAX_P95_OVERHEAD_MS:.0f} ms",
            f"{summary.p95_overhead_ms:.0f} ms",
            summary.p95_overhead_ms <= MAX_P95_OVERHEAD_MS,
        ),
    ]


SUMMARY_COLUMNS = [
    Column("runtime", lambda r: r.runtime),
    Column("model", lambda r: f"`{r.model}`"),
    Column("users", lambda r: r.users),
    Column("duration s", lambda r: r.duration_s, "{:.0f}"),
    Column("requests", lambda r: r.requests, "{:,}"),
    Column("requests/s", lambda r: r.requests_per_s, "{:.1f}"),
    Column("runs/s", lambda r: r.runs_per_s, "{:.2f}"),
    Column("errors (non-429)", lambda r: r.errors),
    Column("429s", lambda r: r.rate_limited),
    Column("error rate", lambda r: r.error_rate, "{:.2%}"),
    Column("RSS first → last MB", lambda r: f"{r.rss_first_mb:.0f} → {r.rss_last_mb:.0f}"),
    Column("RSS slope, 2nd half", lambda r: f"{r.rss_slope_mb_per_min:+.2f} MB/min"),
    Column("server CPU", lambda r: r.server_cpu_pct, "{:.0f} %"),
    Column("CPU ms/run", lambda r: r.server_cpu_ms_per_run, "{:.1f}"),
    Column("load avg min / mean / max", lambda r: f"{r.load_min:.1f} / {r.load_mean:.1f} / {r.load_max:.1f}"),
]

LATENCY_COLUMNS = [
    Column("requests", lambda r: r.kind),
    Column("n", lambda r: r.n, "{:,}"),
    Column("model calls", lambda r: r.model_calls_per_run, "{:.2f}"),
    Column("latency p50 / p95 / p99 ms", lambda r: f"{r.p50_ms:.0f} / {r.p95_ms:.0f} / {r.p99_ms:.0f}"),
    Column(
        "overhead p50 / p95 / p99 ms",
        lambda r: f"{r.overhead_p50_ms:.0f} / {r.overhead_p95_ms:.0f} / {r.overhead_p99_ms:.0f}",
    ),
    Column("in runtime p50 ms", lambda r: r.runtime_p50_ms, "{:.0f}"),
    Column(
        "outside runtime p50 / p95 ms",
        lambda r: None if r.outside_p50_ms is None else f"{r.outside_p50_ms:.0f} / {r.outside_p95_ms:.0f}",
    ),
]


COMPARISON_COLUMNS = [
    Column("runtime", lambda r: r.runtime),
    Column("runs/s", lambda r: r.runs_per_s, "{:.2f}"),
    Column("errors (non-429)", lambda r: r.errors),
    Column(
        "overhead p50 / p95 / p99 ms",
        lambda r: f"{r.p50_overhead_ms:,.0f} / {r.p95_overhead_ms:,.0f} / {r.p99_overhead_ms:,.0f}",
    ),
    Column("server CPU", lambda r: r.server_cpu_pct, "{:.0f} %"),
    Column("server CPU ms/run", lambda r: r.server_cpu_ms_per_run, "{:.1f}"),
    Column("RSS first → last MB", lambda r: f"{r.rss_first_mb:.0f} → {r.rss_last_mb:.0f}"),
    Column("load avg min / mean / max", lambda r: f"{r.load_min:.1f} / {r.load_mean:.1f} / {r.load_max:.1f}"),
]
RATIOS: list[tuple[str, Callable[[LoadSummary], float | None]]] = [
    ("runs/s", lambda r: r.runs_per_s),
    ("overhead p50", lambda r: r.p50_overhead_ms),
    ("overhead p95", lambda r: r.p95_overhead_ms),
    ("overhead p99", lambda r: r.p99_overhead_ms),
    ("server CPU ms/run", lambda r: r.server_cpu_ms_per_run),
    ("RSS last", lambda r: r.rss_last_mb),
]


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is not positive."""
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b <= 0:
        return None
    return a / b


def comparison(summaries: Sequence[LoadSummary]) -> str:
    """The runtimes' summaries side by side, then the first one's numbers divided by each other's."""
    first, others = summaries[0], summaries[1:]
    lines = [markdown_table(summaries, COMPARISON_COLUMNS)]
    if others:
        header = " | ".join(f"{first.runtime} ÷ {o.runtime}" for o in others)
        lines += ["", f"| measure | {header} |", "|---|" + "---|" * len(others)]
        for name, value in RATIOS:
            cells = [ratio(value(first), value(o)) for o in others]
            lines.append(f"| {name} | " + " | ".join("–" if c is None else f"{c:.2f}×" for c in cells) + " |")
    return "\n".join(lines)
