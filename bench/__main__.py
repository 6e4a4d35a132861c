"""``python -m bench [steps|cold|evals|retrieval|retrieval-stages|seed|approval …] [--quick] [--json PATH]``.

``python -m bench load [--users N] [--duration S] [--model offline|slow:<ms>] [--quick]`` runs the
load and soak test of ``tiller serve`` instead (``bench/load.py``; ``--runtime langgraph-server``
for LangGraph Server beside it, whose venv ``python -m bench peer-venv`` creates).

Runs the chosen benchmarks (all by default) and prints each result as a Markdown table.
``--quick`` runs them at tiny sizes: it proves they work, its numbers mean nothing.
PostgreSQL is measured too when ``TILLER_BENCH_POSTGRES_URL`` is set (a scratch database is
created on that server and dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.report import Column, machine, markdown_table

Runner = Callable[[Path, argparse.Namespace], list[Any]]


@dataclass(frozen=True)
class Benchmark:
    title: str
    run: Runner
    columns: Callable[[], Sequence[Column]]


def _steps(workdir: Path, args: argparse.Namespace) -> list[Any]:
    from bench.steps import StepsOptions, run_steps

    if args.quick:
        options = StepsOptions(sizes=(1, 2), rounds=2, warmup=1, steps_per_sample=2)
    else:
        options = StepsOptions(rounds=args.rounds, durability=args.durability)
    return run_steps(options, workdir)


def _cold(workdir: Path, args: argparse.Namespace) -> list[Any]:
    from bench.cold import run_cold

    return run_cold(workdir, runs=1 if args.quick else 10)


def _evals(workdir: Path, args: argparse.Namespace) -> list[Any]:
    from bench.eval_throughput import run_eval_throughput

    if args.quick:
        return run_eval_throughput(workdir, sizes=(3,), concurrency=(1, 2), base_limit=2)
    return run_eval_throughput(workdir)


def _retrieval(workdir: Path, args: argparse.Namespace) -> list[Any]:
    from bench.retrieval import run_retrieval

    return run_retrieval((200,), hybrid_at=None) if args.quick else run_retrieval()


def _retrieval_stages(workdir: Path, args: argparse.Namespace) -> list[Any]:
    from bench.retrieval import run_stages

    return run_stages((200,), hybrid_at=None) if args.quick else run_stages()


def _seed(workdir: Path, args: argparse.Namespace) -> list[Any]:
    from bench.seeding import run_seed

    return run_seed(workdir, orders=200 if args.quick else 100_000)


def _approval(workdir: Path, args: argparse.Namespace) -> list[Any]:
    from bench.approval import run_approval

    return run_approval(workdir, runs=2 if args.quick else 50)


def _columns(module: str, name: str) -> Callable[[], Sequence[Column]]:
    def load() -> Sequence[Column]:
        return getattr(__import__(f"bench.{module}", fromlist=[name]), name)

    return load


BENCHMARKS: dict[str, Benchmark] = {
    "steps": Benchmark("Per-step overhead", _steps, _columns("steps", "STEP_COLUMNS")),
    "cold": Benchmark("Cold start", _cold, _columns("cold", "COLD_COLUMNS")),
    "evals": Benchmark("Eval harness throughput (--model replay)", _evals, _columns("eval_throughput", "EVAL_COLUMNS")),
    "retrieval": Benchmark("Retrieval latency", _retrieval, _columns("retrieval", "RETRIEVAL_COLUMNS")),
    "retrieval-stages": Benchmark(
        "Retrieval latency per stage", _retrieval_stages, _columns("retrieval", "STAGE_COLUMNS")
    ),
    "seed": Benchmark("Seed time", _seed, _columns("seeding", "SEED_COLUMNS")),
    "approval": Benchmark("Approval decide → resume", _approval, _columns("approval", "APPROVAL_COLUMNS")),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the benchmarks run")
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds of the steps benchmark")
    parser.add_argument(
        "--durability", choices=["sync", "async", "exit"], default="sync", help="the peers' checkpoint durability"
    )
    parser.add_argument("--json", type=Path, help="also write every row as JSON here")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary one)")
    return parser.parse_args(argv)


def run(names: Sequence[str], args: argparse.Namespace, workdir: Path) -> dict[str, list[Any]]:
    """Run the benchmarks in order, printing each table as soon as it is ready."""
    results: dict[str, list[Any]] = {}
    for name in names:
        bench = BENCHMARKS[name]
        print(f"running {name}…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        rows = bench.run(workdir / name, args)
        results[name] = rows
        took = time.perf_counter() - started
        print(f"\n## {bench.title}\n\n{markdown_table(rows, bench.columns())}\n\n_{name}: {took:.0f} s_", flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, list[Any]]:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["load"]:  # a soak against `tiller serve` with its own options; never part of "all"
        from bench.load import main as load_main

        return {"load": list(load_main(argv[1:]))}
    if argv[:1] == ["peer-venv"]:  # the venv LangGraph Server runs from in the load test
        from bench.load_peer import main as peer_venv_main

        peer_venv_main(argv[1:])
        return {}
    args = parse_args(argv)
    names = args.names or list(BENCHMARKS)
    print(f"## Machine\n\n{machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tiller-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        results = run(names, args, workdir)
    if args.json:
        args.json.write_text(json.dumps({k: [asdict(r) for r in v] for k, v in results.items()}, indent=2))
    return results


if __name__ == "__main__":
    main()
