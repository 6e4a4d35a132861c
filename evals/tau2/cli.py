"""``tiller tau2 …``: τ²-bench's tasks as scenarios, and how Tiller's verdicts agree with τ²'s.

Registered through the ``tiller.cli`` entry-point group like ``tiller eval``. Needs the ``tau2``
extra; without it (or for a domain τ² does not have) every command prints one line saying what
to do and exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="τ²-bench's domains: import their tasks as scenarios, compare verdicts with τ²'s evaluator.")

DomainArg = Annotated[str, typer.Argument(help="a τ² domain: retail, airline… (tau2-retail works too)")]
TasksOpt = Annotated[list[str] | None, typer.Option("--task", help="only these task ids (repeatable)")]


def _name(domain: str) -> str:
    return domain.removeprefix("tau2-")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("import")
def import_command(
    domain: DomainArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write scenarios and cassettes/ into")],
    task: TasksOpt = None,
) -> None:
    """Write one scenario and its gold cassette per τ² task (run them: tiller eval run OUT --model replay)."""
    from tools.errors import ToolDefinitionError

    try:
        from evals.tau2.importer import import_tasks

        report = import_tasks(_name(domain), out, task)
    except ToolDefinitionError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {len(report.written)} scenarios (and their cassettes) to {out}")
    for task_id, why in report.skipped:
        typer.echo(f"skipped task {task_id}: {why}")


@app.command("agree")
def agree_command(
    domain: DomainArg,
    task: TasksOpt = None,
    first: Annotated[int | None, typer.Option("--first", min=1, help="only the first N tasks")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1)] = 2,
    output: Annotated[Path | None, typer.Option("--json", help="write every outcome to this JSON file")] = None,
) -> None:
    """Run each task's gold, no-op and drop-last conversations; compare Tiller's verdicts with τ²'s."""
    from tools.errors import ToolDefinitionError

    try:
        from evals.tau2.agree import VARIANTS, agree
        from tools.tau2 import source

        ids = task or ([str(t.id) for t in source.tasks(_name(domain))][:first] if first else None)
        result = agree(_name(domain), ids, concurrency=concurrency)
    except ToolDefinitionError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"τ² {result.domain}: Tiller's verdict vs τ²'s evaluator, per variant")
    typer.echo(
        f"{'variant':<10} {'trials':>6} {'agree':>6} {'both pass':>9} {'both fail':>9} "
        f"{'τ² only':>8} {'Tiller only':>11}"
    )
    for variant in VARIANTS:
        t = result.table(variant)
        typer.echo(
            f"{variant:<10} {t['total']:>6} {t['agree']:>6} {t['both_pass']:>9} {t['both_fail']:>9} "
            f"{t['tau2_only']:>8} {t['tiller_only']:>11}"
        )
        flagged = result.flagged_by(variant)
        if flagged:
            shown = ", ".join(f"{check} {n}" for check, n in flagged.most_common())
            typer.echo(f"{'':<10} τ² passes, Tiller fails — failing checks: {shown}")
    for task_id, why in result.skipped:
        typer.echo(f"skipped task {task_id}: {why}")
    if output is not None:
        data = {
            "domain": result.domain,
            "tables": {v: result.table(v) for v in VARIANTS},
            "outcomes": [o.__dict__ for o in result.outcomes],
            "skipped": result.skipped,
        }
        output.write_text(json.dumps(data, indent=2), encoding="utf-8")
