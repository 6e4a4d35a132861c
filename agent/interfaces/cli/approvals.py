"""``tiller approvals``: list, show, approve, reject, edit — as a named reviewer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.interfaces.cli._common import Reviewer, Tenant, _console, _fail, _open, _settings, approvals_app, run_cli

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
    status: Annotated[
        str,
        typer.Option(
            help="pending | approved (by a reviewer, whatever came of it) | executed | failed | rejected | expired"
            " | all"
        ),
    ] = "pending",
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
    """One approval: tool, exact arguments, the business facts, rule checks and policy that apply
    (read now), requester, expiry, the request that led to it, its outcome and audit."""
    from agent.interfaces.cli.console import show_approval

    settings = _settings(tenant)

    def body() -> None:
        with _open(settings) as tiller:
            a = tiller.approvals.get(settings.tenant, approval_id)
            events = tiller.approvals.events(settings.tenant, approval_id)
            context = tiller.review(a)
        show_approval(_console(), a, events, context)

    run_cli(body)


def _decide(
    approval_id: str,
    decision: Decision,
    reviewer: str,
    tenant: str | None,
    said: tuple[str | None, str | None],
    edits: dict[str, Any] | None,
    resume: bool,
) -> None:
    from agent.errors import ApprovalBlocked, ThreadBusy
    from agent.interfaces.cli.console import StepPrinter, show_result

    settings = _settings(tenant)
    console = _console()
    reason, told = said

    def body() -> None:
        with _open(settings) as tiller:
            try:
                a = tiller.decide(
                    approval_id,
                    decision=decision,
                    decided_by=reviewer,
                    reason=reason,
                    edits=edits,
                    customer_message=told,
                )
            except ApprovalBlocked as exc:
                _fail(
                    f"{exc} `tiller approvals edit {approval_id} --set NAME=VALUE --as {reviewer}` approves changed "
                    f"arguments; `tiller approvals reject {approval_id} --reason TEXT --as {reviewer}` refuses it."
                )
            console.print(f"[green]{approval_id}: {a.status}[/] by {reviewer} — {a.tool}")
            if not resume:
                _not_resumed(console, tiller, a.tenant_id, a.thread_id)
                return
            try:
                result = tiller.resume(a.thread_id, on_event=StepPrinter(console))
            except ThreadBusy:
                console.print(f"Thread {a.thread_id} is open in a chat, which continues it now.")
                return
            show_result(console, result)

    run_cli(body)


def _not_resumed(console: Any, tiller: Any, tenant: str, thread_id: str) -> None:
    """What happens to the thread now that this command does not continue it: other approvals
    still wait, a chat or a server may already run it, or ``tiller resume`` continues it."""
    if tiller.approvals.list(tenant, thread_id=thread_id, status="pending"):
        console.print(f"Thread {thread_id} still waits for its other approvals.")
        return
    status = tiller.threads.get(tenant, thread_id).status
    if status == "running":
        console.print(f"Thread {thread_id} is being continued by another process (a chat or the server).")
        return
    console.print(
        f"Thread {thread_id} is paused until it is continued: a running chat or `tiller serve` does it on its "
        f"own; otherwise run `tiller resume {thread_id}`."
    )


ResumeOpt = Annotated[bool, typer.Option("--resume/--no-resume", help="continue the paused thread now")]
NoteOpt = Annotated[str | None, typer.Option("--reason", help="internal note: reviewers and the audit log only")]
TellOpt = Annotated[
    str | None, typer.Option("--tell-customer", help="a message the agent passes on to the customer as written")
]


@approvals_app.command("approve")
def approve(
    approval_id: str,
    reviewer: Reviewer,
    reason: NoteOpt = None,
    tell_customer: TellOpt = None,
    resume: ResumeOpt = True,
    tenant: Tenant = None,
) -> None:
    """Approve the call with exactly the requested arguments; refused (exit 2) while one of its
    tool's blocking rules fails on today's facts — edit the arguments or reject it instead."""
    _decide(approval_id, "approve", reviewer, tenant, (reason, tell_customer), None, resume)


@approvals_app.command("reject")
def reject(
    approval_id: str,
    reviewer: Reviewer,
    reason: Annotated[str, typer.Option(help="internal note (required): reviewers and the audit log only")],
    tell_customer: TellOpt = None,
    resume: ResumeOpt = True,
    tenant: Tenant = None,
) -> None:
    """Reject the call; it never runs. The agent tells the customer only --tell-customer, if
    given (else that it could not be approved) — never the internal reason."""
    _decide(approval_id, "reject", reviewer, tenant, (reason, tell_customer), None, resume)


@approvals_app.command("edit")
def edit(
    approval_id: str,
    reviewer: Reviewer,
    set_: Annotated[list[str], typer.Option("--set", help="key=value to change (repeatable)")],
    reason: NoteOpt = None,
    tell_customer: TellOpt = None,
    resume: ResumeOpt = True,
    tenant: Tenant = None,
) -> None:
    """Approve with changed arguments, validated against the tool's schema and pre-checked
    against its business rules (a refused edit changes nothing); the agent is told."""
    _decide(approval_id, "edit", reviewer, tenant, (reason, tell_customer), _parse_sets(set_), resume)
