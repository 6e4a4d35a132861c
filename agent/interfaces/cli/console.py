"""Rendering runs in the terminal: step events as they stream, results, approvals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from agent.loop.state import PendingApproval, RunResult, RunStatus

_STATUS_STYLE = {
    RunStatus.COMPLETED: "green",
    RunStatus.AWAITING_APPROVAL: "yellow",
    RunStatus.LIMIT_REACHED: "magenta",
    RunStatus.BLOCKED: "red",
    RunStatus.FAILED: "red",
}


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())


class StepPrinter:
    """Prints each step event of a run as one line (the final answer is printed by ``show_result``)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        c = self.console
        if kind == "guard":
            style = "dim" if event.get("verdict") == "allow" else "yellow"
            c.print(f"  [dim]guard ({event['stage']}):[/] [{style}]{escape(event['verdict'])}[/]")
        elif kind == "model":
            if event.get("tool_calls") and event.get("content"):
                c.print(f"  [cyan]model:[/] {escape(event['content'])}")
            for call in event.get("tool_calls", []):
                c.print(f"  [cyan]model →[/] {call['tool']}({escape(_args(call['args']))})")
            if event.get("limit"):
                c.print(f"  [magenta]limit reached: {event['limit']} — answering with tools off[/]")
        elif kind == "model_error":
            c.print(f"  [red]model error:[/] {escape(event['error'])}")
        elif kind == "tool_call" and event.get("verdict") == "needs_approval":
            c.print(f"  [yellow]⏸ {event['tool']} needs approval[/] ({event['approval_id']})")
        elif kind == "tool_refused":
            c.print(f"  [red]✗ {event['tool']}:[/] {escape(event['error']['message'])}")
        elif kind == "approval_decided":
            c.print(
                f"  [yellow]⚖ {event['tool']}: {event.get('decision') or 'expired'}[/] by {event.get('decided_by')}"
            )
        elif kind == "tool_result":
            mark = "[green]✓[/]" if event["ok"] else "[red]✗[/]"
            again = " [dim](recorded result, not run again)[/]" if event.get("replayed") else ""
            c.print(f"  {mark} {event['tool']}: {escape(event['summary'])}{again}")


def show_result(console: Console, result: RunResult, *, in_chat: bool = False) -> None:
    style = _STATUS_STYLE[result.status]
    title = f"[{style}]{result.status.value}[/]" + (f" ({result.stop_reason})" if result.stop_reason else "")
    if result.status is RunStatus.AWAITING_APPROVAL:
        show_approvals(console, result.pending_approvals, title="Waiting for a reviewer")
        then = "this chat continues" if in_chat else f"[bold]tiller resume {result.thread_id}[/] continues the thread"
        console.print(
            f"A reviewer decides in another terminal with [bold]tiller approvals approve ID --as NAME[/] "
            f"(or reject / edit); then {then}."
        )
        return
    console.print(Panel(escape(result.answer or "(no answer)"), title=title, title_align="left", border_style=style))
    u = result.usage
    trace = f" · trace {result.run_id}" if result.run_id else ""
    console.print(
        f"[dim]thread {result.thread_id} · {u.steps} model steps · {u.tool_calls} tool calls · "
        f"{u.input_tokens + u.output_tokens} tokens · {u.elapsed_s:.2f}s{trace}[/]"
    )


def _left(expires_at: datetime) -> str:
    seconds = int((expires_at - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "expired"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def show_approvals(console: Console, approvals: list[PendingApproval], title: str = "Approvals") -> None:
    """A compact table that fits 80 columns; ``tiller approvals show ID`` has the details."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    # Ids must never be cut (reviewers copy them); the arguments wrap instead.
    table.add_column("id", no_wrap=True, min_width=20)
    statuses = {a.status for a in approvals}
    if len(statuses) > 1:
        table.add_column("status", no_wrap=True)
    table.add_column("tool", no_wrap=True)
    table.add_column("arguments", min_width=16, overflow="fold", ratio=1)
    table.add_column("requested by · expires", overflow="fold")
    for a in approvals:
        expires = _left(a.expires_at) if a.status == "pending" else a.status
        cells = [a.id, *([a.status] if len(statuses) > 1 else []), a.tool, escape(_args(a.args))]
        table.add_row(*cells, f"{a.requested_by} · {expires}")
    console.print(table)


def show_approval(console: Console, a: PendingApproval, events: list[dict[str, Any]]) -> None:
    lines = [
        f"[bold]{a.tool}[/] ({a.risk}) — {a.status}",
        f"arguments: {escape(_args(a.args))}",
        f"requested by {a.requested_by} at {a.requested_at:%Y-%m-%d %H:%M:%S} UTC in thread {a.thread_id}",
        f"expires: {a.expires_at:%Y-%m-%d %H:%M:%S} UTC ({_left(a.expires_at)} left)",
    ]
    if a.excerpt:
        lines.append(f"customer request: “{escape(a.excerpt)}”")
    if a.decided_by:
        lines.append(f"decision: {a.decision} by {a.decided_by} at {a.decided_at:%Y-%m-%d %H:%M:%S} UTC")
    if a.reason:
        lines.append(f"reason: {escape(a.reason)}")
    if a.edited_args:
        lines.append(f"edited arguments: {escape(_args(a.edited_args))}")
    lines.append("audit: " + "; ".join(f"{e['event']} by {e['actor']}" for e in events))
    console.print(Panel("\n".join(lines), title=a.id, title_align="left"))
