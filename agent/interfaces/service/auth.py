"""Who a request acts as: an API key in ``Authorization: Bearer``, or a web page's session.

The web pages keep the key's *id* (never its secret) in a signed session cookie and re-read the
key on every request, so revoking a key ends its sessions too. A session may change state only
with the page's CSRF token (an ``X-CSRF-Token`` header or a ``csrf`` form field).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent.interfaces.service.context import ServiceContext, service_context
from agent.interfaces.service.errors import Forbidden, Unauthorized
from agent.persistence.keys import Principal

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `tiller keys create --tenant T --role user|reviewer|admin`.",
)
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SESSION_KEY = "key_id"
SESSION_CSRF = "csrf"


def start_session(request: Request, who: Principal) -> None:
    """Log a browser in as ``who`` (a fresh CSRF token with it)."""
    request.session.clear()
    request.session[SESSION_KEY] = who.key_id
    request.session[SESSION_CSRF] = secrets.token_urlsafe(24)


def csrf_token(request: Request) -> str:
    """The CSRF token of the page session (empty when it has none)."""
    return str(request.session.get(SESSION_CSRF, ""))


def check_csrf(request: Request, presented: str | None) -> None:
    """A ``Forbidden`` (403, ``csrf``) unless a form presented the session's CSRF token."""
    expected = csrf_token(request)
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        raise Forbidden("missing or stale CSRF token: reload the page and try again", code="csrf")


async def identify(
    request: Request, ctx: ServiceContext, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The principal of this request, without rate limiting (pages handle their own redirects)."""
    if credentials is not None:
        return await ctx.tiller.stores.run(lambda st: st.keys.authenticate(credentials.credentials))
    if request.headers.get("authorization"):
        raise Unauthorized("the Authorization header must read `Bearer <key>`", code="invalid_key")
    who = await session_principal(request, ctx)
    if request.method not in _SAFE_METHODS:
        check_csrf(request, request.headers.get("x-csrf-token"))
    return who


async def session_principal(request: Request, ctx: ServiceContext) -> Principal:
    """The principal of the browser session's key (re-read, so a revoked key ends the session)."""
    key_id = request.session.get(SESSION_KEY) if "session" in request.scope else None
    if not key_id:
        raise Unauthorized(
            "missing API key: send `Authorization: Bearer <key>` (create one with `tiller keys create`)",
            code="missing_key",
        )
    return await ctx.tiller.stores.run(lambda st: st.keys.get(str(key_id)))


async def authenticated(
    request: Request,
    ctx: Annotated[ServiceContext, Depends(service_context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """FastAPI dependency: the request's principal, counted against the key's request rate."""
    who = await identify(request, ctx, credentials)
    request.state.principal = who
    await ctx.limits.hit(who)
    return who


async def reviewer(who: Annotated[Principal, Depends(authenticated)]) -> Principal:
    """FastAPI dependency: a principal that may see and decide approvals (reviewer or admin)."""
    if not who.can_review:
        raise Forbidden(
            f"approvals are for reviewer and admin keys; this is a {who.role} key ({who.name})",
            code="role_forbidden",
        )
    return who


Caller = Annotated[Principal, Depends(authenticated)]
Reviewer = Annotated[Principal, Depends(reviewer)]
Context = Annotated[ServiceContext, Depends(service_context)]
