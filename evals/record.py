"""Recording cassettes: run scenarios on a model and keep its turns for ``--model replay``.

Each scenario runs once with the model wrapped in a ``CassetteRecorder`` writing to a scratch
file; the cassette replaces the scenario's own (``cassette:`` or ``cassettes/<id>.yaml``) only
when the recorded trial passed, so a replay suite never inherits a failing recording (pass
``keep_failing`` to keep those too, e.g. to inspect them).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from agent.models.chain import ModelChain
from agent.models.replay import CassetteRecorder
from agent.models.router import RouterChain
from evals.errors import ScenarioSetupError
from evals.model_choice import choose_model
from evals.results import RunRecord
from evals.runner import RunOptions, run_scenarios
from evals.scenario import Scenario


@dataclass(frozen=True)
class Recorded:
    """What recording one scenario's cassette did: whether its replay passes, the file written."""

    scenario: Scenario
    passed: bool
    written: Path | None
    explanations: list[str]
    skipped: str | None = None
    """Why the scenario was not recorded (a simulated user without --simulator)."""


def record_cassettes(
    scenarios: Sequence[Scenario], options: RunOptions, *, keep_failing: bool = False
) -> tuple[list[Recorded], RunRecord]:
    """Record one trial of each scenario with ``options.model``; return what was written."""
    with tempfile.TemporaryDirectory(prefix="tiller-record-") as scratch:
        scratch_dir = Path(scratch)

        def recorder(scenario: Scenario, _trial: int) -> CassetteRecorder:
            model = choose_model(options.model, scenario)
            if isinstance(model, RouterChain):  # its replies come from two tiers, a cassette from one model
                raise ScenarioSetupError(
                    f"model {options.model!r}: a router cannot be recorded; record one tier's spec"
                )
            inner = model.models[0] if isinstance(model, ModelChain) else model
            return CassetteRecorder(inner, scratch_dir / f"{scenario.id}.yaml", model=options.model)

        run = run_scenarios(scenarios, replace(options, k=1, include_unsupported=True), model_factory=recorder)
        results = []
        for scenario, outcome in zip(scenarios, run.scenarios, strict=True):
            trial = outcome.trials[0] if outcome.trials else None
            passed = trial is not None and trial.passed
            source = scratch_dir / f"{scenario.id}.yaml"
            written = None
            if source.exists() and (passed or keep_failing):
                written = scenario.cassette_path
                written.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, written)
            explanations = trial.explanations if trial else []
            results.append(Recorded(scenario, passed, written, explanations, skipped=outcome.skip_reason))
    return results, run
