"""Errors of the service layer, each an HTTP answer ``{"error": {"code", "message"}}``.

    ServiceError              base: an HTTP status, a stable ``code`` and a message for a person
    ├── Unauthorized     401  no key, a malformed or unknown key, a revoked key
    ├── Forbidden        403  the key's role may not do this; the requester deciding their own call
    ├── NotFound         404  no such thread / approval / run in the key's tenant (others' look the same)
    ├── Conflict         409  thread busy or waiting for a reviewer; approval already decided, expired, or
    │                         blocked by a failing rule of its tool
    ├── PayloadTooLarge  413  a message or body over the configured size
    ├── Unprocessable    422  invalid input; ``fields`` names each bad field
    ├── RateLimited      429  over a per-key limit; ``retry_after`` seconds go into ``Retry-After``
    └── Unavailable      503  the database cannot be reached

The runtime's errors (``agent.errors``) are translated here, once, by ``from_runtime_error``.
"""

from __future__ import annotations

from typing import Any

from agent import errors as rt
from agent.persistence.traces import TraceNotFound


class ServiceError(Exception):
    """An HTTP error answer: ``status``, a stable ``code``, a message for a person, problem ``fields``."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.fields = fields

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"error": {"code", "message", "fields"?}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}

    def headers(self) -> dict[str, str]:
        """Headers the answer carries (none by default)."""
        return {}


class Unauthorized(ServiceError):
    """401: no usable credentials."""

    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        """``WWW-Authenticate``: the service expects a bearer key."""
        return {"WWW-Authenticate": 'Bearer realm="tiller"'}


class Forbidden(ServiceError):
    """403: the key may not do this (its role, or a stale CSRF token)."""

    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    """404: no such resource for this tenant."""

    status = 404
    code = "not_found"


class Conflict(ServiceError):
    """409: the resource's state forbids it now (decided already, running elsewhere)."""

    status = 409
    code = "conflict"


class PayloadTooLarge(ServiceError):
    """413: a body or a message over its limit."""

    status = 413
    code = "payload_too_large"


class Unprocessable(ServiceError):
    """422: a request that names a bad field or value."""

    status = 422
    code = "invalid_request"


class RateLimited(ServiceError):
    """429: a rate limit of the key; ``retry_after`` seconds until it may try again."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        """``Retry-After``: the seconds to wait."""
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ServiceError):
    """503: a dependency (the database, Redis) cannot answer now."""

    status = 503
    code = "unavailable"


def from_runtime_error(exc: rt.TillerError) -> ServiceError:
    """The HTTP answer for an error the runtime raised on purpose."""
    message = str(exc)
    for cli_hint in ("; see `tiller approvals list`", "; see `tiller threads`", "; see `tiller traces list`"):
        message = message.replace(cli_hint, "")
    table: list[tuple[type[rt.TillerError], type[ServiceError], str]] = [
        (rt.ThreadNotFound, NotFound, "thread_not_found"),
        (rt.ApprovalNotFound, NotFound, "approval_not_found"),
        (TraceNotFound, NotFound, "trace_not_found"),
        (rt.ThreadBusy, Conflict, "thread_busy"),
        (rt.ApprovalConflict, Conflict, "approval_conflict"),
        (rt.ApprovalExpired, Conflict, "approval_expired"),
        # 403, not 409: nothing about the approval's state is in conflict, and retrying
        # never helps — this caller is not allowed to decide it; another reviewer is.
        (rt.SelfApproval, Forbidden, "self_approval"),
        (rt.InvalidEdit, Unprocessable, "invalid_edit"),
        # 409: the request is well formed; the business system's state (the facts the rule reads)
        # forbids it. An edit that passes the rule, or a rejection, is what resolves it.
        (rt.ApprovalBlocked, Conflict, "approval_blocked"),
        (rt.InvalidName, Unprocessable, "invalid_name"),
        (rt.MessageTooLarge, PayloadTooLarge, "message_too_large"),
        (rt.DatabaseUnavailable, Unavailable, "database_unavailable"),
    ]
    if isinstance(exc, rt.KeyError_):
        kind: type[ServiceError] = Unauthorized
        if isinstance(exc, rt.KeyNotFound):
            kind = NotFound
        elif isinstance(exc, rt.InvalidKeyRequest):
            kind = Unprocessable
        return kind(message, code=exc.code)
    if isinstance(exc, rt.InvalidEdit) and exc.fields:
        fields = [{"field": f"args.{name}" if name else "args", "message": problem} for name, problem in exc.fields]
        return Unprocessable(message, code="invalid_edit", fields=fields)
    for runtime_type, service_type, code in table:
        if isinstance(exc, runtime_type):
            return service_type(message, code=code)
    return ServiceError(message)
