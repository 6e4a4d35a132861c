"""The reviewer inbox (``/review``): pending approvals of the reviewer's tenant, each with the
business facts, rule checks and policy that apply, decided in forms; one approval's page
(``/review/{id}``, pending or decided) and the history of decisions (``/review/history``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent.errors import TillerError
from agent.interfaces.service.auth import Context, check_csrf
from agent.interfaces.service.decisions import decide
from agent.interfaces.service.errors import ServiceError, from_runtime_error
from agent.interfaces.service.pages import flash, page_principal, render
from agent.interfaces.service.routes.approvals import approval_detail
from agent.persistence.approvals import DECIDED, Decision

router = APIRouter(include_in_schema=False)
_DECIDED = DECIDED
_DECISIONS: dict[str, Decision] = {"approve": "approve", "reject": "reject", "edit": "edit"}


def time_left(expires_at: datetime) -> str:
    """How long an approval stays open, for the inbox (``1h 05m left``, ``expired``)."""
    seconds = int((expires_at - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours}h {minutes:02d}m left" if hours else f"{minutes}m left"


def parse_value(raw: str) -> Any:
    """A form field's value: JSON when it parses (numbers stay exact strings), else the text."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    return raw if isinstance(value, float) else value


def edited_args(form: dict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """The arguments a reviewer changed in the edit form (fields named ``arg:<name>``)."""
    edits: dict[str, Any] = {}
    for key, raw in form.items():
        name = key.removeprefix("arg:")
        if key.startswith("arg:") and raw.strip() != _shown(current.get(name)):
            edits[name] = parse_value(raw.strip())
    return edits


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@router.get("/review", response_class=HTMLResponse)
async def inbox(request: Request, ctx: Context) -> Response:
    """Pending approvals, newest first, each with everything needed to decide it."""
    who = await page_principal(request, ctx, "/review", reviewer=True)

    def load() -> list[Any]:
        pending = ctx.tiller.approvals.list(who.tenant, status="pending")
        return [approval_detail(ctx, who, a.id) for a in pending]

    items = await to_thread.run_sync(load)
    return render(request, "review.html", who=who, items=items, time_left=time_left, shown=_shown)


@router.get("/review/history", response_class=HTMLResponse)
async def history(request: Request, ctx: Context) -> Response:
    """Decided approvals: what, who decided, when, and why."""
    who = await page_principal(request, ctx, "/review/history", reviewer=True)
    rows = await to_thread.run_sync(lambda: ctx.tiller.approvals.list(who.tenant))
    decided = sorted(
        (a for a in rows if a.status in _DECIDED), key=lambda a: a.decided_at or a.expires_at, reverse=True
    )
    return render(request, "history.html", who=who, items=decided, shown=_shown)


@router.get("/review/{approval_id}", response_class=HTMLResponse)
async def approval_page(approval_id: str, request: Request, ctx: Context) -> Response:
    """One approval, pending or decided: everything to decide it, or what came of it."""
    who = await page_principal(request, ctx, f"/review/{approval_id}", reviewer=True)
    try:
        item = await to_thread.run_sync(approval_detail, ctx, who, approval_id)
    except TillerError as exc:
        error = from_runtime_error(exc)
        return render(request, "approval.html", status_code=error.status, who=who, a=None, missing=error.message)
    return render(request, "approval.html", who=who, a=item, time_left=time_left, shown=_shown)


def _back(form: dict[str, str]) -> str:
    """Where the form came from (the inbox or an approval's page); only pages of the inbox."""
    back = form.get("back", "/review")
    return back if back.startswith("/review") and "//" not in back else "/review"


@router.post("/review/{approval_id}")
async def decide_form(approval_id: str, request: Request, ctx: Context) -> Response:
    """One form per approval; its ``decision`` button says approve, reject or edit. ``reason``
    is the internal note, ``customer_message`` what the agent may tell the customer."""
    who = await page_principal(request, ctx, "/review", reviewer=True)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf"))
    chosen = form.get("decision", "")
    reason = form.get("reason", "").strip() or None
    told = form.get("customer_message", "").strip() or None
    try:
        decision = _DECISIONS.get(chosen)
        if decision is None:
            raise ServiceError(f"unknown decision {chosen!r}: the form's buttons send approve, reject or edit")
        edits = None
        if decision == "edit":
            current = await to_thread.run_sync(ctx.tiller.approvals.get, who.tenant, approval_id)
            edits = edited_args(form, current.args)
        approval, resuming = await decide(
            ctx,
            who,
            approval_id,
            decision,
            reason=reason,
            edits=edits,
            customer_message=told,
        )
    except (ServiceError, TillerError) as exc:
        error = exc if isinstance(exc, ServiceError) else from_runtime_error(exc)
        fields = "; ".join(f"{f['field']}: {f['message']}" for f in error.fields or [])
        flash(request, "error", f"{approval_id}: {fields or error.message}")
    else:
        then = "the conversation continues" if resuming else "waiting for its other approvals"
        flash(request, "ok", f"{approval.tool} {approval.status} ({approval_id}) — {then}")
    return RedirectResponse(_back(form), status_code=303)
