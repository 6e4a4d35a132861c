"""What every request handler shares: the runtime, key store, limits, run hub and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from agent.config import Settings
from agent.interfaces.service.config import ServiceSettings
from agent.interfaces.service.hub import RunHub
from agent.interfaces.service.metrics import ServiceMetrics
from agent.interfaces.service.ratelimit import RateLimits
from agent.interfaces.service.workflow_runs import WorkflowRuns
from agent.persistence.feedback import FeedbackStore
from agent.persistence.keys import KeyStore
from agent.runtime import Tiller


@dataclass
class ServiceContext:
    """One per process: one shared ``Tiller`` (thread-safe across different threads)."""

    settings: Settings
    service: ServiceSettings
    tiller: Tiller
    keys: KeyStore
    feedback: FeedbackStore
    limits: RateLimits
    hub: RunHub
    metrics: ServiceMetrics
    workflows: WorkflowRuns


async def service_context(request: Request) -> ServiceContext:
    """FastAPI dependency: the app's context (``async``: FastAPI sends a sync dependency to a
    worker thread, one hand-off per request for an attribute read)."""
    return request.app.state.context
