"""Showing traces: a list of runs and one run as a timeline, in the terminal (``tiller traces``);
``timeline`` gives the service's HTML trace page (``/traces/RUN_ID``) the same run, nested and scaled."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.persistence.traces import Span, TraceView

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


def span_details(span: Span) -> str:
    """A span in one line: what the model asked for, a tool's outcome, a verdict, a decision."""
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
    """Print a trace as a timeline: the run's head, then each span with its timing and attributes."""
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
            escape(span_details(span)),
        )
    console.print(table)


Severity = Literal["", "warn", "error"]


@dataclass
class TimelineEntry:
    """One span placed on the run's time axis, with the spans that happened inside it."""

    span: Span
    details: str  # the line `tiller traces show` prints for it
    severity: Severity
    offset_pct: float  # where it starts, in percent of the run
    width_pct: float  # how long it lasted, in percent of the run (a sliver for an instant event)
    children: list[TimelineEntry] = field(default_factory=list)


def node_of(span: Span, nodes: list[Span]) -> Span | None:
    """The node span during which ``span`` happened (events are timed inside their node).

    The same rule the exporters use to nest spans under nodes (``agent.tracing.export``)."""
    inside = [n for n in nodes if n.start_ms <= span.start_ms <= n.start_ms + n.duration_ms + 0.5]
    return inside[-1] if inside else None


def span_severity(span: Span) -> Severity:
    """``error`` for what failed (a node's error, a tool error, a refusal, a model error, a block),
    ``warn`` for what a person should look at (a guard that did more than allow, a breaker opening)."""
    a = span.attributes
    failed = (
        (span.kind == "node" and bool(a.get("error")))
        or (span.kind == "tool" and (a.get("status") == "error" or bool(a.get("error_kind"))))
        or span.kind == "refusal"
        or (span.kind == "model" and span.name == "error")
    )
    if failed:
        return "error"
    if span.kind == "guard":
        verdict = str(a.get("verdict", ""))
        return "error" if verdict.startswith("block") else "" if verdict.startswith("allow") else "warn"
    if span.kind == "breaker" and str(a.get("state", "")).lower() != "closed":
        return "warn"
    return ""


def run_models(trace: TraceView) -> list[str]:
    """The run's model, then any other model that served a call (a fallback, a replay)."""
    served = [str(s.attributes.get("model") or s.name) for s in trace.spans if s.kind == "model" and s.name != "error"]
    return list(dict.fromkeys([m for m in (trace.model, *served) if m]))


def timeline(trace: TraceView) -> list[TimelineEntry]:
    """The run's spans as a tree: each node with the events that happened inside it, and events
    outside any node at the top; offsets and widths in percent of the run's duration."""
    total = max([trace.duration_ms, *(s.start_ms + s.duration_ms for s in trace.spans)]) or 1.0

    def entry(span: Span) -> TimelineEntry:
        offset = min(max(span.start_ms, 0.0) / total * 100, 99.7)
        width = min(max(span.duration_ms / total * 100, 0.3), 100 - offset)
        return TimelineEntry(span, span_details(span), span_severity(span), round(offset, 2), round(width, 2))

    nodes = [s for s in trace.spans if s.kind == "node"]
    by_node = {id(n): entry(n) for n in nodes}
    top: list[TimelineEntry] = []
    for span in trace.spans:
        if span.kind == "node":
            top.append(by_node[id(span)])
            continue
        parent = node_of(span, nodes)
        (by_node[id(parent)].children if parent is not None else top).append(entry(span))
    return top
