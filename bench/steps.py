"""Per-step overhead: floor, bare LangGraph, ``create_agent`` and Tiller, interleaved.

Every round runs every (checkpointer, run length, runtime) once, runtimes in a shuffled order,
so slow drifts of the machine (frequency, page cache, a neighbour) hit all of them alike. A
sample is the wall time of whole runs divided by their tool steps; short runs are repeated
until a sample covers ``steps_per_sample`` steps. Ratios to the bare graph and to
``create_agent`` are taken round by round (same round, same checkpointer, same length) and
summarised by their median. Peak memory (tracemalloc) and checkpoint bytes are measured
afterwards, on separate runs, so the tracing of allocations never slows the timed rounds.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.checkpointers import SaverKind, count_bytes, open_saver, postgres_url, saver_kinds, uncount_bytes
from bench.postgres import scratch_database
from bench.report import Column
from bench.runtimes import (
    AgentRunner,
    CreateAgentRunner,
    Durability,
    FloorRunner,
    LangGraphRunner,
    TillerGraphRunner,
    TillerRunner,
)
from bench.stats import median, percentile, ratios

Key = tuple[SaverKind, str, int]


@dataclass(frozen=True)
class StepsOptions:
    """How much to measure."""

    sizes: tuple[int, ...] = (1, 5, 20)
    rounds: int = 20
    warmup: int = 3
    steps_per_sample: int = 20
    """Short runs are repeated until one sample covers this many tool steps."""
    durability: Durability = "sync"
    """Durability of the peers' runs; Tiller always runs with ``sync`` (exactly-once needs it)."""
    savers: tuple[SaverKind, ...] = field(default_factory=lambda: tuple(saver_kinds()))
    seed: int = 1


@dataclass(frozen=True)
class StepRow:
    """One line of the result table."""

    saver: SaverKind
    runtime: str
    steps: int
    median_us: float
    p95_us: float
    vs_langgraph: float
    vs_create_agent: float
    peak_kib: float
    checkpoint_bytes_per_step: float | None


def open_runners(
    kind: SaverKind, workdir: Path, stack: ExitStack, durability: Durability, pg_url: str | None
) -> list[AgentRunner]:
    """The runtimes measured with checkpointer ``kind``, each with its own saver."""

    def saver(name: str):
        return stack.enter_context(open_saver(kind, workdir / f"{name}-{kind}.db", pg_url))

    runners: list[AgentRunner] = []
    if kind == "none":
        runners.append(FloorRunner())
    runners.append(LangGraphRunner(saver("langgraph"), durability))
    runners.append(CreateAgentRunner(saver("create_agent"), durability))
    home = workdir / f"tiller-{kind}"
    if kind == "none":
        runners.append(TillerGraphRunner(home))
    elif kind == "memory":
        runners.append(TillerRunner(home, saver("tiller")))
    else:  # SQLite and PostgreSQL: the checkpointer Tiller opens itself in production
        runners.append(TillerRunner(home, None, pg_url if kind == "postgres" else None))
    for runner in runners:
        stack.callback(runner.close)
    return runners


def time_sample(runner: AgentRunner, steps: int, reps: int) -> float:
    """Microseconds per tool step over ``reps`` runs of ``steps`` steps."""
    started = time.perf_counter()
    for _ in range(reps):
        done = runner.run(steps)
        if done != steps:
            raise RuntimeError(f"{runner.name} ran {done} tool steps instead of {steps}")
    return (time.perf_counter() - started) / (reps * steps) * 1e6


def collect_samples(groups: dict[SaverKind, list[AgentRunner]], options: StepsOptions) -> dict[Key, list[float]]:
    """Interleaved rounds; the first ``warmup`` rounds are discarded."""
    rng = random.Random(options.seed)
    samples: dict[Key, list[float]] = defaultdict(list)
    for round_no in range(options.warmup + options.rounds):
        gc.collect()
        for kind, runners in groups.items():
            for steps in options.sizes:
                reps = max(1, options.steps_per_sample // steps)
                for runner in rng.sample(runners, len(runners)):
                    us = time_sample(runner, steps, reps)
                    if round_no >= options.warmup:
                        samples[(kind, runner.name, steps)].append(us)
        print(f"  steps: round {round_no + 1}/{options.warmup + options.rounds}", file=sys.stderr, flush=True)
    return samples


def measure_footprint(runner: AgentRunner, steps: int) -> tuple[float, float | None]:
    """(peak KiB allocated during one run, checkpoint bytes written per step)."""
    counter = count_bytes(runner.saver)
    gc.collect()
    tracemalloc.start()
    try:
        runner.run(steps)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        uncount_bytes(runner.saver, counter)
    return peak / 1024, (counter.bytes / steps if counter is not None else None)


def summarize(
    groups: dict[SaverKind, list[AgentRunner]], samples: dict[Key, list[float]], options: StepsOptions
) -> list[StepRow]:
    """Rows: timing statistics, per-round ratios, then a footprint run for each cell."""
    rows: list[StepRow] = []
    for kind, runners in groups.items():
        for steps in options.sizes:
            bare = samples[(kind, "langgraph", steps)]
            peer = samples[(kind, "create_agent", steps)]
            for runner in runners:
                mine = samples[(kind, runner.name, steps)]
                peak, written = measure_footprint(runner, steps)
                rows.append(
                    StepRow(
                        saver=kind,
                        runtime=runner.name,
                        steps=steps,
                        median_us=median(mine),
                        p95_us=percentile(mine, 95),
                        vs_langgraph=median(ratios(mine, bare)),
                        vs_create_agent=median(ratios(mine, peer)),
                        peak_kib=peak,
                        checkpoint_bytes_per_step=written,
                    )
                )
    return rows


def run_steps(options: StepsOptions, workdir: Path) -> list[StepRow]:
    """Measure every runtime with every checkpointer; returns the table rows."""
    with ExitStack() as stack:
        server = postgres_url()
        pg_url = stack.enter_context(scratch_database(server)) if server and "postgres" in options.savers else None
        groups = {kind: open_runners(kind, workdir, stack, options.durability, pg_url) for kind in options.savers}
        samples = collect_samples(groups, options)
        return summarize(groups, samples, options)


STEP_COLUMNS = [
    Column("checkpointer", lambda r: r.saver),
    Column("tool steps", lambda r: r.steps),
    Column("runtime", lambda r: r.runtime),
    Column("median µs/step", lambda r: r.median_us, "{:,.0f}"),
    Column("p95 µs/step", lambda r: r.p95_us, "{:,.0f}"),
    Column("× bare LangGraph", lambda r: r.vs_langgraph, "{:.2f}"),
    Column("× create_agent", lambda r: r.vs_create_agent, "{:.2f}"),
    Column("peak KiB/run", lambda r: r.peak_kib, "{:,.0f}"),
    Column("checkpoint B/step", lambda r: r.checkpoint_bytes_per_step, "{:,.0f}"),
]
