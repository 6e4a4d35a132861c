"""``tiller run``: a workflow from the command line, with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.config import Settings, domain_of
from agent.persistence.database import open_database
from agent.workflows.files import ProgressHook, ResultsFolder
from agent.workflows.runner import WorkflowRunner
from agent.workflows.runtime import workflow_tiller
from agent.workflows.spec import Task, Workflow, expand_tasks, load_workflow, read_inputs


def run_from_cli(
    settings: Settings,
    workflow_file: Path,
    inputs: Path | None,
    concurrency: int | None,
    output: Path | None,
    fresh: bool,
    tenant: str | None,
) -> None:
    """Run (or resume) the workflow; exit 1 when a task failed or could not run."""
    workflow = load_workflow(workflow_file)
    tasks = expand_tasks(workflow, read_inputs(inputs) if inputs else None, str(inputs or "inputs"))
    engine, _ = open_database(settings.db_url, require=domain_of(settings))  # a clear message if it is missing
    engine.dispose()
    console = Console(highlight=False)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
    )
    bar = progress.add_task(workflow.name, total=len(tasks), note="")
    folder = ResultsFolder(
        output or Path("out/workflows") / workflow.name, workflow, fresh=fresh, hook=_hook(progress, bar)
    )
    try:
        progress.update(bar, completed=len(folder.finished() & {t.id for t in tasks}))
        with progress:
            summary = _run_pass(settings, workflow, tasks, folder, concurrency, tenant or workflow.tenant)
    finally:
        folder.close()
    _show(console, summary)
    if any(s in summary["statuses"] for s in ("failed", "error")):
        raise typer.Exit(1)


def _run_pass(
    settings: Settings,
    workflow: Workflow,
    tasks: list[Task],
    folder: ResultsFolder,
    concurrency: int | None,
    tenant: str | None,
) -> dict[str, Any]:
    tiller = workflow_tiller(settings, workflow)
    try:
        runner = WorkflowRunner(
            tiller, workflow, run_id=folder.run_id, tenant=tenant or settings.tenant, user=workflow.acting_user()
        )
        this_pass = runner.run(tasks, folder, concurrency)
    finally:
        tiller.close()
    return folder.write_summary(tasks, this_pass)


def _hook(progress: Progress, bar: TaskID) -> ProgressHook:
    """Advance the bar on each result; show how many tasks wait for reviewers."""
    waiting: set[str] = set()

    def hook(event: str, task_id: str) -> None:
        if event == "waiting":
            waiting.add(task_id)
        else:
            waiting.discard(task_id)
        note = f"{len(waiting)} waiting for reviewers" if waiting else ""
        progress.update(bar, advance=1 if event == "recorded" else 0, note=note)

    return hook


def _show(console: Console, summary: dict[str, Any]) -> None:
    table = Table("status", "tasks", title=f"run {summary['run_id']}", title_justify="left")
    for status, count in summary["statuses"].items():
        table.add_row(status, str(count))
    console.print(table)
    passed = summary["this_pass"]
    console.print(
        f"this pass: {passed['total'] - passed['skipped']} run, {passed['skipped']} already finished, "
        f"{passed['elapsed_s']:.1f}s · results: {summary['results']}"
    )
