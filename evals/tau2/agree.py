"""Do Tiller's verdicts agree with τ²'s own evaluator? ``tiller tau2 agree DOMAIN``.

Each task's scenario (``evals.tau2.importer``) is run three ways, each a replayed cassette:

- ``gold``: the gold conversation (every gold action, then the communicate_info);
- ``noop``: no tool call at all, the same final answer;
- ``drop_last``: the gold actions without the last one, the same final answer.

Every trial gets Tiller's verdict (all its checks) and τ²'s (``tools.tau2.verdict``: the calls
that ran in the trial, replayed through τ²'s evaluator with the trial's answers). The report
counts, per variant, the four cells of (Tiller passes?, τ² passes?), and for each trial where
τ² passes but Tiller does not, the Tiller checks that failed — what Tiller flags that τ² cannot
see (τ² grades the final database and the answer; Tiller also the calls made).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evals.loader import discover
from evals.results import TrialResult
from evals.runner import RunOptions, run_scenarios
from evals.tau2.importer import brief_of, import_tasks, scenario_id
from tools.tau2 import source
from tools.tau2.verdict import Call, tau2_verdict

VARIANTS = ("gold", "noop", "drop_last")
RAN = frozenset({"executed", "replayed"})


def variant_turns(turns: list[dict[str, Any]], variant: str) -> list[dict[str, Any]]:
    """The cassette of a variant, from the gold cassette's turns (calls…, final answer)."""
    calls, final = turns[:-1], turns[-1]
    if variant == "gold":
        return turns
    if variant == "noop":
        return [final]
    if variant == "drop_last":
        return [*calls[:-1], final]
    raise ValueError(f"unknown variant {variant!r} (variants: {', '.join(VARIANTS)})")


@dataclass
class Outcome:
    """One trial of one variant: both verdicts, and the Tiller checks that failed."""

    task: str
    variant: str
    tiller: bool
    tau2: bool
    failed_checks: list[str] = field(default_factory=list)


@dataclass
class Agreement:
    """All outcomes of an agreement run."""

    domain: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def table(self, variant: str) -> dict[str, int]:
        """``{both_pass, both_fail, tiller_only, tau2_only, agree, total}`` for a variant."""
        rows = [o for o in self.outcomes if o.variant == variant]
        cells = Counter(
            "both_pass"
            if o.tiller and o.tau2
            else "both_fail"
            if not (o.tiller or o.tau2)
            else "tiller_only"
            if o.tiller
            else "tau2_only"
            for o in rows
        )
        out = {k: cells.get(k, 0) for k in ("both_pass", "both_fail", "tiller_only", "tau2_only")}
        return {**out, "agree": out["both_pass"] + out["both_fail"], "total": len(rows)}

    def flagged_by(self, variant: str) -> Counter[str]:
        """Where τ² passes and Tiller fails: how often each Tiller check failed."""
        return Counter(
            c for o in self.outcomes if o.variant == variant and o.tau2 and not o.tiller for c in o.failed_checks
        )


def _tiller_calls(trial: TrialResult) -> list[Call]:
    """The calls τ² must see: those that ran, and those τ²'s tool itself refused."""
    return [
        Call(c.tool, c.args)
        for c in trial.transcript.calls
        if c.status in RAN or (c.status == "error" and (c.error_kind or "") == "business_rule")
    ]


def _answers(trial: TrialResult) -> list[str]:
    return [a for turn in trial.transcript.turns for a in (turn.answers or [turn.answer])]


def _write_variants(scenarios: Path, root: Path) -> None:
    for variant in VARIANTS:
        folder = root / variant
        (folder / "cassettes").mkdir(parents=True, exist_ok=True)
        for path in scenarios.glob("*.yaml"):
            shutil.copy(path, folder / path.name)
            cassette = yaml.safe_load((scenarios / "cassettes" / path.name).read_text(encoding="utf-8"))
            cassette["turns"] = variant_turns(cassette["turns"], variant)
            text = yaml.safe_dump(cassette, sort_keys=False, allow_unicode=True)
            (folder / "cassettes" / path.name).write_text(text, encoding="utf-8")


def agree(name: str, task_ids: list[str] | None = None, *, concurrency: int = 2, work: Path | None = None) -> Agreement:
    """Run every variant of the tasks of τ² domain ``name`` and compare the two verdicts."""
    root = work or Path(tempfile.mkdtemp(prefix="tiller-tau2-agree-"))
    try:
        report = import_tasks(name, root / "scenarios", task_ids)
        result = Agreement(domain=name, skipped=report.skipped)
        _write_variants(root / "scenarios", root)
        tasks = {scenario_id(name, str(t.id)): t for t in source.tasks(name)}
        for variant in VARIANTS:
            found = discover([root / variant])
            if found.errors:
                raise ValueError(f"{variant}: {found.errors[0]}")
            record = run_scenarios(found.scenarios, RunOptions(model="replay", concurrency=concurrency))
            for scenario in record.scenarios:
                trial = scenario.trials[0]
                task = tasks[scenario.id]
                verdict = tau2_verdict(name, task, brief_of(task), _tiller_calls(trial), _answers(trial))
                failed = [c.name for c in trial.checks if c.fails]
                result.outcomes.append(Outcome(str(task.id), variant, trial.passed, verdict.passed, failed))
        return result
    finally:
        if work is None:
            shutil.rmtree(root, ignore_errors=True)
