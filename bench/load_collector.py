"""The served process's garbage collector over the measured part of a load run.

Read from the server's own ``/metrics`` (``tiller_gc_*``, agent/interfaces/service/metrics.py)
once the warm-up ends and again when the load stops; the difference is what the collector cost
while the load was measured. A sampling profiler cannot show this: it spreads each collection
over whatever frame triggered it. A server without those metrics (LangGraph Server) gives none.
The same readings count the store calls that found SQLite busy and ran on a thread instead of in
place (``tiller_store_busy_fallbacks_total``, agent/persistence/inplace.py).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

_SECONDS = "tiller_gc_seconds_total"
_COLLECTIONS = "tiller_gc_collections_total"
_LONGEST = "tiller_gc_longest_pause_seconds"
_BUSY = "tiller_store_busy_fallbacks_total"


def read_collector(url: str) -> dict[str, float] | None:
    """``{"seconds", "collections", "full", "longest_s", "busy"}`` from ``url``'s ``/metrics`` (``None``: not there)."""
    try:
        text = httpx.get(url + "/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    reading = {"seconds": 0.0, "collections": 0.0, "full": 0.0, "longest_s": 0.0, "busy": 0.0}
    found = False
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith(_SECONDS):
            reading["seconds"] += float(value)
        elif name.startswith(_COLLECTIONS):
            reading["collections"] += float(value)
            if 'generation="2"' in name:
                reading["full"] += float(value)
        elif name == _LONGEST:
            reading["longest_s"] = float(value)
        elif name == _BUSY:
            reading["busy"] += float(value)
        else:
            continue
        found = True
    return reading if found else None


class CollectorWatch:
    """Reads the collector when the warm-up ends (on a timer thread) and when ``finish`` is called."""

    def __init__(self, url: str, warmup_s: float, measured_s: float) -> None:
        self.url, self.measured_s = url, measured_s
        self._first: dict[str, float] | None = None
        self._timer = threading.Timer(warmup_s, self._read_first)
        self._timer.daemon = True

    def start(self) -> None:
        """Arm the warm-up reading."""
        self._timer.start()

    def _read_first(self) -> None:
        self._first = read_collector(self.url)

    def finish(self) -> dict[str, Any] | None:
        """The collector's cost between the two readings, or ``None`` without ``tiller_gc_*``."""
        self._timer.cancel()
        last = read_collector(self.url)
        if last is None or self._first is None:
            return None
        seconds = last["seconds"] - self._first["seconds"]
        return {
            "seconds": round(seconds, 3),
            "seconds_per_min": round(60 * seconds / self.measured_s, 3) if self.measured_s > 0 else None,
            "collections": int(last["collections"] - self._first["collections"]),
            "full_collections": int(last["full"] - self._first["full"]),
            "longest_pause_ms_since_start": round(1000 * last["longest_s"], 1),
            "store_busy_fallbacks": int(last["busy"] - self._first["busy"]),
        }


def render_collector(reading: dict[str, Any] | None) -> str:
    """One line for the report."""
    if reading is None:
        return "Garbage collector: not reported by this server."
    return (
        f"Garbage collector over the measured time: {reading['seconds']:.2f} s "
        f"({reading['seconds_per_min']} s per minute), {reading['collections']} collections, "
        f"{reading['full_collections']} of them full; longest pause since start "
        f"{reading['longest_pause_ms_since_start']} ms. Store calls that found SQLite busy and ran on a "
        f"thread: {reading.get('store_busy_fallbacks', 0)}."
    )
