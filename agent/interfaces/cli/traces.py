"""``tiller traces``: list runs, show one as a timeline, prune old ones."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, cast

import typer

from agent.interfaces.cli._common import Tenant, _console, _open, _settings, app, run_cli

if TYPE_CHECKING:
    from rich.table import Table

    from agent.tracing.costs import CostRow, GroupBy

traces_app = typer.Typer(help="Look at what runs did: spans for nodes, model and tool calls, guards, approvals.")
app.add_typer(traces_app, name="traces")

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` → a timedelta."""
    match = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if not match:
        raise typer.BadParameter(f"expected a number and a unit (s, m, h, d, w), like 30d — got {text!r}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@traces_app.command("list")
def list_traces(
    thread: Annotated[str | None, typer.Option("--thread", help="only this thread")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    tenant: Tenant = None,
) -> None:
    """Recent runs of the tenant."""
    from agent.tracing.render import show_runs

    settings = _settings(tenant)

    def body() -> None:
        with _open(settings) as tiller:
            show_runs(_console(), tiller.traces.list(settings.tenant, thread_id=thread, limit=limit))

    run_cli(body)


@traces_app.command("show")
def show(
    run_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="the trace as JSON")] = False,
    tenant: Tenant = None,
) -> None:
    """One run as a timeline."""
    from agent.tracing.render import show_trace

    settings = _settings(tenant)

    def body() -> None:
        with _open(settings) as tiller:
            trace = tiller.traces.get(settings.tenant, run_id)
        if as_json:
            sys.stdout.write(trace.model_dump_json(indent=2) + "\n")
        else:
            show_trace(_console(), trace)

    run_cli(body)


@traces_app.command("prune")
def prune(
    older_than: Annotated[str, typer.Option("--older-than", help="age, e.g. 30d, 12h")] = "30d",
) -> None:
    """Delete traces older than the given age (all tenants)."""
    from tools.db import utcnow

    age = parse_age(older_than)
    settings = _settings()

    def body() -> None:
        with _open(settings) as tiller:
            removed = tiller.traces.prune(age, utcnow())
        _console().print(f"removed {removed} run(s) older than {older_than}")

    run_cli(body)


@app.command()
def costs(
    by: Annotated[str, typer.Option("--by", help="tenant | model | tier (router) | day")] = "tenant",
    since: Annotated[str, typer.Option("--since", help="how far back, e.g. 7d, 24h")] = "30d",
    project: Annotated[
        str | None, typer.Option("--project", help="monthly request volumes to project, e.g. 100k,1m,10m")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant (default: all)")] = None,
) -> None:
    """What runs cost: per tenant, model or day, per run and per successful task; projections."""
    from rich.table import Table

    from agent.tracing.costs import cost_report, parse_volume, projection, total_runs
    from tools.db import utcnow

    if by not in ("tenant", "model", "tier", "day"):
        raise typer.BadParameter("use tenant, model, tier or day", param_hint="--by")
    group = cast("GroupBy", by)  # checked just above
    window = parse_age(since)
    try:
        volumes = [parse_volume(v) for v in project.split(",")] if project else []
    except ValueError:
        raise typer.BadParameter("volumes like 100k,1m,10m", param_hint="--project") from None
    settings = _settings()

    def body() -> None:
        since_at = utcnow() - window
        with _open(settings) as tiller:
            rows = cost_report(tiller.sessions, by=group, since=since_at, tenant_id=tenant)
            totals = total_runs(tiller.sessions, since=since_at, tenant_id=tenant)
        table = Table(title=f"Costs by {by}, last {since}", title_justify="left")
        for column in (by, "runs", "completed", "tokens in", "tokens out", "cost $", "$/run", "$/success"):
            table.add_column(column, justify="left" if column == by else "right")
        for r in rows:
            per_success = f"{r.per_success:.6f}" if r.per_success is not None else "-"
            table.add_row(
                r.key,
                str(r.runs),
                str(r.completed),
                str(r.input_tokens),
                str(r.output_tokens),
                f"{r.cost_usd:.6f}",
                f"{r.per_run:.6f}",
                per_success,
            )
        console = _console()
        console.print(table)
        if volumes and by in ("model", "tier"):
            console.print(_shares_table(rows, totals[0], volumes, by))
        for p in projection(rows, volumes, totals):
            per_task = p["cost_per_successful_task"]
            console.print(
                f"{p['requests_per_month']:>12,} requests/month → ${p['monthly_cost']:,.2f}/month "
                f"(${p['cost_per_request']:.6f}/request"
                + (f", ${per_task:.6f}/successful task)" if per_task is not None else ")")
            )

    run_cli(body)


def _shares_table(rows: list[CostRow], runs: int, volumes: list[int], by: str) -> Table:
    """What each model or routing tier adds to the monthly bill at each projected volume."""
    from rich.table import Table

    from agent.tracing.costs import share_of

    table = Table(title=f"Monthly cost by {by} (its cost per request of all traffic × volume)", title_justify="left")
    table.add_column(by)
    for v in volumes:
        table.add_column(f"{v:,}/month", justify="right")
    for r in rows:
        table.add_row(r.key, *(f"${x:,.2f}" for x in share_of(r, runs, volumes)))
    return table


@app.command()
def drift(
    window: Annotated[str, typer.Option("--window", help="length of each window, e.g. 7d, 24h")] = "7d",
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant (default: all)")] = None,
    alpha: Annotated[float, typer.Option(help="significance level of the tests")] = 0.01,
    min_delta: Annotated[float, typer.Option(help="smallest absolute rate change worth flagging")] = 0.05,
) -> None:
    """Compare quality signals of the last window with the one before; exit 1 if any is flagged."""
    from rich.table import Table

    from agent.tracing.drift import drift_report
    from tools.db import utcnow

    span = parse_age(window)
    settings = _settings()

    def body() -> None:
        with _open(settings) as tiller:
            signals = drift_report(
                tiller.sessions, now=utcnow(), window=span, tenant_id=tenant, alpha=alpha, min_delta=min_delta
            )
        table = Table(title=f"Drift: last {window} vs the {window} before", title_justify="left")
        for column in ("signal", "before", "now", "n before", "n now", "p", "flag"):
            table.add_column(column, justify="left" if column == "signal" else "right")
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        for s in signals:
            table.add_row(
                s.name,
                fmt(s.baseline),
                fmt(s.current),
                str(s.baseline_n),
                str(s.current_n),
                fmt(s.p_value),
                "[red]DRIFT[/]" if s.flagged else "",
            )
        _console().print(table)
        if any(s.flagged for s in signals):
            raise typer.Exit(1)

    run_cli(body)
