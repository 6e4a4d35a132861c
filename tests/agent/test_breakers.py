"""Circuit breakers guard state, not the call: concurrent calls overlap; half-open sends one probe."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent.breakers import BreakerBoard, BreakerSettings, CircuitOpen


def test_calls_through_one_breaker_run_at_the_same_time() -> None:
    breaker = BreakerBoard().get("model:openai@fake")
    together = threading.Barrier(5, timeout=10)  # broken if the breaker ran the calls one by one

    def call() -> int:
        return breaker.call(together.wait)

    with ThreadPoolExecutor(5) as pool:
        arrivals = sorted(pool.map(lambda _: call(), range(5)))
    assert arrivals == [0, 1, 2, 3, 4]
    assert breaker.current_state == "closed"


class Down(ConnectionError):
    pass


def _fail() -> None:
    raise Down("the dependency is down")


def test_it_opens_fails_fast_then_lets_a_single_probe_through() -> None:
    board = BreakerBoard(BreakerSettings(fail_max=2, reset_timeout_s=0.05))
    breaker = board.get("tool:commerce", counts=lambda exc: isinstance(exc, Down))
    for _ in range(2):
        with pytest.raises(Down):
            breaker.call(_fail)
    assert breaker.current_state == "open"
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "never called")
    time.sleep(0.06)  # past the reset timeout: the next call is the probe

    probe_started, release = threading.Event(), threading.Event()

    def slow_probe() -> str:
        probe_started.set()
        release.wait(10)
        return "healthy"

    with ThreadPoolExecutor(1) as pool:
        probe = pool.submit(breaker.call, slow_probe)
        assert probe_started.wait(10)
        assert breaker.current_state == "half-open"
        with pytest.raises(CircuitOpen, match="probe"):  # only one probe at a time
            breaker.call(lambda: "second caller")
        release.set()
        assert probe.result(10) == "healthy"
    assert breaker.current_state == "closed"
    assert board.states() == {"tool:commerce": "closed"}


def test_errors_that_do_not_count_leave_the_breaker_closed() -> None:
    breaker = BreakerBoard(BreakerSettings(fail_max=1)).get("tool:x", counts=lambda exc: isinstance(exc, Down))
    for _ in range(3):
        with pytest.raises(ValueError):
            breaker.call(lambda: int("not a number"))
    assert breaker.current_state == "closed"
