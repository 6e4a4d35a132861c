"""What every command module of the CLI shares: the root app and its sub-apps, the common
options, and how a command reports Tiller's errors (a message and exit code 2).

Heavy modules (LangGraph, SQLAlchemy, the index) are imported inside commands so that
``tiller --help`` stays fast. Every command acts as someone: ``--tenant`` and ``--user``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from agent.config import Settings
    from agent.runtime import Tiller

app = typer.Typer(help="Tiller: tool-using agents you can trust with real business actions.", no_args_is_help=True)


@app.callback()
def _root(
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="the business to run: an installed domain (`tiller domains list`) or pkg.module:domain "
            "(default: TILLER_DOMAIN, else commerce)",
        ),
    ] = None,
) -> None:
    """Tiller: tool-using agents you can trust with real business actions."""
    if domain:
        import os

        os.environ["TILLER_DOMAIN"] = domain  # every command, and the processes it starts, run this domain


approvals_app = typer.Typer(help="Review high-risk actions waiting for approval.", no_args_is_help=True)
db_app = typer.Typer(help="Create, seed, reset and upgrade the database of the domain.", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")
app.add_typer(db_app, name="db")

Tenant = Annotated[
    str | None, typer.Option("--tenant", help="tenant to act in (default: TILLER_TENANT or the domain's)")
]
User = Annotated[str | None, typer.Option("--user", help="acting user (default: TILLER_USER or the domain's)")]
Subject = Annotated[
    str | None,
    typer.Option(
        "--subject",
        "--customer",
        help="act for one principal of the tenant (e.g. a customer id): the tools see and change that "
        "subject's records only (default: tenant-wide)",
    ),
]
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


def _fail(message: str) -> NoReturn:
    from rich.markup import escape

    # One line, however narrow the terminal: scripts and logs read errors line by line.
    _console().print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def run_cli(fn: Any) -> Any:
    """Run a command body, turning Tiller's errors into a message and exit code 2."""
    from agent.errors import TillerError
    from tools.errors import ToolDefinitionError

    try:
        return fn()
    except (TillerError, ToolDefinitionError) as exc:
        _fail(str(exc))


def service_cli(fn: Any) -> Any:
    """``run_cli`` that also turns the service's errors into a message and exit code 2."""
    from agent.interfaces.service.errors import ServiceError

    def body() -> Any:
        try:
            return fn()
        except ServiceError as exc:
            _fail(exc.message)

    return run_cli(body)
