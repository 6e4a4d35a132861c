"""Comparing two runs: which scenarios flipped, and how cost and speed moved.

How a flip is decided (printed with every comparison): with one trial per scenario, any change
of verdict is a flip. With k > 1 trials, a scenario flips only when its *majority* verdict
flips — more than half of its trials passed in one run and at most half in the other. A pass
count that moves without crossing the majority is listed as *unstable* (noise), not as a
regression, so a flaky live model does not fail CI on one unlucky trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evals.results import RunRecord, ScenarioResult

NOISE_RULE = (
    "k=1: any change of verdict is a flip; k>1: a flip needs the majority verdict to change "
    "(more than half the trials passing in one run, at most half in the other); other changes are unstable"
)


@dataclass(frozen=True)
class Delta:
    """One measure of a run against the baseline run."""

    name: str
    base: float
    new: float

    @property
    def change(self) -> float:
        """New minus base."""
        return self.new - self.base

    def render(self) -> str:
        """``name: base → new (change) (percent)``, for the report."""
        percent = f" ({self.change / self.base:+.0%})" if self.base else ""
        return f"{self.name}: {self.base:g} → {self.new:g} ({self.change:+g}){percent}"


@dataclass
class Comparison:
    """What changed between two eval runs: scenarios that broke, got fixed or flip, came or went,
    and the totals' deltas."""

    regressions: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    unstable: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    deltas: list[Delta] = field(default_factory=list)


def _majority_passes(result: ScenarioResult) -> bool | None:
    if result.status == "skipped" or not result.trials:
        return None
    return result.passes * 2 > len(result.trials)


def compare_runs(base: RunRecord, new: RunRecord) -> Comparison:
    """Flips (by the rule in :data:`NOISE_RULE`) and usage deltas from ``base`` to ``new``."""
    old = {s.id: s for s in base.scenarios}
    now = {s.id: s for s in new.scenarios}
    result = Comparison(added=sorted(now.keys() - old.keys()), removed=sorted(old.keys() - now.keys()))
    for sid in sorted(old.keys() & now.keys()):
        before, after = _majority_passes(old[sid]), _majority_passes(now[sid])
        counts = f"{old[sid].passes}/{len(old[sid].trials)} → {now[sid].passes}/{len(now[sid].trials)}"
        if before is None or after is None:
            continue
        if before and not after:
            result.regressions.append(f"{sid}: pass → fail ({counts})")
        elif after and not before:
            result.fixes.append(f"{sid}: fail → pass ({counts})")
        elif old[sid].passes / len(old[sid].trials) != now[sid].passes / len(now[sid].trials):
            result.unstable.append(f"{sid}: {counts}")
    b, n = base.summary, new.summary
    per_trial = [
        ("steps", b.steps, b.trials, n.steps, n.trials),
        ("tokens", b.tokens, b.trials, n.tokens, n.trials),
        ("cost (USD)", b.cost_usd, b.trials, n.cost_usd, n.trials),
    ]
    result.deltas = [
        Delta("pass rate", b.pass_rate, n.pass_rate),
        *(Delta(f"{name} per trial", _ratio(x, xt), _ratio(y, yt)) for name, x, xt, y, yt in per_trial),
        Delta("latency p50 (s)", b.latency_p50_s, n.latency_p50_s),
        Delta("latency p95 (s)", b.latency_p95_s, n.latency_p95_s),
    ]
    return result


def _ratio(total: float, count: int) -> float:
    return round(total / count, 6) if count else 0.0
