"""The ``tiller`` command line: chat, ask, resume, approvals, db and index.

Heavy modules (LangGraph, SQLAlchemy, the index) are imported inside commands so that
``tiller --help`` stays fast. Every command acts as someone: ``--tenant`` and ``--user``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from agent.config import Settings
    from agent.runtime import Tiller

app = typer.Typer(help="Tiller: tool-using agents you can trust with real business actions.", no_args_is_help=True)
approvals_app = typer.Typer(help="Review high-risk actions waiting for approval.", no_args_is_help=True)
db_app = typer.Typer(help="Create, seed and reset the demo database.", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")
app.add_typer(db_app, name="db")

Tenant = Annotated[str | None, typer.Option("--tenant", help="tenant to act in (default: TILLER_TENANT or acme)")]
User = Annotated[str | None, typer.Option("--user", help="acting user (default: TILLER_USER or agent.demo)")]
Model = Annotated[str | None, typer.Option("--model", help="offline | openai:<model> | replay:<cassette>")]
Reviewer = Annotated[str, typer.Option("--as", help="the reviewer deciding (must differ from the requester)")]


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _settings(tenant: str | None = None, user: str | None = None, model: str | None = None) -> Settings:
    from agent.config import load_settings
    from agent.errors import ConfigError

    overrides = {k: v for k, v in {"tenant": tenant, "user": user, "model": model}.items() if v}
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _open(settings: Settings) -> Tiller:
    from agent.runtime import Tiller

    return Tiller(settings)


def _fail(message: str) -> None:
    _console().print(f"[red]error:[/] {message}")
    raise typer.Exit(2)


def run_cli(fn: Any) -> Any:
    """Run a command body, turning Tiller's errors into a message and exit code 2."""
    from agent.errors import TillerError
    from tools.errors import ToolDefinitionError

    try:
        return fn()
    except (TillerError, ToolDefinitionError) as exc:
        _fail(str(exc))


@app.command()
def chat(
    thread: Annotated[str | None, typer.Option("--thread", help="resume this conversation")] = None,
    tenant: Tenant = None,
    user: User = None,
    model: Model = None,
) -> None:
    """Chat with the agent; high-risk actions wait for a reviewer."""
    from agent.interfaces.cli.session import ChatSession

    settings = _settings(tenant, user, model)
    run_cli(lambda: ChatSession(_console(), settings).run(thread))


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="the request")],
    thread: Annotated[str | None, typer.Option("--thread", help="continue this conversation")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full result as JSON")] = False,
    tenant: Tenant = None,
    user: User = None,
    model: Model = None,
) -> None:
    """Run one request without a conversation and print the answer and status (exit 1 if failed)."""
    settings = _settings(tenant, user, model)

    def body() -> None:
        from agent.interfaces.cli.console import StepPrinter, show_result
        from agent.loop.state import RunStatus

        console = _console()
        with _open(settings) as tiller:
            result = tiller.ask(text, thread_id=thread, on_event=None if as_json else StepPrinter(console))
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


@app.command()
def index(rebuild: Annotated[bool, typer.Option("--rebuild", help="rebuild even if unchanged")] = False) -> None:
    """Build (or check) the knowledge-base search index."""
    from agent.persistence.setup import build_index

    settings = _settings()
    run_cli(lambda: _console().print(build_index(settings, force=rebuild)))


@db_app.command("init")
def db_init() -> None:
    """Create the tables (business data, approvals, ledger); safe to run twice."""
    from agent.persistence.setup import init_database

    run_cli(lambda: _console().print(init_database(_settings())))


@db_app.command("seed")
def db_seed(
    customers: Annotated[int, typer.Option(help="customers of the demo tenant", min=1)] = 500,
    orders: Annotated[int, typer.Option(help="orders of the demo tenant", min=1)] = 2000,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 7,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing if demo data exists")] = False,
) -> None:
    """Fill the demo database with deterministic data (named fixtures + generated volume)."""
    from agent.persistence.setup import seed_database

    settings = _settings()
    run_cli(
        lambda: _console().print(
            seed_database(settings, customers=customers, orders=orders, seed=seed, if_empty=if_empty)
        )
    )


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    customers: Annotated[int, typer.Option(min=1)] = 500,
    orders: Annotated[int, typer.Option(min=1)] = 2000,
) -> None:
    """Drop everything (business data, approvals, threads) and seed afresh."""
    from agent.persistence.database import redacted_url
    from agent.persistence.setup import reset_database

    settings = _settings()
    if not yes:
        typer.confirm(f"Delete all data in {redacted_url(settings.db_url)} and reseed?", abort=True)
    run_cli(lambda: _console().print(reset_database(settings, customers=customers, orders=orders)))


def _add_plugins() -> None:
    """Sub-commands from other packages (e.g. ``tiller eval`` from ``evals``), found through the
    ``tiller.cli`` entry-point group so that ``agent`` never imports them."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="tiller.cli"):
        try:
            app.add_typer(ep.load(), name=ep.name)
        except ImportError as exc:  # a broken plugin must not take the core CLI down
            print(f"warning: tiller plugin {ep.name!r} could not load: {exc}", file=sys.stderr)


def main() -> None:
    _add_plugins()
    app()


from agent.interfaces.cli import (  # noqa: E402, F401 - registers their commands
    approvals,
    audit,
    service,
    traces,
)
