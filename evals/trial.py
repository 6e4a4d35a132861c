"""One trial: a scenario played on a fresh seeded home through the real graph, then scored."""

from __future__ import annotations

import shutil
import traceback
from pathlib import Path

from agent.runtime import Tiller
from evals.conversation import Conversation
from evals.errors import ScenarioSetupError
from evals.homes import SeededHomes, hermetic_limits, template_key
from evals.judge import Judge
from evals.options import HarnessModels, ModelFactory, RunOptions
from evals.results import CheckResult, TrialResult
from evals.scenario import Scenario
from evals.scoring import score_trial
from evals.state import database_changes
from evals.traces import TraceSink
from evals.transcript import Transcript
from tools.domain import load_domain
from tools.rows import RowReader, read_only


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
    key = template_key(scenario)
    home = homes.fresh(key, f"{scenario.id}-{trial}")
    transcript = Transcript()
    error: str | None = None
    try:
        model = factory(scenario, trial)
        limits = hermetic_limits(scenario.limits)
        settings = homes.settings(home, scenario.domain, model=options.model, model_retry_initial_s=0.05)
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
        before = homes.reader(key)
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
        after = RowReader(after_engine, load_domain(scenario.domain).metadata)
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
