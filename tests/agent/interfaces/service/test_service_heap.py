"""The served app settles its process's garbage collector once it started; an embedded app does not
(agent/interfaces/service/heap.py); /metrics shows what the collector cost (metrics.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from fastapi.testclient import TestClient

from agent.config import Settings
from agent.interfaces.service import app as app_module

from .conftest import service_settings


def test_settling_freezes_what_startup_left_and_still_collects_new_cycles() -> None:
    script = textwrap.dedent(
        """
        import gc, weakref
        from agent.interfaces.service.heap import YOUNG_GENERATION, settle_heap
        gc.set_threshold(700, 10, 10)
        settle_heap()
        assert gc.get_freeze_count() > 5_000, gc.get_freeze_count()  # what the imports made
        assert gc.get_threshold() == (YOUNG_GENERATION, 10, 10)
        class Node: pass
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after startup
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None  # is collected as before
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_only_the_served_app_settles_its_heap_once_started(
    module_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settled: list[str] = []
    monkeypatch.setattr(app_module, "settle_heap", lambda: settled.append("settled"))  # not this test process's
    monkeypatch.setattr(app_module, "load_settings", lambda: module_settings)
    monkeypatch.setattr(app_module, "load_service_settings", service_settings)
    served = app_module.serve_app()
    assert settled == []  # building the app is not starting it
    with TestClient(served) as client:
        assert settled == ["settled"]
        assert client.get("/healthz").status_code == 200
    with TestClient(app_module.create_app(module_settings, service_settings())):
        pass
    assert settled == ["settled"]  # an app embedded in someone's process leaves its collector alone


def test_metrics_show_what_the_collector_cost(client: TestClient) -> None:
    import gc

    def value(text: str, name: str) -> float:
        return float(next((line.split()[-1] for line in text.splitlines() if line.startswith(name)), 0))

    before = client.get("/metrics").text
    gc.collect()  # a full collection, timed by the process's gc.callbacks
    after = client.get("/metrics").text
    full = 'tiller_gc_collections_total{generation="2"}'
    assert value(after, full) >= value(before, full) + 1
    assert value(after, 'tiller_gc_seconds_total{generation="2"}') > 0
    assert value(after, "tiller_gc_longest_pause_seconds") > 0
