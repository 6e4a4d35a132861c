"""The console summary: one row per scenario, an overall row, then why each failure failed and
why a trajectory that passes has an F1 below 1.

The ``rubric`` column shows the judge's verdicts: criteria met / judged over the trials,
``error`` when the judge gave no usable verdict, ``skip`` when no rubric was judged. The ``F1``
column is the worst trial's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evals.metrics import percentile
from evals.results import CheckResult, RunRecord, ScenarioResult, TrialResult

_STATUS = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]", "skipped": "[yellow]SKIP[/]"}


def summary_table(record: RunRecord) -> Table:
    """The run as a console table: one row per scenario and a totals row."""
    title = f"tiller eval · model {record.model}"
    title += f" · judge {record.judge}" if record.judge else ""
    title += f" · simulator {record.simulator}" if record.simulator else ""
    table = Table(title=escape(f"{title} · k={record.k}"), title_justify="left")
    columns = ("scenario", "result", f"pass^{record.k}", "trials", "F1", "rubric", "steps", "calls", "tokens", "cost $")
    for column in columns:
        table.add_column(column, justify="left" if column == "scenario" else "right", no_wrap=column == "scenario")
    table.add_column("p50/p95 s", justify="right")
    for scenario in record.scenarios:
        table.add_row(*_row(scenario, record.k))
    s = record.summary
    table.add_section()
    table.add_row(
        f"[bold]overall[/] ({s.passed} passed, {s.failed} failed, {s.skipped} skipped)",
        f"{s.passed}/{s.passed + s.failed}",
        f"{s.pass_hat_k:.2f}",
        f"{s.trials_passed}/{s.trials}",
        "",
        "",
        str(s.steps),
        str(s.tool_calls),
        str(s.tokens),
        f"{s.cost_usd:.4f}",
        f"{s.latency_p50_s:.2f} / {s.latency_p95_s:.2f}",
    )
    return table


def tier_table(record: RunRecord) -> Table | None:
    """With a router: what each tier served, how often it passed, what it cost."""
    if not record.summary.tiers:
        return None
    table = Table(title="by routing tier (strong = at least one step escalated)", title_justify="left")
    for column in ("tier", "trials", "pass rate", "steps served", "cost $", "$/trial", "p50/p95 s"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for t in record.summary.tiers:
        table.add_row(
            t.tier,
            str(t.trials),
            f"{t.pass_rate:.0%}",
            str(t.model_steps),
            f"{t.cost_usd:.4f}",
            f"{t.cost_per_trial:.6f}",
            f"{t.latency_p50_s:.2f} / {t.latency_p95_s:.2f}",
        )
    return table


def _row(scenario: ScenarioResult, k: int) -> list[str]:
    trials = scenario.trials
    if not trials:
        return [escape(scenario.id), _STATUS[scenario.status], *([""] * 9)]
    times = [t.transcript.latency_s for t in trials]
    return [
        escape(scenario.id),
        _STATUS[scenario.status],
        f"{scenario.pass_hat(k):.2f}",
        f"{scenario.passes}/{len(trials)}",
        f"{min(t.credit.f1 for t in trials):.2f}",
        rubric_cell([c for checks in scenario.rubric_checks().values() for c in checks]),
        _mean(t.transcript.steps for t in trials),
        _mean(t.transcript.tool_calls for t in trials),
        _mean(t.transcript.tokens for t in trials),
        f"{sum(t.transcript.cost_usd for t in trials) / len(trials):.4f}",
        f"{percentile(times, 50):.2f} / {percentile(times, 95):.2f}",
    ]


def rubric_cell(checks: list[CheckResult]) -> str:
    """Criteria met / judged, ``error`` if the judge failed, ``skip`` if nothing was judged."""
    if not checks:
        return ""
    if any(c.error for c in checks):
        return "[red]error[/]"
    judged = [r for c in checks if not c.skipped for r in c.criteria]
    if not judged:
        return "[yellow]skip[/]"
    met = sum(r.passed for r in judged)
    colour = "green" if met == len(judged) else "red"
    return f"[{colour}]{met}/{len(judged)}[/]"


def _mean(values: Iterable[float]) -> str:
    numbers = list(values)
    mean = sum(numbers) / len(numbers) if numbers else 0
    return f"{mean:.0f}" if float(mean).is_integer() or mean >= 100 else f"{mean:.1f}"


def print_report(record: RunRecord, console: Console, *, verbose: bool = False) -> None:
    """The table, then the explanations of each failed scenario (all trials with ``verbose``)."""
    console.print(summary_table(record))
    if (tiers := tier_table(record)) is not None:
        console.print(tiers)
    for scenario in record.scenarios:
        if scenario.status != "failed":
            continue
        console.print(f"\n[red bold]✗ {escape(scenario.id)}[/] [dim]{escape(scenario.file)}[/]")
        failing = [t for t in scenario.trials if not t.passed]
        for trial in failing if verbose else failing[:1]:
            if len(scenario.trials) > 1:
                console.print(f"  trial {trial.trial}:")
            for line in trial.explanations:
                console.print(f"    {escape(line)}")
        if not verbose and len(failing) > 1:
            console.print(f"  [dim]({len(failing) - 1} more failing trial(s); --verbose shows them)[/]")
    _print_partial_credit(record, console)
    for scenario in record.scenarios:
        if scenario.status == "skipped":
            console.print(f"[yellow]skipped[/] {escape(scenario.id)}: {escape(scenario.skip_reason or '')}")
    _print_unjudged(record, console)


SHOWN_CALLS = 3
"""Calls listed per kind (matched, extra, missing) under a partial F1; run.json has them all."""


def partial_trial(scenario: ScenarioResult) -> TrialResult | None:
    """The scenario's worst-F1 trial whose trajectory check passed with F1 below 1, if any: a
    pass the F1 column alone would leave unexplained (a failed check explains itself)."""
    partial = [
        t for t in scenario.trials if t.credit.note and any(c.name == "trajectory" and c.passed for c in t.checks)
    ]
    return min(partial, key=lambda t: t.credit.f1) if partial else None


def _print_partial_credit(record: RunRecord, console: Console) -> None:
    for scenario in record.scenarios:
        trial = partial_trial(scenario)
        if trial is None:
            continue
        credit = trial.credit
        which = f" (trial {trial.trial})" if len(scenario.trials) > 1 else ""
        console.print(f"\n[cyan]~ {escape(scenario.id)}{which}[/] {escape(credit.note)}")
        for label, calls in (("matched", credit.matched), ("extra", credit.extra), ("missing", credit.missing)):
            for call in calls[:SHOWN_CALLS]:
                console.print(f"    {label}: {escape(call)}")
            if len(calls) > SHOWN_CALLS:
                console.print(f"    [dim]… {len(calls) - SHOWN_CALLS} more {label} (run.json, report.html)[/]")


def _print_unjudged(record: RunRecord, console: Console) -> None:
    """Rubrics left unjudged, grouped by why: skipped checks never pass silently."""
    why: dict[str, list[str]] = defaultdict(list)
    for scenario in record.scenarios:
        for name, checks in scenario.rubric_checks().items():
            for detail in dict.fromkeys(d for c in checks if c.skipped for d in c.details):
                why[detail].append(f"{scenario.id} ({name})")
    for detail, where in why.items():
        console.print(f"[yellow]rubric skipped[/] {escape(detail)}: {escape(', '.join(where))}")
