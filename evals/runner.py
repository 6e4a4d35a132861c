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
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from agent.models.factory import ModelChain
from agent.models.router import RouterChain
from agent.runtime import Tiller
from evals.arg_matching import render_call
from evals.conversation import Conversation
from evals.database import RowReader, read_only
from evals.errors import ScenarioSetupError
from evals.homes import RetrievalMode, SeededHomes, hermetic_limits
from evals.judge import Judge
from evals.metrics import summarize
from evals.model_choice import choose_model, harness_model, is_live
from evals.results import CheckResult, RunRecord, ScenarioResult, TrialResult
from evals.scenario import Scenario
from evals.scoring import score_trial
from evals.simulator import SimulatedUser
from evals.state import database_changes
from evals.traces import TraceSink
from evals.transcript import Transcript

ModelFactory = Callable[[Scenario, int], BaseChatModel | ModelChain | RouterChain]
"""``(scenario, trial) -> model``: overrides ``--model`` (selfcheck and record use it)."""
TrialDone = Callable[[Scenario, TrialResult], None]


@dataclass(frozen=True)
class RunOptions:
    """How to run: model spec, trials per scenario, parallel trials, where to work."""

    model: str = "offline"
    k: int = 1
    concurrency: int = 1
    retrieval_mode: RetrievalMode = "bm25"
    include_unsupported: bool = False
    """Run ``offline: false`` scenarios on the offline model too (they are skipped otherwise)."""
    work_dir: Path | None = None
    keep_homes: bool = False
    skip_checks: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    judge: str | None = None
    """Model spec of the LLM judge that grades rubrics (none: rubric checks are skipped)."""
    simulator: str | None = None
    """Model spec of the simulated user (none: scenarios with a ``user_simulator`` are skipped)."""
    traces_db: str | None = None
    """Database URL that receives a copy of every trial's traces (``evals.traces``); none: dropped."""
    processes: int | None = None
    """Worker processes for the trials (``evals.parallel``; worth it for offline and replayed
    models on idle cores); 0 or 1: threads only; ``None``: decided per run (``auto_processes``)."""


@dataclass(frozen=True)
class HarnessModels:
    """The models the harness itself uses, shared by every trial of a run."""

    judge: Judge | None = None
    simulated_user: SimulatedUser | None = None

    @classmethod
    def from_options(cls, options: RunOptions) -> HarnessModels:
        """Built from the specs of ``options``; raise ``HarnessModelError`` when one is unusable."""
        judge = Judge(harness_model(options.judge, "judge")) if options.judge else None
        user = SimulatedUser.from_chain(harness_model(options.simulator, "simulator")) if options.simulator else None
        return cls(judge, user)


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
    for fixtures in dict.fromkeys(s.fixtures for s in runnable):
        homes.template(fixtures)  # seed up front: trials then only copy
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
            from evals.parallel import run_in_processes

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


def run_trial(
    scenario: Scenario,
    trial: int,
    homes: SeededHomes,
    factory: ModelFactory,
    options: RunOptions,
    harness: HarnessModels | None = None,
    sink: TraceSink | None = None,
) -> TrialResult:
    """One trial on a fresh home; never raises for a failure of the agent or the model."""
    harness = harness or HarnessModels()
    home = homes.fresh(scenario.fixtures, f"{scenario.id}-{trial}")
    transcript = Transcript()
    error: str | None = None
    try:
        model = factory(scenario, trial)
        limits = hermetic_limits(scenario.limits)
        settings = homes.settings(home, model=options.model, model_retry_initial_s=0.05)
        with Tiller(settings, model=model, limits=limits, policy=scenario.policy) as tiller:
            thread_id = f"eval-{scenario.id}-{trial}"
            labels = {"scenario": scenario.id, "trial": str(trial)}
            conversation = Conversation(
                tiller, scenario, thread_id, limits, simulated_user=harness.simulated_user, labels=labels
            )
            try:
                transcript = conversation.play()
            finally:
                transcript = conversation.transcript
                if sink is not None:
                    sink.copy_thread(tiller, scenario.tenant, thread_id)
    except ScenarioSetupError as exc:
        error = str(exc)
    except Exception as exc:  # a crash fails this trial, not the run
        error = f"{type(exc).__name__}: {exc}"
        transcript.notes.append("".join(traceback.format_exception_only(exc)).strip())
    try:
        before = homes.reader(scenario.fixtures)
        return _score(scenario, trial, transcript, before, home, error, options, harness.judge)
    finally:
        if not options.keep_homes:
            shutil.rmtree(home, ignore_errors=True)


def _score(
    scenario: Scenario,
    trial: int,
    transcript: Transcript,
    before: RowReader,
    home: Path,
    error: str | None,
    options: RunOptions,
    judge: Judge | None,
) -> TrialResult:
    with read_only(home / "tiller.db") as after_engine:
        after = RowReader(after_engine)
        score = score_trial(scenario, transcript, after, before, skip=options.skip_checks, judge=judge)
        changes = database_changes(after, before)
    checks = score.checks
    if error is not None:
        checks.insert(0, CheckResult(name="run", passed=False, details=[error]))
    return TrialResult(
        trial=trial,
        passed=error is None and not any(c.fails for c in checks),
        checks=checks,
        credit=score.credit,
        matched=score.matched,
        transcript=transcript,
        changes=changes,
        error=error,
    )
