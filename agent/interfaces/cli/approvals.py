"""``tiller approvals``: list, show, approve, reject, edit — as a named reviewer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.interfaces.cli._common import Reviewer, Tenant, _console, _open, _settings, approvals_app, run_cli

if TYPE_CHECKING:
    from agent.persistence.approvals import Decision


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON, else strings."""
    edits: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--set")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        # Amounts stay exact: 42.5 is passed as "42.5" so Decimal fields keep every digit.
        edits[key] = raw if isinstance(value, float) else value
    return edits


@approvals_app.command("list")
def list_approvals(
    status: Annotated[str, typer.Option(help="pending | approved | rejected | executed | expired | all")] = "pending",
    tool: Annotated[str | None, typer.Option(help="only this tool")] = None,
    tenant: Tenant = None,
) -> None:
    """Approvals of the tenant, newest first."""
    from agent.interfaces.cli.console import show_approvals

    settings = _settings(tenant)

    def body() -> None:
        with _open(settings) as tiller:
            rows = tiller.approvals.list(settings.tenant, status=None if status == "all" else status, tool=tool)
        show_approvals(_console(), rows, title=f"Approvals ({status}) in {settings.tenant}")

    run_cli(body)


@approvals_app.command("show")
def show(approval_id: str, tenant: Tenant = None) -> None:
    """One approval: tool, exact arguments, requester, expiry, the request that led to it, audit."""
    from agent.interfaces.cli.console import show_approval

    settings = _settings(tenant)

    def body() -> None:
        with _open(settings) as tiller:
            a = tiller.approvals.get(settings.tenant, approval_id)
            events = tiller.approvals.events(settings.tenant, approval_id)
        show_approval(_console(), a, events)

    run_cli(body)


def _decide(
    approval_id: str,
    decision: Decision,
    reviewer: str,
    tenant: str | None,
    reason: str | None,
    edits: dict[str, Any] | None,
    resume: bool,
) -> None:
    from agent.errors import ThreadBusy
    from agent.interfaces.cli.console import StepPrinter, show_result

    settings = _settings(tenant)
    console = _console()

    def body() -> None:
        with _open(settings) as tiller:
            a = tiller.decide(
                approval_id,
                decision=decision,
                decided_by=reviewer,
                reason=reason,
                edits=edits,
            )
            console.print(f"[green]{approval_id}: {a.status}[/] by {reviewer} — {a.tool}")
            if not resume:
                console.print(f"Thread {a.thread_id} continues with `tiller resume {a.thread_id}`.")
                return
            try:
                result = tiller.resume(a.thread_id, on_event=StepPrinter(console))
            except ThreadBusy:
                console.print(f"Thread {a.thread_id} is open in a chat, which continues it now.")
                return
            show_result(console, result)

    run_cli(body)


ResumeOpt = Annotated[bool, typer.Option("--resume/--no-resume", help="continue the paused thread now")]


@approvals_app.command("approve")
def approve(
    approval_id: str,
    reviewer: Reviewer,
    reason: Annotated[str | None, typer.Option()] = None,
    resume: ResumeOpt = True,
    tenant: Tenant = None,
) -> None:
    """Approve the call with exactly the requested arguments."""
    _decide(approval_id, "approve", reviewer, tenant, reason, None, resume)


@approvals_app.command("reject")
def reject(
    approval_id: str,
    reviewer: Reviewer,
    reason: Annotated[str, typer.Option(help="told to the agent, which tells the customer")],
    resume: ResumeOpt = True,
    tenant: Tenant = None,
) -> None:
    """Reject the call; it never runs and the reason goes back to the agent."""
    _decide(approval_id, "reject", reviewer, tenant, reason, None, resume)


@approvals_app.command("edit")
def edit(
    approval_id: str,
    reviewer: Reviewer,
    set_: Annotated[list[str], typer.Option("--set", help="key=value to change (repeatable)")],
    reason: Annotated[str | None, typer.Option()] = None,
    resume: ResumeOpt = True,
    tenant: Tenant = None,
) -> None:
    """Approve with changed arguments (validated against the tool's schema; the agent is told)."""
    _decide(approval_id, "edit", reviewer, tenant, reason, _parse_sets(set_), resume)
