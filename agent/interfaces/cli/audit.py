"""``tiller audit``: verify the hash-chained approval audit log, list its entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agent.interfaces.cli._common import _console, _settings, app, run_cli

if TYPE_CHECKING:
    pass

audit_app = typer.Typer(help="The approval audit log: verify its hash chain, list entries.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

AllTenants = Annotated[str | None, typer.Option("--tenant", help="only this tenant's chain (default: all)")]


@audit_app.command("verify")
def verify(
    tenant: AllTenants = None,
    expect_head: Annotated[
        str | None, typer.Option("--expect-head", help="a head hash exported earlier; it must still be in the log")
    ] = None,
) -> None:
    """Check every entry's hash, sequence and link to the entry before; exit 1 if anything is off."""
    from rich.markup import escape

    from agent.persistence import audit

    settings = _settings()

    def body() -> None:
        with audit.reading(settings.db_url) as sessions:
            report = audit.verify(sessions, tenant, expect_head=expect_head)
        console = _console()
        for broken in report.breaks:
            console.print(f"[red]audit log broken:[/] {escape(str(broken))}", soft_wrap=True)
        if report.missing_head:
            console.print(
                f"[red]audit log rewritten or cut short:[/] the head {escape(report.missing_head)} "
                "is not in the verified log",
                soft_wrap=True,
            )
        if not report.ok:
            raise typer.Exit(1)
        if not report.heads:
            console.print("audit log intact: 0 entries")
        elif len(report.heads) == 1:
            # One line, never wrapped: scripts read the head from it to store it elsewhere.
            console.print(
                f"audit log intact: {report.entries} entries, head {report.heads[0].entry_hash}", soft_wrap=True
            )
        else:
            console.print(f"audit log intact: {report.entries} entries in {len(report.heads)} tenant chains")
            for head in report.heads:
                console.print(
                    f"  {escape(head.tenant_id)}: {head.entries} entries, head {head.entry_hash}", soft_wrap=True
                )

    run_cli(body)


@audit_app.command("list")
def list_entries(
    approval: Annotated[str | None, typer.Option("--approval", help="only this approval's entries")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    tenant: AllTenants = None,
) -> None:
    """The newest entries, newest first: who did what to which approval, when, on which arguments."""
    from rich.table import Table

    from agent.persistence import audit

    settings = _settings()

    def body() -> None:
        with audit.reading(settings.db_url) as sessions:
            rows = audit.recent(sessions, tenant=tenant, approval_id=approval, limit=limit)
        title = "Audit log" + (f" of {tenant}" if tenant else "") + (f", {approval}" if approval else "")
        # 80 columns: the chain hashes are for `tiller audit verify`; the args hash says what was decided.
        table = Table(title=title, title_justify="left", box=None, collapse_padding=True, pad_edge=False)
        table.add_column("entry", justify="right", no_wrap=True)
        table.add_column("at (UTC)", no_wrap=True)
        if not tenant:
            table.add_column("tenant", overflow="ellipsis", no_wrap=True)
        table.add_column("approval", no_wrap=True)
        table.add_column("event", no_wrap=True)
        table.add_column("actor", overflow="ellipsis", no_wrap=True)
        table.add_column("args", no_wrap=True)
        for r in rows:
            cells = [str(r.id), f"{r.at:%Y-%m-%d %H:%M}", *([] if tenant else [r.tenant_id])]
            table.add_row(*cells, r.approval_id, r.event, r.actor, r.args_hash[:8])
        _console().print(table)

    run_cli(body)
