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

from agent.loop.events import (
    ApprovalDecidedEvent,
    GuardEvent,
    ModelErrorEvent,
    ModelEvent,
    RunEvent,
    TokenEvent,
    ToolCallEvent,
    ToolRefusedEvent,
    ToolResultEvent,
)
from agent.loop.state import PendingApproval, RunResult, RunStatus
from agent.runtime.review import ReviewView

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
    """Prints each step event of a run as one line, and the answer's tokens live as they stream
    (the final answer is printed again, whole, by ``show_result``)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._streaming = False

    def __call__(self, event: RunEvent) -> None:
        """Print one step event (a token continues the streamed line)."""
        if isinstance(event, TokenEvent):
            if not self._streaming:
                self.console.print("  [dim]…[/] ", end="")
                self._streaming = True
            self.console.print(escape(event.text), end="", style="dim", soft_wrap=True)
            return
        if self._streaming:
            self.console.print()
            self._streaming = False
        if line := _step_line(event):
            self.console.print(line)


def _step_line(event: RunEvent) -> str | None:
    """One terminal line for a step event (``None``: nothing worth a line)."""
    match event:
        case GuardEvent():
            style = "dim" if event.verdict == "allow" else "yellow"
            return f"  [dim]guard ({event.stage}):[/] [{style}]{escape(event.verdict)}[/]"
        case ModelEvent():
            lines = [f"  [cyan]model:[/] {escape(event.content)}"] if event.tool_calls and event.content else []
            lines += [f"  [cyan]model →[/] {c.tool}({escape(_args(c.args))})" for c in event.tool_calls]
            if event.limit:
                lines.append(f"  [magenta]limit reached: {event.limit} — answering with tools off[/]")
            return "\n".join(lines) or None
        case ModelErrorEvent():
            return f"  [red]model error:[/] {escape(event.error)}"
        case ToolCallEvent(verdict="needs_approval"):
            return f"  [yellow]⏸ {event.tool} needs approval[/] ({event.approval_id})"
        case ToolRefusedEvent():
            return f"  [red]✗ {event.tool}:[/] {escape(event.message)}"
        case ApprovalDecidedEvent():
            return f"  [yellow]⚖ {event.tool}: {event.decision or 'expired'}[/] by {event.decided_by}"
        case ToolResultEvent():
            mark = "[green]✓[/]" if event.ok else "[red]✗[/]"
            again = " [dim](recorded result, not run again)[/]" if event.replayed else ""
            return f"  {mark} {event.tool}: {escape(event.summary)}{again}"
    return None


def show_result(console: Console, result: RunResult, *, in_chat: bool = False) -> None:
    """Print a run's outcome: its status, the answer, and what to do next when it waits for a reviewer."""
    style = _STATUS_STYLE[result.status]
    title = f"[{style}]{result.status.value}[/]" + (f" ({result.stop_reason})" if result.stop_reason else "")
    if result.status is RunStatus.AWAITING_APPROVAL:
        show_approvals(console, result.pending_approvals, title="Waiting for a reviewer")
        then = (
            "this chat continues"
            if in_chat
            else f"the thread continues (with --no-resume: [bold]tiller resume {result.thread_id}[/])"
        )
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
    """A compact table that fits 80 columns; ``tiller approvals show ID`` has the details. The
    arguments are the ones that run (a reviewer's edit, marked), the status the real outcome."""
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
        shown = escape(_args(a.effective_args)) + (" [cyan](edited)[/]" if a.edited_args else "")
        cells = [a.id, *([a.status] if len(statuses) > 1 else []), a.tool, shown]
        table.add_row(*cells, f"{a.requested_by} · {expires}")
    console.print(table)


def _provenance_lines(provenance: dict[str, Any] | None) -> list[str]:
    """Why the policy asked, and where each argument came from (the user, a tool field, the model)."""
    if not provenance:
        return []
    lines = [f"why a reviewer: {escape(str(provenance.get('why') or ''))}"]
    for name, origin in (provenance.get("args") or {}).items():
        where = f" ({escape(origin['where'])})" if origin.get("where") else ""
        lines.append(f"  {name}: from {origin.get('source')}{where}")
    return lines


def show_approval(
    console: Console, a: PendingApproval, events: list[dict[str, Any]], context: ReviewView | None = None
) -> None:
    """One approval whole: the call, what a reviewer needs to decide it, and what came of it."""
    lines = [
        f"[bold]{a.tool}[/] ({a.risk}) — {a.status}",
        f"arguments: {escape(_args(a.args))}",
        f"requested by {a.requested_by} at {a.requested_at:%Y-%m-%d %H:%M:%S} UTC in thread {a.thread_id}",
        f"expires: {a.expires_at:%Y-%m-%d %H:%M:%S} UTC ({_left(a.expires_at)} left)",
    ]
    if context is not None:
        lines += _context_lines(context)
    if a.excerpt:
        lines.append(f"customer request: “{escape(a.excerpt)}”")
    lines += _provenance_lines(a.provenance)
    if a.decided_by:
        lines.append(f"decision: {a.decision} by {a.decided_by} at {a.decided_at:%Y-%m-%d %H:%M:%S} UTC")
    if a.reason:
        lines.append(f"internal note: {escape(a.reason)}")
    if a.customer_message:
        lines.append(f"told the customer: “{escape(a.customer_message)}”")
    if a.edited_args:
        lines.append(f"edited arguments (what runs): {escape(_args(a.edited_args))}")
    if a.outcome:
        lines.append(f"[red]failed when it ran:[/] {escape(a.outcome)}")
    lines.append("audit: " + "; ".join(f"{e['event']} by {e['actor']}" for e in events))
    console.print(Panel("\n".join(lines), title=a.id, title_align="left"))


def _context_lines(context: ReviewView) -> list[str]:
    """The review context: arguments as people read them, facts, rule checks, policy."""
    lines = [f"  {escape(k)}: {escape(v)}" for k, v in context.arguments.items()]
    if context.facts:
        lines.append("[bold]facts[/] (read now):")
        lines += [f"  {escape(f.label)}: {escape(f.value)}" for f in context.facts]
    if context.unavailable:
        lines.append(f"[red]facts unavailable:[/] {escape(context.unavailable)}")
    if context.checks:
        lines.append("[bold]checks[/]:")
    for c in context.checks:
        if c.passed:
            lines.append(f"  [green]✓[/] {escape(c.label or c.rule.replace('_', ' '))}")
        elif c.blocking:
            lines.append(f"  [red]✗ {escape(c.message)}[/] (the tool refuses this: approve is refused; edit or reject)")
        else:
            lines.append(f"  [yellow]⚠ {escape(c.message)}[/]")
    if context.policy:
        lines.append("[bold]policy[/]:")
        lines += [f"  {escape(f'[{p.citation}]')} {escape(p.title)}: {escape(p.text[:300])}" for p in context.policy]
    return lines
