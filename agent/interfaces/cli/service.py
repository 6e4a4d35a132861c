"""``tiller serve``, ``tiller keys …`` and ``tiller run``: the service and scripted workflow runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agent.interfaces.cli._common import Tenant, _console, _settings, app, run_cli, service_cli

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent.config import Settings

keys_app = typer.Typer(help="API keys of the HTTP service (shown once, stored as a hash).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_sessions(settings: Settings) -> sessionmaker[Session]:
    from agent.persistence.database import open_database

    _engine, sessions = open_database(settings.db_url)
    return sessions


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, help="worker processes (share state through the database, and Redis when set)")
    ] = 1,
) -> None:
    """Serve the HTTP API (/docs), the reviewer inbox (/review) and the chat page (/chat)."""
    import uvicorn

    from agent.interfaces.service.config import load_service_settings
    from agent.persistence.database import open_database

    settings = _settings()

    def prepare() -> str | None:
        """Fail here with a message, not in every worker with a traceback; and create the tables
        (service, checkpoints) once, before the workers start and would race to create them."""
        from agent.config import domain_of
        from agent.persistence.checkpoint import open_checkpointer

        redis_url = load_service_settings().redis_url
        engine, _ = open_database(settings.db_url, require=domain_of(settings))
        engine.dispose()
        with open_checkpointer(settings.db_url, settings.checkpoint_path):
            pass
        return redis_url

    redis_url = run_cli(prepare)
    console = _console()
    if workers > 1 and not redis_url:
        console.print(
            "[yellow]Without TILLER_REDIS_URL each worker keeps its own rate limits, and a thread's event "
            "stream shows other workers' runs only as status changes (docs/SERVICE.md).[/]"
        )
    base = f"http://{host}:{port}"
    console.print(f"Tiller on [bold]{base}[/] — API docs {base}/docs · inbox {base}/review · chat {base}/chat")
    console.print(
        f"Create keys with [bold]tiller keys create --tenant {settings.tenant} --role user|reviewer --name NAME[/]."
    )
    uvicorn.run(
        "agent.interfaces.service.app:serve_app",
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
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            "--customer",
            help="bind a user key to one principal of the tenant (e.g. a customer id): it sees and acts on "
            "that subject's records only",
        ),
    ] = None,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from agent.persistence.keys import KeyStore

    settings = _settings()

    def body() -> None:
        info, key = KeyStore(_key_sessions(settings)).create(
            tenant=tenant,
            role=role,
            name=name,
            rate_per_minute=rate_per_minute,
            max_concurrent_runs=max_concurrent_runs,
            subject=subject,
        )
        console = _console()
        bound = f", bound to {info.subject}" if info.subject else ""
        console.print(f"Created {info.role} key [bold]{info.id}[/] for {info.name} in tenant {info.tenant}{bound}.")
        console.print("Copy it now — it is not stored and cannot be shown again:")
        typer.echo(key)

    service_cli(body)


@keys_app.command("list")
def keys_list(tenant: Tenant = None) -> None:
    """Keys (never their secrets), newest first; all tenants unless --tenant."""
    from rich.table import Table

    from agent.persistence.keys import KeyStore

    settings = _settings()

    def body() -> None:
        table = Table("id", "tenant", "role", "name", "subject", "created", "revoked")
        for k in KeyStore(_key_sessions(settings)).list(tenant):
            revoked = f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else ""
            table.add_row(k.id, k.tenant, k.role, k.name, k.subject or "", f"{k.created_at:%Y-%m-%d %H:%M}", revoked)
        _console().print(table)

    service_cli(body)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id (from `tiller keys list`)")]) -> None:
    """Revoke a key: requests with it fail from the next one on."""
    from agent.persistence.keys import KeyStore

    settings = _settings()

    def body() -> None:
        info = KeyStore(_key_sessions(settings)).revoke(key_id)
        _console().print(f"Revoked key {info.id} ({info.role} {info.name} in {info.tenant}).")

    service_cli(body)
