"""Showing traces in the terminal: a list of runs, and one run as a timeline."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.tracing.store import Span, TraceView

_STYLE = {"node": "bold", "model": "cyan", "tool": "green", "guard": "yellow", "approval": "magenta", "refusal": "red"}


def show_runs(console: Console, runs: list[TraceView]) -> None:
    """One line a run (ids are never cut: they are copied into ``traces show``)."""
    console.print(f"[bold]Runs, newest first[/] ({len(runs)})")
    for r in runs:
        status = r.status if r.kind == "ask" else f"{r.kind}: {r.status}"
        console.print(
            f"{r.id}  [bold]{status}[/]  {r.thread_id}  {r.started_at:%m-%d %H:%M:%S}  "
            f"{r.duration_ms:.0f} ms  {r.tool_calls} tools  {r.input_tokens + r.output_tokens} tokens  "
            f"${r.cost_usd:.4f}",
            overflow="fold",
        )


def _details(span: Span) -> str:
    a: dict[str, Any] = span.attributes
    if span.kind == "model":
        calls = ", ".join(a.get("tool_calls") or []) or "answer"
        price = f"${a.get('cost_usd', 0):.6f}" if a.get("priced") else "unpriced"
        return f"→ {calls} · {a.get('input_tokens', 0)} in / {a.get('output_tokens', 0)} out tokens · {price}"
    if span.kind == "tool":
        args = json.dumps(a.get("args", {}), ensure_ascii=False)
        cached = " (cache)" if a.get("cache_hit") else ""
        outcome = a.get("error_kind") or f"{a.get('result_bytes', 0)} bytes{cached}"
        return f"{a.get('status')} · {outcome} · {args}"
    if span.kind == "guard":
        return str(a.get("verdict", ""))
    if span.kind == "breaker":
        return f"{a.get('previous')} → {a.get('state')}"
    if span.kind == "refusal":
        return f"{a.get('error_kind')}: {a.get('message')}"
    if span.kind == "approval":
        who = f"by {a['decided_by']}" if a.get("decided_by") else ""
        approval = a.get("approval_id") or a.get("id") or ""
        return " ".join(p for p in (a.get("tool", ""), a.get("decision") or "", who, approval) if p)
    return "interrupted (waiting for approval)" if a.get("interrupted") else str(a.get("error", ""))


def show_trace(console: Console, trace: TraceView) -> None:
    labels = " ".join(f"{k}={v}" for k, v in trace.labels.items())
    console.print(
        f"[bold]{trace.id}[/] {trace.kind} · [bold]{trace.status}[/]"
        + (f" ({trace.stop_reason})" if trace.stop_reason else "")
        + f" · thread {trace.thread_id} · user {trace.user_id} · {trace.started_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f" · {labels}" if labels else "")
    )
    console.print(
        f"{trace.duration_ms:.1f} ms · {trace.steps} model steps · {trace.tool_calls} tool calls · "
        f"{trace.input_tokens} in / {trace.output_tokens} out tokens · ${trace.cost_usd:.6f} · model {trace.model}"
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("at ms", justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("details", overflow="fold", ratio=1)
    for span in trace.spans:
        style = _STYLE.get(span.kind, "")
        indent = "" if span.kind == "node" else "  "
        table.add_row(
            f"{span.start_ms:.1f}",
            f"[{style}]{span.kind}[/]",
            indent + span.name,
            f"{span.duration_ms:.1f}" if span.duration_ms else "",
            escape(_details(span)),
        )
    console.print(table)
