"""``tiller db …`` and ``tiller index``: the database schema, seed data, the search index."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.interfaces.cli._common import _console, _settings, app, db_app, run_cli, service_cli


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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the latest migration (Alembic); safe to run again."""
    from agent.persistence.database import connect_engine
    from agent.persistence.migrations import upgrade

    settings = _settings()

    def body() -> None:
        if not settings.uses_postgres:
            settings.home.mkdir(parents=True, exist_ok=True)
        engine = connect_engine(settings.db_url)
        try:
            _console().print(upgrade(engine))
        finally:
            engine.dispose()

    service_cli(body)
