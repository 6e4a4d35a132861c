"""Operations: liveness, readiness (the databases answer) and Prometheus metrics. No key needed."""

from __future__ import annotations

from typing import Any, cast

from anyio import to_thread
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.interfaces.service.auth import Context
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.metrics import PROMETHEUS_CONTENT_TYPE
from agent.persistence.database import ping

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _check_databases(ctx: ServiceContext) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        ping(ctx.tiller.engine)
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure as data
        checks["database"] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
    try:
        saver = cast(BaseCheckpointSaver[str], ctx.tiller.graph.checkpointer)  # the runtime always passes one
        saver.get_tuple({"configurable": {"thread_id": "readyz", "checkpoint_ns": ""}})
        checks["checkpoints"] = "ok"
    except Exception as exc:
        checks["checkpoints"] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
    return checks


@router.get("/readyz", responses={503: {"description": "a dependency does not answer"}})
async def readyz(ctx: Context) -> Any:
    """Ready when the database, the checkpoint store (and Redis, when configured) answer."""
    checks = await to_thread.run_sync(_check_databases, ctx)
    if ctx.limits.backend == "redis":
        checks["redis"] = await ctx.limits.ping()
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", response_class=Response)
async def metrics(ctx: Context) -> Response:
    """Prometheus text: requests, runs by status, approvals decided, rate-limit refusals."""
    return Response(ctx.metrics.render(ctx.tiller.metrics.registry), media_type=PROMETHEUS_CONTENT_TYPE)
