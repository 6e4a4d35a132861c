"""The gateway's outer layer: body-size limit, request metrics, and errors as JSON."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.errors import TillerError
from agent.interfaces.service.errors import PayloadTooLarge, ServiceError, from_runtime_error
from agent.interfaces.service.metrics import ServiceMetrics

_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


class GatewayMiddleware:
    """Refuses bodies over ``max_body`` bytes (413) and counts every answer by route template."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI request: bodies past the limit are cut off with a 413, the answer is counted."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise _too_large(self.max_body)
            return message

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = _route(scope)
                self.metrics.latency.labels(route).observe(time.perf_counter() - started)
            await send(message)

        length = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_body:
            error = _too_large(self.max_body)
            response = JSONResponse(error.body(), status_code=error.status)
            await response(scope, receive, observed_send)
        else:
            await self.app(scope, limited_receive, observed_send)
        self.metrics.requests.labels(scope["method"], _route(scope), str(status)).inc()


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body over {limit} bytes (TILLER_MAX_BODY_BYTES)", code="body_too_large")


def _route(scope: Scope) -> str:
    """The route template (``/v1/threads/{thread_id}``), never the raw path: bounded label values."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def install_error_handlers(app: FastAPI) -> None:
    """Every error answer has the shape ``{"error": {"code", "message"}}``."""

    async def service_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())

    async def runtime_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TillerError)
        return await service_error(request, from_runtime_error(exc))

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = [_field(e) for e in exc.errors()]
        message = "invalid request: " + "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        body = {"error": {"code": "invalid_request", "message": message, "fields": fields}}
        return JSONResponse(body, status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(TillerError, runtime_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)


def _field(error: Any) -> dict[str, str]:
    location = [str(p) for p in error.get("loc", ()) if p != "body"]
    return {"field": ".".join(location) or "body", "message": str(error.get("msg", "invalid"))}
