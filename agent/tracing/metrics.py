"""Prometheus metrics of the runtime, fed from each stored trace and each approval decision.

Each ``Tiller`` owns a registry (``tiller.metrics.registry``) so several runtimes in one process
(tests, a service with workers) never collide; the service exposes it at ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from agent.loop.state import PendingApproval
from agent.persistence.traces import TraceView

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class RunMetrics:
    """Prometheus counters and histograms of runs, model and tool calls, guards and approvals (``/metrics``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.runs = Counter("tiller_runs", "Run segments by status.", ["tenant", "status"], registry=r)
        self.steps = Histogram(
            "tiller_run_steps", "Model steps per run segment.", buckets=(1, 2, 3, 5, 8, 13, 21), registry=r
        )
        self.tool_calls = Histogram(
            "tiller_run_tool_calls", "Tool calls per run segment.", buckets=(0, 1, 2, 3, 5, 8, 13), registry=r
        )
        self.model_latency = Histogram(
            "tiller_model_latency_seconds", "Model call latency.", ["model"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.tool_latency = Histogram(
            "tiller_tool_latency_seconds",
            "Tool call latency.",
            ["tool", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tool_lookups = Counter(
            "tiller_tool_results", "Tool results by cache outcome (hit ratio).", ["tool", "cache"], registry=r
        )
        self.model_requests = Counter(
            "tiller_model_requests",
            "Model calls by routing tier (direct: no router) and request-cache outcome (hit ratio).",
            ["model", "tier", "cache"],
            registry=r,
        )
        self.tokens = Counter(
            "tiller_tokens",
            "Model tokens (direction: input, output, or estimated by a scripted model).",
            ["model", "tenant", "direction"],
            registry=r,
        )
        self.cost = Counter("tiller_cost_usd", "Model cost in USD.", ["model", "tenant"], registry=r)
        self.guards = Counter("tiller_guard_verdicts", "Guard verdicts.", ["stage", "verdict"], registry=r)
        self.breakers = Counter(
            "tiller_breaker_transitions", "Circuit breaker state changes.", ["target", "state"], registry=r
        )
        self.approvals_requested = Counter("tiller_approvals_requested", "Approval requests.", ["tool"], registry=r)
        self.approvals_decided = Counter(
            "tiller_approvals_decided", "Approval decisions.", ["tool", "decision"], registry=r
        )
        self.time_to_decision = Histogram(
            "tiller_approval_time_to_decision_seconds",
            "Request to decision.",
            buckets=(10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
            registry=r,
        )

    def watch_stores(self, count_by_status: Callable[[], dict[str, int]], busy_fallbacks: Callable[[], int]) -> None:
        """Expose ``tiller_approvals{status}`` (pending, approved, executed, rejected, expired),
        counted in the database at scrape time, so every process reports the same backlog; and
        ``tiller_store_busy_fallbacks_total``, the store calls from the loop that found SQLite
        busy and ran on a worker thread (``agent/persistence/inplace.py``)."""
        self.registry.register(_ApprovalBacklog(count_by_status))
        self.registry.register(_BusyFallbacks(busy_fallbacks))

    def observe_trace(self, trace: TraceView) -> None:
        """Count one stored run and each of its spans: model and tool calls, guard verdicts, breaker
        changes, approval requests."""
        self.runs.labels(trace.tenant_id, trace.status).inc()
        self.steps.observe(trace.steps)
        self.tool_calls.observe(trace.tool_calls)
        for span in trace.spans:
            a = span.attributes
            if span.kind == "model" and span.name != "error":
                self.model_latency.labels(span.name).observe(span.duration_ms / 1000)
                tier, cache = str(a.get("tier") or "direct"), "hit" if a.get("cache_hit") else "miss"
                self.model_requests.labels(span.name, tier, cache).inc()
                self.tokens.labels(span.name, trace.tenant_id, "input").inc(int(a.get("input_tokens") or 0))
                self.tokens.labels(span.name, trace.tenant_id, "output").inc(int(a.get("output_tokens") or 0))
                # Tokens a scripted or replayed model estimated: never mixed into the real counts.
                self.tokens.labels(span.name, trace.tenant_id, "estimated").inc(int(a.get("estimated_tokens") or 0))
                self.cost.labels(span.name, trace.tenant_id).inc(float(a.get("cost_usd") or 0.0))
            elif span.kind == "tool":
                self.tool_latency.labels(span.name, str(a.get("status"))).observe(span.duration_ms / 1000)
                self.tool_lookups.labels(span.name, "hit" if a.get("cache_hit") else "miss").inc()
            elif span.kind == "guard":
                verdict = str(a.get("verdict", "")).split(" ", 1)[0]
                self.guards.labels(span.name, verdict).inc()
            elif span.kind == "breaker":
                self.breakers.labels(span.name, str(a.get("state"))).inc()
            elif span.kind == "approval" and span.name == "requested":
                self.approvals_requested.labels(str(a.get("tool"))).inc()

    def observe_decision(self, approval: PendingApproval) -> None:
        """Count one reviewer decision and how long it took."""
        self.approvals_decided.labels(approval.tool, approval.decision or approval.status).inc()
        if approval.decided_at is not None:
            self.time_to_decision.observe((approval.decided_at - approval.requested_at).total_seconds())


class _ApprovalBacklog(Collector):
    def __init__(self, count_by_status: Callable[[], dict[str, int]]) -> None:
        self._count = count_by_status

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("tiller_approvals", "Approvals by status, all tenants.", labels=["status"])
        counts = self._count()
        for status in ("pending", "approved", "executed", "rejected", "expired"):
            family.add_metric([status], counts.get(status, 0))
        yield family


class _BusyFallbacks(Collector):
    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count

    def collect(self) -> Iterable[CounterMetricFamily]:
        yield CounterMetricFamily(
            "tiller_store_busy_fallbacks",
            "Store calls from the event loop that found SQLite busy and ran again on a worker thread.",
            value=self._count(),
        )
