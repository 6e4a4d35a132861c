"""Prometheus metrics of one service process, on a registry of its own (one per app).

Runs by status, approvals and model/tool metrics are the runtime's own (``Tiller.metrics``);
``/metrics`` renders both registries (no metric name is defined in both).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["PROMETHEUS_CONTENT_TYPE", "ServiceMetrics"]


class ServiceMetrics:
    """Counters and histograms exposed at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tiller_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tiller_http_request_duration_seconds",
            "Time to answer (to the first byte of a stream), by route template.",
            ["route"],
            registry=self.registry,
        )
        self.runs_in_progress = Gauge("tiller_runs_in_progress", "Agent runs executing now.", registry=self.registry)
        self.rate_limited = Counter(
            "tiller_rate_limited", "Requests refused by a per-key limit, by limit.", ["limit"], registry=self.registry
        )
        self.feedback = Counter("tiller_feedback", "Feedback received, by rating.", ["rating"], registry=self.registry)
        self.fanout_dropped = Counter(
            "tiller_stream_events_unshared",
            "Stream events of runs here that other processes' followers did not get (Redis unreachable).",
            registry=self.registry,
        )

    def render(self, *runtime: CollectorRegistry) -> bytes:
        """The service's metrics, then the runtime's (runs by status, approvals decided, latencies)."""
        return b"".join(generate_latest(r) for r in (self.registry, *runtime))
