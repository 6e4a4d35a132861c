"""Run-level numbers: pass rate, pass^k, totals and latency percentiles."""

from __future__ import annotations

from collections.abc import Sequence

from evals.results import RunRecord, RunSummary, ScenarioResult, TierSummary, TrialResult


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latencies(scenarios: Sequence[ScenarioResult]) -> list[float]:
    """The latency of every trial, in seconds."""
    return [t.transcript.latency_s for s in scenarios for t in s.trials]


def summarize(record: RunRecord) -> RunSummary:
    """Totals over the scenarios that ran (skipped ones only counted as skipped)."""
    ran = [s for s in record.scenarios if s.status != "skipped"]
    trials = [t for s in ran for t in s.trials]
    times = latencies(ran)
    return RunSummary(
        scenarios=len(record.scenarios),
        passed=sum(s.status == "passed" for s in ran),
        failed=sum(s.status == "failed" for s in ran),
        skipped=len(record.scenarios) - len(ran),
        trials=len(trials),
        trials_passed=sum(t.passed for t in trials),
        pass_rate=round(sum(t.passed for t in trials) / len(trials), 4) if trials else 0.0,
        pass_hat_k=round(sum(s.pass_hat(record.k) for s in ran) / len(ran), 4) if ran else 0.0,
        steps=sum(t.transcript.steps for t in trials),
        tool_calls=sum(t.transcript.tool_calls for t in trials),
        tokens=sum(t.transcript.tokens for t in trials),
        cost_usd=round(sum(t.transcript.cost_usd for t in trials), 6),
        latency_p50_s=round(percentile(times, 50), 4),
        latency_p95_s=round(percentile(times, 95), 4),
        tiers=tier_summaries(trials),
    )


def tier_summaries(trials: Sequence[TrialResult]) -> list[TierSummary]:
    """Pass rate, cost and latency of the trials each router tier served (empty without a router)."""
    groups: dict[str, list[TrialResult]] = {}
    for trial in trials:
        if (tier := trial.transcript.tier) is not None:
            groups.setdefault(tier, []).append(trial)
    summaries = []
    for tier in sorted(groups):
        group = groups[tier]
        times = [t.transcript.latency_s for t in group]
        cost = sum(t.transcript.cost_usd for t in group)
        summaries.append(
            TierSummary(
                tier=tier,
                trials=len(group),
                passed=sum(t.passed for t in group),
                pass_rate=round(sum(t.passed for t in group) / len(group), 4),
                model_steps=sum(r.tier == tier for t in trials for turn in t.transcript.turns for r in turn.routes),
                cost_usd=round(cost, 6),
                cost_per_trial=round(cost / len(group), 8),
                latency_p50_s=round(percentile(times, 50), 4),
                latency_p95_s=round(percentile(times, 95), 4),
            )
        )
    return summaries
