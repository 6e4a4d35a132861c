"""The trace pages: ``/traces`` (recent runs, filtered by status or thread) and ``/traces/RUN_ID``
(one run as a timeline — the same ``TraceView`` that ``tiller traces show`` and ``/v1/traces/{id}``
show, nested and scaled by ``agent.tracing.render.timeline``).

Access mirrors the JSON API: the key's tenant only, and a user key sees its own threads' runs only.
Anything else is a 404 page that never tells whether the run exists elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from agent.errors import ThreadNotFound
from agent.interfaces.service.auth import Context
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.history import visible_thread
from agent.interfaces.service.pages import page_principal, render
from agent.loop.state import RunStatus
from agent.persistence.keys import Principal
from agent.persistence.traces import TraceNotFound, TraceView
from agent.tracing.render import run_models, timeline
from agent.workflows.runner import WORKFLOW_THREAD_PREFIX

router = APIRouter(include_in_schema=False)

MAX_LISTED = 200
# A user key's runs, or one status, are picked out of the tenant's newest runs this deep.
_SCANNED = 1000

# The label and icon each span kind gets on the timeline.
KINDS: dict[str, tuple[str, str]] = {
    "node": ("▸", "node"),
    "model": ("✦", "model call"),
    "tool": ("⚙", "tool call"),
    "guard": ("◈", "guard"),
    "approval": ("⚖", "approval"),
    "breaker": ("⚡", "breaker"),
    "refusal": ("✗", "refused call"),
}


def visible_trace(ctx: ServiceContext, who: Principal, run_id: str) -> TraceView:
    """The run if ``who`` may see it — the rule of ``GET /v1/traces/{run_id}``."""
    found = ctx.tiller.traces.get(who.tenant, run_id)
    visible_thread(ctx.tiller.threads, who, found.thread_id)  # a user key sees its own threads' traces only
    return found


def visible_runs(
    ctx: ServiceContext, who: Principal, *, thread: str | None, status: str | None, limit: int
) -> list[TraceView]:
    """Newest runs first, of one thread or the whole tenant, that ``who`` may see."""
    if thread:
        visible_thread(ctx.tiller.threads, who, thread)
    narrowed = status is not None or (who.role == "user" and not thread)
    runs = ctx.tiller.traces.list(who.tenant, thread_id=thread, limit=_SCANNED if narrowed else limit)
    if who.role == "user" and not thread:
        owned: dict[str, bool] = {}  # one look-up per thread
        for r in runs:
            if r.thread_id not in owned:
                owned[r.thread_id] = _can_see(ctx, who, r.thread_id)
        runs = [r for r in runs if owned[r.thread_id]]
    if status:
        runs = [r for r in runs if r.status == status]
    return runs[:limit]


def _can_see(ctx: ServiceContext, who: Principal, thread_id: str) -> bool:
    try:
        visible_thread(ctx.tiller.threads, who, thread_id)
    except ThreadNotFound:
        return False
    return True


def duration(ms: float) -> str:
    """``840 ms``, ``3.4 s``, ``2 min 05 s``."""
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds:02d} s"


def shown(value: Any) -> str:
    """An attribute's value as text: strings as they are, the rest as indented JSON."""
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)


def chat_link(trace: TraceView) -> str | None:
    """The conversation's chat page; workflow threads have none (they are not chats)."""
    return None if trace.thread_id.startswith(WORKFLOW_THREAD_PREFIX) else f"/chat?thread={trace.thread_id}"


@router.get("/traces", response_class=HTMLResponse)
async def traces(
    request: Request, ctx: Context, status: str | None = None, thread: str | None = None, limit: int = 50
) -> Response:
    """Recent runs of the caller's scope, newest first, with links to each run's timeline."""
    who = await page_principal(request, ctx, "/traces")
    status, thread = status or None, (thread or "").strip() or None
    limit = min(max(limit, 1), MAX_LISTED)
    values: dict[str, Any] = {
        "who": who,
        "status": status or "",
        "thread": thread or "",
        "statuses": [s.value for s in RunStatus],
        "duration": duration,
    }
    try:
        runs = await to_thread.run_sync(lambda: visible_runs(ctx, who, thread=thread, status=status, limit=limit))
    except ThreadNotFound:
        problem = f"No thread {thread} in {who.tenant} that {who.name} may see."
        return render(request, "traces.html", status_code=404, runs=[], problem=problem, **values)
    return render(request, "traces.html", runs=runs, problem=None, **values)


@router.get("/traces/{run_id}", response_class=HTMLResponse)
async def trace_page(request: Request, ctx: Context, run_id: str) -> Response:
    """One run: its header and totals, then a timeline of nodes with their model, tool, guard,
    approval and breaker spans, each expandable to its attributes."""
    who = await page_principal(request, ctx, f"/traces/{run_id}")
    try:
        found = await to_thread.run_sync(visible_trace, ctx, who, run_id)
    except (TraceNotFound, ThreadNotFound):
        return render(request, "trace.html", status_code=404, who=who, trace=None, run_id=run_id)
    return render(
        request,
        "trace.html",
        who=who,
        trace=found,
        run_id=run_id,
        entries=timeline(found),
        models=run_models(found),
        chat_link=chat_link(found),
        kinds=KINDS,
        duration=duration,
        shown=shown,
    )
