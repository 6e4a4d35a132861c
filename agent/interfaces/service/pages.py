"""The web pages' shared parts: templates, login by pasting a key, logout, and the chat page.

Pages are server-rendered (Jinja2) with a little vanilla JavaScript; the chat page's script
calls the JSON API with the session cookie and the page's CSRF token. The reviewer inbox is in
``agent.interfaces.service.inbox``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from agent.errors import KeyError_
from agent.interfaces.service.auth import Context, csrf_token, session_principal, start_session
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.errors import ServiceError, Unauthorized
from agent.persistence.keys import Principal

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """The page needs a (differently privileged) session: send the browser to the login form."""

    def __init__(self, next_path: str, message: str = "") -> None:
        super().__init__(message)
        self.next_path = next_path
        self.message = message


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page with the session's CSRF token and pending flash messages."""
    flashes = request.session.pop("flash", []) if "session" in request.scope else []
    values = {"csrf": csrf_token(request), "flashes": flashes, **values}
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)


def flash(request: Request, kind: str, text: str) -> None:
    """Queue a message (``ok`` or ``error``) for the next page the session sees."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, text]]


async def page_principal(request: Request, ctx: ServiceContext, next_path: str, *, reviewer: bool = False) -> Principal:
    """The session's principal (rate-limited like the API), or ``LoginRequired``."""
    if not request.session.get("key_id"):
        raise LoginRequired(next_path)
    try:
        who = await session_principal(request, ctx)
    except (Unauthorized, KeyError_) as exc:
        request.session.clear()
        raise LoginRequired(next_path, str(exc)) from None
    if reviewer and not who.can_review:
        raise LoginRequired(next_path, f"the inbox needs a reviewer or admin key; {who.name} has a {who.role} key")
    await ctx.limits.hit(who)
    return who


def login_redirect(request: Request, exc: Exception) -> Response:
    """Exception handler for ``LoginRequired``."""
    assert isinstance(exc, LoginRequired)
    if exc.message:
        flash(request, "error", exc.message)
    return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)


def _safe_next(path: str) -> str:
    """Only local paths: a login link must not send the browser elsewhere."""
    return path if path.startswith("/") and not path.startswith("//") else "/chat"


@router.get("/", response_class=HTMLResponse)
async def home() -> Response:
    """The site's root: the chat page."""
    return RedirectResponse("/chat", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/chat") -> Response:
    """The login page: paste an API key."""
    return render(request, "login.html", next=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, ctx: Context, key: Annotated[str, Form()], next: Annotated[str, Form()] = "/chat"
) -> Response:
    """Check the pasted key; the session keeps its id, never the key itself."""
    try:
        who = await ctx.tiller.stores.run(lambda st: st.keys.authenticate(key))
    except ServiceError as exc:
        return render(request, "login.html", status_code=401, next=_safe_next(next), error=exc.message)
    start_session(request, who)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the page session and go back to the login page."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/chat", response_class=HTMLResponse)
async def chat(request: Request, ctx: Context, thread: str | None = None) -> Response:
    """The chat page: steps stream in as the agent works; a paused action continues on its own."""
    who = await page_principal(request, ctx, "/chat")
    domain = ctx.tiller.domains.domain_of(who.tenant)
    return render(request, "chat.html", who=who, thread=thread or "", domain=domain)
