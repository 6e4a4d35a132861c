"""What every request handler shares: the runtime, key store, limits, run hub and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from agent.config import Settings
from agent.runtime import Tiller
from agent.service.config import ServiceSettings
from agent.service.feedback import FeedbackStore
from agent.service.hub import RunHub
from agent.service.keys import KeyStore
from agent.service.metrics import ServiceMetrics
from agent.service.ratelimit import RateLimits
from agent.service.workflow_runs import WorkflowRuns


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


def service_context(request: Request) -> ServiceContext:
    """FastAPI dependency: the app's context."""
    return request.app.state.context  # type: ignore[no-any-return]
