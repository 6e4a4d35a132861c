"""``tiller run`` and ``tiller worker``: scripted workflow runs, from a file or a queue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.interfaces.cli._common import Tenant, _console, _settings, app, service_cli


@app.command("run")
def run_workflow(
    workflow_file: Annotated[Path, typer.Argument(help="workflow YAML", exists=True, dir_okay=False)],
    inputs: Annotated[Path | None, typer.Option("--inputs", help="JSONL records for the prompt template")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="tasks at once (default: the workflow's)")] = None,
    output: Annotated[Path | None, typer.Option(help="results folder (default: out/workflows/<name>)")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="start over instead of resuming the folder's run")] = False,
    tenant: Tenant = None,
) -> None:
    """Run a workflow's tasks; rerun the same command to resume without redoing finished tasks."""
    from agent.interfaces.cli.workflow_run import run_from_cli

    settings = _settings(tenant)
    service_cli(lambda: run_from_cli(settings, workflow_file, inputs, concurrency, output, fresh, tenant))


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="tasks at once in this process")] = 2,
    lease_s: Annotated[float, typer.Option(min=1, help="seconds a claimed task stays ours without renewal")] = 30.0,
) -> None:
    """Execute queued workflow tasks (API runs with TILLER_WORKFLOW_EXECUTOR=queue); run any number."""
    import signal
    import threading

    from agent.workflows.worker import Worker

    settings = _settings()
    stop = threading.Event()

    def body() -> None:
        runner = Worker(settings, concurrency=concurrency, lease_s=lease_s)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())  # finish the tasks in progress, then exit
        _console().print(f"worker {runner.queue.owner}: waiting for queued workflow tasks (Ctrl-C stops)")
        done = runner.run(stop)
        _console().print(f"worker {runner.queue.owner}: {done} tasks finished")

    service_cli(body)
