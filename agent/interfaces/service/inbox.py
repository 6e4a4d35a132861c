"""The reviewer inbox (``/review``): pending approvals of the reviewer's tenant, each with the
business facts, rule checks and policy that apply, decided in forms; one approval's page
(``/review/{id}``, pending or decided) and the history of decisions (``/review/history``).

The inbox and an approval's page update themselves (``static/review.js``): they poll
``/review/live`` for the status of the approvals they show — decisions come from other
processes too (the CLI, another server), so the approval rows are the one source — and fetch a
changed card again from ``/review/{id}/card``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from agent.errors import TillerError
from agent.interfaces.service.auth import Context, check_csrf, csrf_token
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.decisions import decide
from agent.interfaces.service.errors import ServiceError, from_runtime_error
from agent.interfaces.service.pages import TEMPLATES, flash, page_principal, render
from agent.interfaces.service.routes.approvals import approval_detail
from agent.persistence.approvals import DECIDED, Decision, PendingApproval

router = APIRouter(include_in_schema=False)
_DECIDED = DECIDED
MAX_WATCHED = 100  # approvals one poll of /review/live may ask about
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


@router.get("/review/live")
async def live(request: Request, ctx: Context, ids: Annotated[list[str], Query(alias="id")]) -> Response:
    """The status of the approvals a page shows (``?id=…&id=…``), read now: what the page's
    script compares with what it shows. Approvals of other tenants are left out."""
    who = await page_principal(request, ctx, "/review", reviewer=True)
    if len(ids) > MAX_WATCHED:
        return JSONResponse({"error": {"code": "too_many", "message": f"ask about {MAX_WATCHED} at most"}}, 422)
    states = await to_thread.run_sync(_states, ctx, who.tenant, ids)
    return JSONResponse({"approvals": states})


def _states(ctx: ServiceContext, tenant: str, ids: list[str]) -> list[dict[str, Any]]:
    found = _found(ctx, tenant, ids)
    if any(a.status == "pending" and a.expires_at <= datetime.now(UTC) for a in found):
        ctx.tiller.approvals.expire_due(tenant)  # an approval that ran out shows as expired, as in the lists
        found = _found(ctx, tenant, ids)
    return [
        {
            "id": a.id,
            "status": a.status,
            "decision": a.decision,
            "decided_by": a.decided_by,
            "decided_at": a.decided_at.isoformat() if a.decided_at else None,
            "outcome": a.outcome,
        }
        for a in found
    ]


def _found(ctx: ServiceContext, tenant: str, ids: list[str]) -> list[PendingApproval]:
    approvals = []
    for approval_id in dict.fromkeys(ids):
        try:
            approvals.append(ctx.tiller.approvals.get(tenant, approval_id))
        except TillerError:  # another tenant's, or gone: the page keeps what it shows
            continue
    return approvals


@router.get("/review/{approval_id}/card", response_class=HTMLResponse)
async def card(
    approval_id: str, request: Request, ctx: Context, detail: bool = False, back: str = "/review"
) -> Response:
    """One approval's card as the inbox (or, with ``detail``, its own page) draws it: what the
    pages' script puts in place of a card whose status changed."""
    who = await page_principal(request, ctx, f"/review/{approval_id}", reviewer=True)
    try:
        item = await to_thread.run_sync(approval_detail, ctx, who, approval_id)
    except TillerError as exc:
        error = from_runtime_error(exc)
        return HTMLResponse(error.message, status_code=error.status)
    values = {"a": item, "detail": detail, "back": _back({"back": back}), "time_left": time_left, "shown": _shown}
    # Not ``render``: a fragment must not take the flash messages meant for the next page.
    return TEMPLATES.TemplateResponse(request, "approval_card.html", {"csrf": csrf_token(request), **values})


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
