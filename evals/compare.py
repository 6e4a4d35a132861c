"""Comparing two runs: which scenarios flipped, how the numbers moved, and — first — whether
the two runs are comparable at all.

How a flip is decided (printed with every comparison): with one trial per scenario, any change
of verdict is a flip. With k > 1 trials, a scenario flips only when its *majority* verdict
flips — more than half of its trials passed in one run and at most half in the other. A pass
count that moves without crossing the majority is listed as *unstable* (noise), not as a
regression, so a flaky live model does not fail CI on one unlucky trial.

Warnings: every way the runs differ in what decides their results — model, judge, simulator, k,
tags, the scenario set, and what ``run.json`` records in ``settings`` (``evals.run_settings``):
domains, retrieval, runtime limits, the model's endpoint, each scenario's content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from evals.results import RunRecord, RunSettings, ScenarioResult

NOISE_RULE = (
    "k=1: any change of verdict is a flip; k>1: a flip needs the majority verdict to change "
    "(more than half the trials passing in one run, at most half in the other); other changes are unstable"
)

Unit = Literal["rate", "score", "count", "usd", "seconds"]
_DIGITS: dict[str, int] = {"rate": 4, "score": 3, "count": 1, "usd": 6, "seconds": 3}


@dataclass(frozen=True)
class Delta:
    """One number of both runs; ``unit`` says how it reads (a rate as a percentage, …)."""

    name: str
    base: float
    new: float
    unit: Unit = "count"

    @property
    def change(self) -> float:
        """New minus base."""
        return self.new - self.base

    def render(self) -> str:
        """``pass rate: 95.0% → 90.0% (-5.0 pts)``, ``cost per trial: $0.0012 → …``."""
        if self.unit == "rate":
            return f"{self.name}: {self.base:.1%} → {self.new:.1%} ({self.change * 100:+.1f} pts)"
        if self.unit == "score":
            return f"{self.name}: {self.base:.3f} → {self.new:.3f} ({self.change:+.3f})"
        relative = f", {self.change / self.base:+.1%}" if self.base else ""
        shown, moved = _number(self.base, self.unit), _number(self.change, self.unit, signed=True)
        return f"{self.name}: {shown} → {_number(self.new, self.unit)} ({moved}{relative})"

    def as_json(self) -> dict[str, Any]:
        """The delta for ``compare --json``, rounded in its unit."""
        digits = _DIGITS[self.unit]
        return {
            "name": self.name,
            "unit": self.unit,
            "base": round(self.base, digits),
            "new": round(self.new, digits),
            "change": round(self.change, digits),
        }


def _number(value: float, unit: Unit, *, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if unit == "usd":  # cents and up with 4 decimals; fractions of a cent keep their digits
        digits = 4 if abs(value) >= 0.01 or value == 0 else 6
        text = f"{abs(value):,.{digits}f}"
        return f"{'-' if value < 0 else sign if signed else ''}${text}"
    if unit == "seconds":
        return f"{value:{sign},.2f} s"
    return f"{value:{sign},.1f}"


@dataclass
class Comparison:
    """What changed between two eval runs: why they may not compare (warnings), scenarios that
    broke, got fixed or flip, came or went, and the totals' deltas."""

    warnings: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    unstable: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    deltas: list[Delta] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The comparison as ``tiller eval compare --json`` prints it."""
        lists = {k: v for k, v in asdict(self).items() if k != "deltas"}
        return {**lists, "deltas": [d.as_json() for d in self.deltas], "noise_rule": NOISE_RULE}


def _majority_passes(result: ScenarioResult) -> bool | None:
    if result.status == "skipped" or not result.trials:
        return None
    return result.passes * 2 > len(result.trials)


def compare_runs(base: RunRecord, new: RunRecord) -> Comparison:
    """Warnings (:func:`setting_differences`), flips (by the rule in :data:`NOISE_RULE`) and the
    deltas from ``base`` to ``new``."""
    old = {s.id: s for s in base.scenarios}
    now = {s.id: s for s in new.scenarios}
    result = Comparison(
        warnings=setting_differences(base, new),
        added=sorted(now.keys() - old.keys()),
        removed=sorted(old.keys() - now.keys()),
    )
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
    result.deltas = _deltas(base, new)
    return result


def _deltas(base: RunRecord, new: RunRecord) -> list[Delta]:
    b, n = base.summary, new.summary
    per_trial: list[tuple[str, float, float, Unit]] = [
        ("steps per trial", _ratio(b.steps, b.trials), _ratio(n.steps, n.trials), "count"),
        ("tokens per trial", _ratio(b.tokens, b.trials), _ratio(n.tokens, n.trials), "count"),
        ("cost per trial", _ratio(b.cost_usd, b.trials), _ratio(n.cost_usd, n.trials), "usd"),
    ]
    return [
        Delta("pass rate", b.pass_rate, n.pass_rate, "rate"),
        Delta(
            f"pass^k (k={base.k} → {new.k})" if base.k != new.k else f"pass^{base.k}",
            b.pass_hat_k,
            n.pass_hat_k,
            "score",
        ),
        Delta("mean trajectory F1", _mean_f1(base), _mean_f1(new), "score"),
        *(Delta(name, x, y, unit) for name, x, y, unit in per_trial),
        Delta("latency p50", b.latency_p50_s, n.latency_p50_s, "seconds"),
        Delta("latency p95", b.latency_p95_s, n.latency_p95_s, "seconds"),
    ]


def _mean_f1(record: RunRecord) -> float:
    scores = [t.credit.f1 for s in record.scenarios if s.status != "skipped" for t in s.trials]
    return sum(scores) / len(scores) if scores else 0.0


def _ratio(total: float, count: int) -> float:
    return round(total / count, 6) if count else 0.0


def setting_differences(base: RunRecord, new: RunRecord) -> list[str]:
    """Every way the two runs differ in what decides their results, one line each, for a reader
    who must judge whether the comparison means anything."""
    lines = [
        f"{name}: {_shown(b)} → {_shown(n)}{why}"
        for name, b, n, why in (
            ("model", base.model, new.model, ""),
            ("judge", base.judge, new.judge, " (rubric verdicts are not comparable)"),
            ("simulator", base.simulator, new.simulator, " (simulated conversations differ)"),
            ("trials per scenario (k)", base.k, new.k, " (pass^k and majority flips are not comparable)"),
            ("tag filter", ", ".join(base.tags), ", ".join(new.tags), ""),
        )
        if b != n
    ]
    old_ids, new_ids = {s.id for s in base.scenarios}, {s.id for s in new.scenarios}
    if old_ids != new_ids:
        lines.append(
            f"scenario set: {len(old_ids - new_ids)} only in the base run, {len(new_ids - old_ids)} only in the new "
            "one (the totals cover different scenarios)"
        )
    missing = [side for side, record in (("base", base), ("new", new)) if record.settings is None]
    if missing:
        lines.append(
            f"the {' and '.join(missing)} run.json predates version 4: its domains, limits, retrieval, model "
            "endpoint and scenario contents are not recorded, so they could not be compared"
        )
    elif base.settings is not None and new.settings is not None:
        lines += _settings_differences(base.settings, new.settings)
    return lines


def _settings_differences(base: RunSettings, new: RunSettings) -> list[str]:
    lines = [
        f"{name}: {_shown(getattr(base, field))} → {_shown(getattr(new, field))}"
        for name, field in (
            ("domains", "domains"),
            ("retrieval mode", "retrieval_mode"),
            ("offline: false scenarios run offline (--all)", "include_unsupported"),
            ("checks skipped", "skip_checks"),
            ("model endpoint (OPENAI_BASE_URL)", "endpoint"),
            ("local model settings", "local_model"),
        )
        if getattr(base, field) != getattr(new, field)
    ]
    for key in sorted(base.limits.keys() | new.limits.keys()):
        if base.limits.get(key) != new.limits.get(key):
            lines.append(f"runtime limit {key}: {_shown(base.limits.get(key))} → {_shown(new.limits.get(key))}")
    for what, old, now in (("scenario", base.scenarios, new.scenarios), ("cassette", base.cassettes, new.cassettes)):
        changed = sorted(i for i in old.keys() & now.keys() if old[i] != now[i])
        if changed:
            listed = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            lines.append(f"{len(changed)} {what}(s) changed between the runs: {listed}")
    return lines


def _shown(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
