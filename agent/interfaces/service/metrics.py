"""Prometheus metrics of one service process, on a registry of its own (one per app).

Runs by status, approvals and model/tool metrics are the runtime's own (``Tiller.metrics``);
``/metrics`` renders both registries (no metric name is defined in both).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["PROMETHEUS_CONTENT_TYPE", "ServiceMetrics", "gc_collector"]


class CollectorTimes:
    """What the process's cyclic garbage collector cost: seconds and collections by generation,
    and its longest pause (``gc.callbacks``). One per process — the collector is the process's —
    however many apps it serves (:func:`collector_times`)."""

    def __init__(self) -> None:
        self.seconds: dict[int, float] = {}
        self.collections: dict[int, int] = {}
        self.longest_s = 0.0
        self._started: float | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:  # installed mid-collection
            return
        took, self._started = time.perf_counter() - self._started, None
        generation = int(info.get("generation", 0))
        self.seconds[generation] = self.seconds.get(generation, 0.0) + took
        self.collections[generation] = self.collections.get(generation, 0) + 1
        self.longest_s = max(self.longest_s, took)


_TIMES: CollectorTimes | None = None
_TIMES_LOCK = threading.Lock()


def collector_times() -> CollectorTimes:
    """The process's ``CollectorTimes``, installed in ``gc.callbacks`` on first use."""
    global _TIMES
    with _TIMES_LOCK:
        if _TIMES is None:
            _TIMES = CollectorTimes()
            gc.callbacks.append(_TIMES)
        return _TIMES


class _GcMetrics(Collector):
    """``tiller_gc_*``: the garbage collector's time, collections and longest pause. A full
    collection stops every request of the process; under load they were ~8 % of a server's time
    until ``tiller serve`` settled its heap (``heap.py``, docs/BENCHMARKS.md §9)."""

    def __init__(self, times: CollectorTimes) -> None:
        self.times = times

    def collect(self) -> Iterator[Any]:
        seconds = CounterMetricFamily(
            "tiller_gc_seconds", "Time in the garbage collector, by generation.", labels=["generation"]
        )
        collections = CounterMetricFamily(
            "tiller_gc_collections", "Garbage collections, by generation.", labels=["generation"]
        )
        for generation in sorted(self.times.collections):
            seconds.add_metric([str(generation)], self.times.seconds[generation])
            collections.add_metric([str(generation)], self.times.collections[generation])
        yield seconds
        yield collections
        yield GaugeMetricFamily(
            "tiller_gc_longest_pause_seconds", "The longest garbage collection so far.", value=self.times.longest_s
        )


def gc_collector() -> Collector:
    """The process's ``tiller_gc_*`` metrics, for a registry (the service's, or a bench server's)."""
    return _GcMetrics(collector_times())


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
        self.registry.register(gc_collector())

    def render(self, *runtime: CollectorRegistry) -> bytes:
        """The service's metrics, then the runtime's (runs by status, approvals decided, latencies)."""
        return b"".join(generate_latest(r) for r in (self.registry, *runtime))
