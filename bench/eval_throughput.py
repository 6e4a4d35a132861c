"""Eval harness throughput: scenarios per second with ``--model replay``.

The scenarios are generated: every scenario in ``scenarios/commerce`` that the offline model
serves is copied to a scratch folder and its cassette recorded once (``record_cassettes`` on
the offline model; failing recordings are dropped). ``n`` scenarios are then cloned round-robin
from those, each with a new id and pointing at its original's cassette, and run through the
harness exactly as ``tiller eval run DIR --model replay -c C`` does (``run_scenarios``),
timing the whole run: template seeding, a fresh home per trial, the graph, the scoring.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from agent.config import PROJECT_ROOT
from bench.report import Column
from evals.loader import discover
from evals.record import record_cassettes
from evals.runner import RunOptions, run_scenarios
from evals.scenario import Scenario

SOURCE = PROJECT_ROOT / "scenarios" / "commerce"


@dataclass(frozen=True)
class EvalRow:
    scenarios: int
    concurrency: int
    processes: int
    seconds: float
    per_second: float
    passed: int


def recorded_bases(workdir: Path, concurrency: int = 2, limit: int | None = None) -> list[Scenario]:
    """Offline-capable scenarios (the first ``limit``) copied to ``workdir/base`` with freshly
    recorded cassettes."""
    base = workdir / "base"
    base.mkdir(parents=True, exist_ok=True)
    found = discover([SOURCE])
    offline = [s for s in found.scenarios if s.offline and s.source is not None]
    for scenario in offline[:limit]:
        assert scenario.source is not None
        shutil.copyfile(scenario.source, base / scenario.source.name)
    copies = discover([base]).scenarios
    recorded, _ = record_cassettes(copies, RunOptions(model="offline", concurrency=concurrency))
    return [r.scenario for r in recorded if r.written is not None]


def generate(bases: list[Scenario], count: int, target: Path) -> Path:
    """``count`` scenario files cloned round-robin from ``bases`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        original = bases[i % len(bases)]
        assert original.source is not None
        data = yaml.safe_load(original.source.read_text(encoding="utf-8"))
        data["id"] = f"{original.id}-g{i:04d}"
        data["cassette"] = str(original.cassette_path)
        (target / f"{data['id']}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def time_run(folder: Path, concurrency: int, processes: int = 0) -> EvalRow:
    """One ``--model replay [--processes N]`` run over every scenario in ``folder``."""
    started = time.perf_counter()
    scenarios = discover([folder]).scenarios
    record = run_scenarios(scenarios, RunOptions(model="replay", concurrency=concurrency, processes=processes))
    took = time.perf_counter() - started
    passed = sum(1 for s in record.scenarios if s.status == "passed")
    return EvalRow(len(scenarios), concurrency, processes, took, len(scenarios) / took, passed)


def run_eval_throughput(
    workdir: Path,
    sizes: tuple[int, ...] = (40, 1000),
    concurrency: tuple[int, ...] = (1, 8),
    base_limit: int | None = None,
) -> list[EvalRow]:
    """Throughput for every (size, concurrency) pair."""
    bases = recorded_bases(workdir, limit=base_limit)
    if not bases:
        raise RuntimeError("no scenario could be recorded on the offline model")
    rows = []
    for size in sizes:
        folder = generate(bases, size, workdir / f"generated-{size}")
        rows.extend(time_run(folder, c) for c in concurrency)
        widest = max(concurrency)
        if widest > 1:  # the same run in worker processes, one per core
            rows.append(time_run(folder, widest, processes=min(widest, os.cpu_count() or 1)))
    return rows


EVAL_COLUMNS = [
    Column("scenarios", lambda r: r.scenarios),
    Column("concurrency", lambda r: r.concurrency),
    Column("processes", lambda r: r.processes or "-"),
    Column("wall s", lambda r: r.seconds, "{:.1f}"),
    Column("scenarios/s", lambda r: r.per_second, "{:.1f}"),
    Column("passed", lambda r: r.passed),
]
