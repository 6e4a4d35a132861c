"""``create_app``: the FastAPI application over one shared ``Tiller``.

uvicorn --factory agent.interfaces.service.app:serve_app       # what `tiller serve` runs
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from agent.config import Settings, load_settings
from agent.interfaces.service import inbox, pages, traces_page
from agent.interfaces.service.config import ServiceSettings, load_service_settings
from agent.interfaces.service.context import ServiceContext
from agent.interfaces.service.docs import install_docs
from agent.interfaces.service.fanout import event_fanout
from agent.interfaces.service.gateway import GatewayMiddleware, install_error_handlers
from agent.interfaces.service.heap import settle_heap
from agent.interfaces.service.hub import IDLE_CHANNEL_S, KEEP_EVENTS, RunHub
from agent.interfaces.service.metrics import ServiceMetrics
from agent.interfaces.service.ratelimit import RateLimits
from agent.interfaces.service.routes import approvals, calls, feedback, ops, threads, workflows
from agent.interfaces.service.workflow_runs import WorkflowRuns
from agent.persistence.feedback import FeedbackStore
from agent.persistence.keys import stored_secret
from agent.runtime import Tiller

STATIC_DIR = Path(__file__).parent / "static"


def _context(settings: Settings, service: ServiceSettings, tiller: Tiller) -> ServiceContext:
    """What every request of the app shares: the runtime, the stores, limits, the run hub."""
    metrics = ServiceMetrics()
    return ServiceContext(
        settings=settings,
        service=service,
        tiller=tiller,
        keys=tiller.stores.pooled.keys,
        feedback=FeedbackStore(tiller.sessions),
        limits=RateLimits(
            rate_per_minute=service.rate_per_minute,
            max_concurrent_runs=service.max_concurrent_runs,
            redis_url=service.redis_url,
            on_refusal=lambda limit: metrics.rate_limited.labels(limit).inc(),
        ),
        hub=RunHub(
            metrics,
            service.run_threads,
            event_fanout(
                service.redis_url,
                keep=KEEP_EVENTS,
                keep_s=IDLE_CHANNEL_S,
                on_drop=lambda n: metrics.fanout_dropped.inc(n),
            ),
        ),
        metrics=metrics,
        workflows=WorkflowRuns(settings, tiller),
    )


def _lifespan(
    context: ServiceContext, *, owns_runtime: bool, settle: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Startup and shutdown: the runtime (when the app opened it), the run hub, the heap (``settle``)."""
    tiller = context.tiller

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The runtime runs on the loop of the first start; a second one while it runs (a test
        # client beside a server) shares it across loops, and leaves closing it to the first.
        starts_runtime = owns_runtime and not tiller.started
        if starts_runtime:
            await tiller.astart()
        await context.hub.open()
        if settle:
            settle_heap()
        yield
        await to_thread.run_sync(context.workflows.stop_all)
        await context.hub.drain()
        await context.hub.close()
        await context.limits.close()
        if starts_runtime:
            await tiller.aclose()

    return lifespan


def serve_app() -> FastAPI:
    """The app ``tiller serve`` runs (uvicorn's factory, in each worker process): ``create_app``
    from the environment's settings, its process's heap settled once it started (``heap``)."""
    return create_app(settle=True)


def create_app(
    settings: Settings | None = None,
    service: ServiceSettings | None = None,
    *,
    tiller: Tiller | None = None,
    settle: bool = False,
) -> FastAPI:
    """The app; it opens a ``Tiller`` (closed on shutdown) unless one is passed in. Its own
    runtime starts on the app's event loop at startup: runs are awaited there, no second loop.
    ``settle``: the app owns its process — tune its garbage collector once started (``heap``)."""
    settings = settings or load_settings()
    service = service or load_service_settings()
    owned = tiller is None
    tiller = tiller or Tiller(settings, start=False)
    context = _context(settings, service, tiller)
    metrics = context.metrics

    app = FastAPI(
        title="Tiller",
        summary="Tool-using agents you can trust with real business actions.",
        description="Chat threads (runs streamed as server-sent events), reviewer approvals, workflow runs, "
        "feedback. Authenticate with `Authorization: Bearer <key>` (`tiller keys create`).",
        version="0.1.0",
        lifespan=_lifespan(context, owns_runtime=owned, settle=settle),
        docs_url=None,  # served offline by install_docs
        redoc_url=None,
    )
    app.state.context = context
    install_error_handlers(app)
    for router in (threads.router, calls.router, feedback.router, approvals.router, workflows.router, ops.router):
        app.include_router(router)
    app.include_router(pages.router)
    app.include_router(inbox.router)
    app.include_router(traces_page.router)
    app.add_exception_handler(pages.LoginRequired, pages.login_redirect)
    install_docs(app)  # before /static, which would shadow /static/docs
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=service.session_secret or stored_secret(tiller.sessions, "session"),
        session_cookie="tiller_session",
        max_age=service.session_max_age_s,
        same_site="lax",
        https_only=service.secure_cookies,
    )
    app.add_middleware(GatewayMiddleware, metrics=metrics, max_body=service.max_body_bytes)
    return app
