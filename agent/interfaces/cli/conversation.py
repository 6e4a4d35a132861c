"""``tiller chat``, ``ask``, ``resume`` and ``threads``: conversations with the agent."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from agent.interfaces.cli._common import Model, Subject, Tenant, User, _console, _open, _settings, app, run_cli


@app.command()
def chat(
    thread: Annotated[str | None, typer.Option("--thread", help="resume this conversation")] = None,
    tenant: Tenant = None,
    user: User = None,
    model: Model = None,
    subject: Subject = None,
) -> None:
    """Chat with the agent; high-risk actions wait for a reviewer."""
    from agent.interfaces.cli.session import ChatSession

    settings = _settings(tenant, user, model)
    run_cli(lambda: ChatSession(_console(), settings, subject=subject).run(thread))


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="the request")],
    thread: Annotated[str | None, typer.Option("--thread", help="continue this conversation")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full result as JSON")] = False,
    tenant: Tenant = None,
    user: User = None,
    model: Model = None,
    subject: Subject = None,
) -> None:
    """Run one request without a conversation and print the answer and status (exit 1 if failed)."""
    settings = _settings(tenant, user, model)

    def body() -> None:
        from agent.interfaces.cli.console import StepPrinter, show_result
        from agent.loop.state import RunStatus

        console = _console()
        with _open(settings) as tiller:
            result = tiller.ask(
                text, thread_id=thread, subject=subject, on_event=None if as_json else StepPrinter(console)
            )
        if as_json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        else:
            show_result(console, result)
        if result.status is RunStatus.FAILED:
            raise typer.Exit(1)

    run_cli(body)


@app.command()
def resume(
    thread: Annotated[str, typer.Argument(help="thread id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    tenant: Tenant = None,
) -> None:
    """Continue a thread after its approvals were decided (or after a crash)."""
    settings = _settings(tenant)

    def body() -> None:
        from agent.interfaces.cli.console import StepPrinter, show_result

        console = _console()
        with _open(settings) as tiller:
            result = tiller.resume(thread, on_event=None if as_json else StepPrinter(console))
        if as_json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        else:
            show_result(console, result)

    run_cli(body)


@app.command()
def threads(tenant: Tenant = None) -> None:
    """List recent conversations of the tenant."""
    settings = _settings(tenant)

    def body() -> None:
        from rich.table import Table

        with _open(settings) as tiller:
            rows = tiller.threads.list(settings.tenant)
        table = Table("thread", "user", "status", "updated", "title")
        for r in rows:
            table.add_row(r.id, r.user_id, r.status, f"{r.updated_at:%Y-%m-%d %H:%M}", r.title)
        _console().print(table)

    run_cli(body)
