"""``tiller serve``, ``tiller keys …`` and ``tiller run``: the service and scripted workflow runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.interfaces.cli.app import Tenant, _console, _fail, _settings, app, db_app, run_cli

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent.config import Settings

keys_app = typer.Typer(help="API keys of the HTTP service (shown once, stored as a hash).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _service_cli(fn: Any) -> Any:
    """``run_cli`` that also turns the service's errors into a message and exit code 2."""
    from agent.interfaces.service.errors import ServiceError

    def body() -> Any:
        try:
            return fn()
        except ServiceError as exc:
            _fail(exc.message)

    return run_cli(body)


def _key_sessions(settings: Settings) -> sessionmaker[Session]:
    from agent.persistence.database import open_database

    _engine, sessions = open_database(settings.db_url, require_demo_schema=False)
    return sessions


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (share state through the database)")] = 1,
) -> None:
    """Serve the HTTP API (/docs), the reviewer inbox (/review) and the chat page (/chat)."""
    import uvicorn

    from agent.interfaces.service.config import load_service_settings
    from agent.persistence.database import open_database

    settings = _settings()

    def prepare() -> None:
        """Fail here with a message, not in every worker with a traceback; and create the tables
        (service, checkpoints) once, before the workers start and would race to create them."""
        from agent.persistence.checkpoint import open_checkpointer

        load_service_settings()
        engine, _ = open_database(settings.db_url, require_demo_schema=True)
        engine.dispose()
        with open_checkpointer(settings.db_url, settings.checkpoint_path):
            pass

    run_cli(prepare)
    console = _console()
    base = f"http://{host}:{port}"
    console.print(f"Tiller on [bold]{base}[/] — API docs {base}/docs · inbox {base}/review · chat {base}/chat")
    console.print("Create keys with [bold]tiller keys create --tenant acme --role user|reviewer --name NAME[/].")
    uvicorn.run(
        "agent.interfaces.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ws="none",
        log_level="info",
    )


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="the tenant the key acts in")],
    role: Annotated[str, typer.Option("--role", help="user | reviewer | admin")],
    name: Annotated[str | None, typer.Option("--name", help="the acting user (requester / decider)")] = None,
    rate_per_minute: Annotated[int | None, typer.Option(min=1, help="requests per minute (default: service's)")] = None,
    max_concurrent_runs: Annotated[int | None, typer.Option(min=1, help="runs at once (default: service's)")] = None,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from agent.interfaces.service.keys import KeyStore

    settings = _settings()

    def body() -> None:
        info, key = KeyStore(_key_sessions(settings)).create(
            tenant=tenant,
            role=role,
            name=name,
            rate_per_minute=rate_per_minute,
            max_concurrent_runs=max_concurrent_runs,
        )
        console = _console()
        console.print(f"Created {info.role} key [bold]{info.id}[/] for {info.name} in tenant {info.tenant}.")
        console.print("Copy it now — it is not stored and cannot be shown again:")
        typer.echo(key)

    _service_cli(body)


@keys_app.command("list")
def keys_list(tenant: Tenant = None) -> None:
    """Keys (never their secrets), newest first; all tenants unless --tenant."""
    from rich.table import Table

    from agent.interfaces.service.keys import KeyStore

    settings = _settings()

    def body() -> None:
        table = Table("id", "tenant", "role", "name", "created", "revoked")
        for k in KeyStore(_key_sessions(settings)).list(tenant):
            revoked = f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else ""
            table.add_row(k.id, k.tenant, k.role, k.name, f"{k.created_at:%Y-%m-%d %H:%M}", revoked)
        _console().print(table)

    _service_cli(body)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id (from `tiller keys list`)")]) -> None:
    """Revoke a key: requests with it fail from the next one on."""
    from agent.interfaces.service.keys import KeyStore

    settings = _settings()

    def body() -> None:
        info = KeyStore(_key_sessions(settings)).revoke(key_id)
        _console().print(f"Revoked key {info.id} ({info.role} {info.name} in {info.tenant}).")

    _service_cli(body)


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
    from agent.interfaces.cli.workflows import run_from_cli

    settings = _settings(tenant)
    _service_cli(lambda: run_from_cli(settings, workflow_file, inputs, concurrency, output, fresh, tenant))


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

    _service_cli(body)


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

    _service_cli(body)
