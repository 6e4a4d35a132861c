"""Circuit breakers for model providers and tool backends (pybreaker underneath).

A breaker counts consecutive failures of one dependency. After ``fail_max`` of them it opens:
calls fail fast (``CircuitBreakerError``) instead of waiting on a dead dependency, so the model
chain moves to its fallback at once and a tool call returns a ``circuit_open`` error the model
can explain. After ``reset_timeout_s`` one call is let through as a probe (half-open): success
closes the breaker, failure opens it again.

Only failures that say something about the dependency's health count — timeouts, connection
errors, 429 and 5xx for a model; ``unavailable``, ``timeout`` and crashes for a tool — never a
bad request or a business-rule refusal.

State changes are streamed as ``{"type": "breaker", "target": ..., "state": ...}`` events when
they happen inside a graph run (so traces and metrics see them), and :meth:`BreakerBoard.states`
reports every breaker's current state.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pybreaker
from langgraph.runtime import get_runtime

CircuitOpen = pybreaker.CircuitBreakerError
T = TypeVar("T")


def _emit(event: dict[str, Any]) -> None:
    """Hand ``event`` to the running graph's event sink (``RunContext.emit``), if there is one
    (a no-op outside a run)."""
    try:
        context = get_runtime().context
    except (RuntimeError, AttributeError):  # called outside a graph run
        return
    emit = getattr(context, "emit", None)
    if emit is not None:
        emit(event)


class ConcurrentBreaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker, without its lock around the protected call.

    ``pybreaker.CircuitBreaker.call`` holds the breaker's lock while the wrapped function runs
    (danielfm/pybreaker#55, open since 2021), so every model call of a process — they share the
    provider's breaker — ran one at a time: the load test saw 20 users served as if by one. Here
    the lock only guards the state: checked before the call, updated after it, with the call
    itself outside. Half-open still lets a single probe through; calls arriving while it is in
    flight fail fast like an open breaker.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._probe_in_flight = False

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func`` through the breaker: refused at once while open, counted when it fails."""
        state, probing = self._admit()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            self._settle(state, probing, exc)
            raise
        self._settle(state, probing)
        return result

    async def acall(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """``call`` for a coroutine function: the call is awaited outside the lock."""
        state, probing = self._admit()
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            self._settle(state, probing, exc)
            raise
        self._settle(state, probing)
        return result

    def _admit(self) -> tuple[Any, bool]:
        """Check the state before a call: raise ``CircuitOpen`` or let it through (as the probe)."""
        with self._lock:
            if self.current_state == pybreaker.STATE_OPEN:
                if not self._reset_timeout_elapsed():
                    raise CircuitOpen("Timeout not elapsed yet, circuit breaker still open")
                self.half_open()
            probing = self.current_state == pybreaker.STATE_HALF_OPEN
            if probing:
                if self._probe_in_flight:
                    raise CircuitOpen("a probe call is already testing this dependency")
                self._probe_in_flight = True
            return self.state, probing

    def _settle(self, state: Any, probing: bool, exc: BaseException | None = None) -> None:
        """Update the state after a call: a failure is counted (or not) and may open it."""
        with self._lock:
            self._probe_in_flight = self._probe_in_flight and not probing
            if exc is None:
                state._handle_success()
                return
            state._handle_error(exc, reraise=False)  # counts it (or not), may open the breaker

    def _reset_timeout_elapsed(self) -> bool:
        opened_at = self._state_storage.opened_at
        return opened_at is None or datetime.now(UTC) >= opened_at + timedelta(seconds=self.reset_timeout)


class _Announce(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = old_state.name if old_state is not None else None
        _emit({"type": "breaker", "target": cb.name, "state": new_state.name, "previous": old})


@dataclass(frozen=True)
class BreakerSettings:
    """How sensitive the breakers are."""

    fail_max: int = 5
    """Consecutive counted failures that open a breaker."""
    reset_timeout_s: float = 30.0
    """Seconds an open breaker waits before letting one probe call through."""


class BreakerBoard:
    """The breakers of one runtime, by target name (``model:openai@host``, ``tool:commerce``)."""

    def __init__(self, settings: BreakerSettings | None = None) -> None:
        self.settings = settings or BreakerSettings()
        self._breakers: dict[str, ConcurrentBreaker] = {}
        self._lock = threading.Lock()

    def get(
        self,
        target: str,
        counts: Callable[[BaseException], bool] | None = None,
        fail_max: int | None = None,
    ) -> ConcurrentBreaker:
        """The breaker of ``target`` (created on first use): ``counts(exc)`` says which errors
        count as failures; ``fail_max`` overrides the board's setting for this target."""
        with self._lock:
            breaker = self._breakers.get(target)
            if breaker is None:
                exclude = [lambda exc: not counts(exc)] if counts is not None else []
                breaker = ConcurrentBreaker(
                    fail_max=fail_max or self.settings.fail_max,
                    reset_timeout=self.settings.reset_timeout_s,
                    exclude=exclude,
                    listeners=[_Announce()],
                    name=target,
                    throw_new_error_on_trip=False,
                )
                self._breakers[target] = breaker
            return breaker

    def states(self) -> dict[str, str]:
        """``{target: "closed" | "open" | "half-open"}`` for every breaker used so far."""
        with self._lock:
            return {name: b.current_state for name, b in self._breakers.items()}
