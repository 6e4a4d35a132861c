"""The runner: every scenario × k trials through the real graph, each on a fresh seeded home.

For one trial: copy the seeded template home, open a ``Tiller`` on it with the chosen model,
play the conversation (user turns, scripted reviewer, simulated user), read the database back
read-only, and score every expectation (rubrics by the judge). Trials run on a thread pool
(``concurrency``), each on its own copy, so they share nothing but the template and the judge
and simulator models. An exception inside a trial fails that trial only, with its transcript so
far. Scenarios with a ``user_simulator`` are skipped without a simulator model.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evals.arg_matching import render_call
from evals.homes import SeededHomes, template_key
from evals.metrics import summarize
from evals.model_choice import choose_model, is_live
from evals.options import HarnessModels, ModelFactory, RunOptions, TrialDone
from evals.parallel import run_in_processes
from evals.results import RunRecord, ScenarioResult, TrialResult
from evals.run_settings import run_settings
from evals.scenario import Scenario
from evals.traces import TraceSink
from evals.trial import run_trial


@dataclass
class _Job:
    scenario: Scenario
    trial: int
    result: TrialResult | None = None


def run_scenarios(
    scenarios: Sequence[Scenario],
    options: RunOptions,
    *,
    model_factory: ModelFactory | None = None,
    on_trial: TrialDone | None = None,
    harness: HarnessModels | None = None,
) -> RunRecord:
    """Run every scenario ``options.k`` times and return the full record.

    ``harness`` overrides the judge and simulator built from ``options`` (selfcheck scripts the
    simulated user); building them raises ``HarnessModelError`` before anything runs."""
    started = datetime.now(UTC)
    custom_harness = harness is not None
    harness = harness or HarnessModels.from_options(options)
    root = options.work_dir or Path(tempfile.mkdtemp(prefix="tiller-eval-"))
    homes = SeededHomes(root, retrieval_mode=options.retrieval_mode)
    runnable = [s for s in scenarios if _skip_reason(s, options, harness) is None]
    jobs = [_Job(s, t) for s in runnable for t in range(1, options.k + 1)]
    for key in dict.fromkeys(template_key(s) for s in runnable):
        homes.template(key)  # seed up front: trials then only copy
    factory = model_factory or (lambda scenario, _trial: choose_model(options.model, scenario))
    run_label = f"{started:%Y%m%dT%H%M%SZ}"
    processes = _processes(options, len(jobs), custom=model_factory is not None or custom_harness)
    sink = TraceSink.open(options.traces_db, run_label) if options.traces_db and not processes else None

    def finish(job: _Job, result: TrialResult) -> _Job:
        job.result = result
        if on_trial is not None:
            on_trial(job.scenario, result)
        return job

    def work(job: _Job) -> _Job:
        return finish(job, run_trial(job.scenario, job.trial, homes, factory, options, harness, sink))

    try:
        if processes:
            pairs = [(j.scenario, j.trial) for j in jobs]
            run_in_processes(pairs, options, root, run_label, processes, lambda i, r: finish(jobs[i], r))
            done = jobs
        else:
            with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
                done = list(pool.map(work, jobs))
    finally:
        homes.close()
        if sink is not None:
            sink.close()
        if options.work_dir is None and not options.keep_homes:
            shutil.rmtree(root, ignore_errors=True)
    return _record(scenarios, done, options, harness, started)


def _record(
    scenarios: Sequence[Scenario], done: list[_Job], options: RunOptions, harness: HarnessModels, started: datetime
) -> RunRecord:
    """The run's record: every scenario's trials, scored, and the summary."""
    results = [
        _scenario_result(s, [j.result for j in done if j.scenario is s and j.result], options, harness)
        for s in scenarios
    ]
    record = RunRecord(
        started_at=started,
        finished_at=datetime.now(UTC),
        model=options.model,
        judge=harness.judge.spec if harness.judge else None,
        simulator=harness.simulated_user.spec if harness.simulated_user else None,
        k=options.k,
        concurrency=options.concurrency,
        paths=list(options.paths),
        tags=list(options.tags),
        settings=run_settings(scenarios, options),
        scenarios=results,
    )
    record.summary = summarize(record)
    return record


AUTO_MIN_TRIALS = 100
"""Below this many trials, worker processes cost more to start (a few seconds each) than they save."""


def _processes(options: RunOptions, trials: int, *, custom: bool) -> int:
    """Worker processes for this run (0: threads). A model factory or harness given in code
    cannot travel to another process, so those runs use threads."""
    if custom:
        return 0
    wanted = (
        auto_processes(options.model, options.concurrency, trials) if options.processes is None else options.processes
    )
    return wanted if wanted >= 2 else 0


def auto_processes(model: str, concurrency: int, trials: int, cores: int | None = None) -> int:
    """Worker processes when none were asked for: one per core up to ``concurrency`` for a
    model that computes in this process (offline, replay, llamacpp: threads would share one core
    under the GIL) on a run of at least ``AUTO_MIN_TRIALS`` trials; else 0 (threads: a live
    model waits on the network, and a small run would wait on worker start-up)."""
    cores = cores if cores is not None else os.cpu_count() or 1
    if is_live(model) or concurrency < 2 or trials < AUTO_MIN_TRIALS:
        return 0
    return min(concurrency, cores)


NO_SIMULATOR = (
    "a model plays the user in this scenario (user_simulator): run it with --simulator openai:<model> "
    "(or set TILLER_EVAL_SIMULATOR)"
)


def _skip_reason(scenario: Scenario, options: RunOptions, harness: HarnessModels) -> str | None:
    if scenario.user_simulator and harness.simulated_user is None:
        return NO_SIMULATOR
    if options.model == "offline" and not scenario.offline and not options.include_unsupported:
        return "the offline model cannot serve this scenario (offline: false); run it with --model replay or live"
    return None


def _scenario_result(
    scenario: Scenario, trials: list[TrialResult], options: RunOptions, harness: HarnessModels
) -> ScenarioResult:
    skip = _skip_reason(scenario, options, harness)
    expected = scenario.expect.trajectory
    passed = bool(trials) and all(t.passed for t in trials)
    status = "skipped" if skip else "passed" if passed else "failed"
    return ScenarioResult(
        id=scenario.id,
        file=str(scenario.source or ""),
        description=scenario.description,
        tags=list(scenario.tags),
        model=options.model,
        status=status,
        skip_reason=skip,
        expected_calls=[render_call(c.tool, c.args, expected=True) for c in expected.calls] if expected else [],
        trials=sorted(trials, key=lambda t: t.trial),
    )


__all__ = ["HarnessModels", "ModelFactory", "RunOptions", "TrialDone", "auto_processes", "run_scenarios", "run_trial"]
