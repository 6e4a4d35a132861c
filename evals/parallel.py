"""Trials in worker processes, for models that keep a CPU busy (offline and replayed ones).

Threads are right for live models, which wait on the network; the offline and replay models
compute every turn in Python, so trials in threads take turns on one core (the GIL). With
``--processes N`` (N > 1) the runner hands trials to a pool of spawned worker processes: each
builds the harness, the seeded homes (already seeded by the parent) and the trace sink once,
then runs trials one at a time and sends back their ``TrialResult``. Results come back in
completion order; the parent reports progress as they arrive. Chosen by default only for
large runs of in-process models (``evals.runner.auto_processes``): a worker costs a few seconds
to start, and on a machine whose cores are already busy it gains nothing (see
docs/BENCHMARKS.md for measurements).
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from evals.homes import SeededHomes
from evals.model_choice import choose_model
from evals.options import HarnessModels, ModelFactory, RunOptions
from evals.results import TrialResult
from evals.scenario import Scenario
from evals.traces import TraceSink
from evals.trial import run_trial


@dataclass(frozen=True)
class _WorkerSetup:
    options: RunOptions
    root: Path
    run_label: str
    sys_path: tuple[str, ...] = ()
    """The parent's import path: a domain loaded from a folder put on ``sys.path`` in-process
    must load in the workers too."""


@dataclass(frozen=True)
class _Worker:
    """What a worker process runs its trials with, built once by the pool's initializer."""

    options: RunOptions
    homes: SeededHomes
    harness: HarnessModels
    factory: ModelFactory
    sink: TraceSink | None


_worker: _Worker | None = None


def _start_worker(setup: _WorkerSetup) -> None:
    global _worker
    sys.path[:] = [*setup.sys_path, *(p for p in sys.path if p not in setup.sys_path)]
    options = setup.options
    homes = SeededHomes(setup.root, retrieval_mode=options.retrieval_mode)
    harness = HarnessModels.from_options(options)
    sink = TraceSink.open(options.traces_db, setup.run_label) if options.traces_db else None
    _worker = _Worker(options, homes, harness, lambda scenario, _trial: choose_model(options.model, scenario), sink)


def _run_in_worker(scenario: Scenario, trial: int) -> TrialResult:
    w = _worker
    assert w is not None, "_start_worker is the pool's initializer"
    return run_trial(scenario, trial, w.homes, w.factory, w.options, w.harness, w.sink)


def run_in_processes(
    jobs: Sequence[tuple[Scenario, int]],
    options: RunOptions,
    root: Path,
    run_label: str,
    processes: int,
    on_result: Callable[[int, TrialResult], object],
) -> None:
    """Run every ``(scenario, trial)`` job in ``processes`` spawned workers; ``on_result(index,
    result)`` is called in this process as each one finishes."""
    context = multiprocessing.get_context("spawn")  # never fork a process that has threads
    setup = _WorkerSetup(options, root, run_label, tuple(sys.path))
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_start_worker, initargs=(setup,)) as pool:
        futures: dict[Future[TrialResult], int] = {
            pool.submit(_run_in_worker, scenario, trial): index for index, (scenario, trial) in enumerate(jobs)
        }
        for future in as_completed(futures):
            on_result(futures[future], future.result())
