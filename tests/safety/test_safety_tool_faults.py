"""Tool faults: crashes, timeouts, malformed and oversized results, repeated failures, and the
per-backend circuit breaker. None of them crashes the run; the model hears what happened."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel
from sqlalchemy import select

from agent.config import Limits, Settings
from agent.loop.events import BreakerEvent, RunEvent
from agent.loop.execute import tool_backend
from agent.loop.state import CallStatus, RunResult, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from agent.runtime.execution import _Abandoned, _CommitGate
from tools.contract import Risk, ToolContext, tool
from tools.db import make_engine
from tools.envelope import read_envelope
from tools.errors import ToolUnavailable
from tools.ledger import ToolEffect
from tools.registry import ToolRegistry

CALLS: list[str] = []  # keys flaky_lookup was really called with
EVENTS: list[RunEvent] = []  # events of the last run


class LookupArgs(BaseModel):
    key: str


class LookupResult(BaseModel):
    value: str
    items: list[str] = []
    summary: str = ""


@tool(risk=Risk.READ)
def flaky_lookup(ctx: ToolContext, args: LookupArgs) -> LookupResult:
    """A lookup whose backend is down."""
    CALLS.append(args.key)
    raise ToolUnavailable("the inventory service is down")


@tool(risk=Risk.READ)
def crashing_lookup(ctx: ToolContext, args: LookupArgs) -> LookupResult:
    """A lookup with a bug."""
    raise KeyError(args.key)


@tool(risk=Risk.READ, timeout_s=0.1)
def slow_lookup(ctx: ToolContext, args: LookupArgs) -> LookupResult:
    """A lookup that hangs."""
    time.sleep(0.5)
    return LookupResult(value="late")


@tool(risk=Risk.WRITE, timeout_s=0.1)
def slow_write(ctx: ToolContext, args: LookupArgs) -> LookupResult:
    """A write whose backend answers after the call's timeout."""
    time.sleep(0.4)
    CALLS.append(args.key)
    return LookupResult(value="written late")


@tool(risk=Risk.READ)
def malformed_lookup(ctx: ToolContext, args: LookupArgs) -> LookupResult:
    """A lookup that returns the wrong shape."""
    return {"value": ["not", "a", "string"]}  # type: ignore[return-value]


@tool(risk=Risk.READ)
def huge_lookup(ctx: ToolContext, args: LookupArgs) -> LookupResult:
    """A lookup that returns far too much."""
    return LookupResult(value="ok", items=[f"item {i} " + "x" * 200 for i in range(500)], summary="500 items")


REGISTRY = ToolRegistry([flaky_lookup, crashing_lookup, slow_lookup, slow_write, malformed_lookup, huge_lookup])


def _calls_then_answer(*calls: tuple[str, str]) -> ScriptedChatModel:
    """Calls each ``(tool, key)`` in its own turn, then answers."""

    def script(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        n = sum(isinstance(m, AIMessage) for m in messages)
        if n < len(calls) and tools:
            name, key = calls[n]
            return AIMessage(content="", tool_calls=[{"name": name, "args": {"key": key}, "id": f"c{n}"}])
        return AIMessage(content="Done.")

    return ScriptedChatModel(script)


def _run(
    settings: Settings, *calls: tuple[str, str], limits: Limits | None = None, registry: ToolRegistry = REGISTRY
) -> tuple[RunResult, list[dict[str, Any]]]:
    """Run the calls; the result and the envelopes the model read back."""
    EVENTS.clear()
    with Tiller(settings, model=_calls_then_answer(*calls), registry=registry, limits=limits) as tiller:
        result = tiller.ask("go", on_event=EVENTS.append)
        return result, [read_envelope(m) for m in tiller.messages(result.thread_id) if m.type == "tool"]


def test_crashes_timeouts_and_malformed_results_become_errors(settings: Settings) -> None:
    result, envelopes = _run(settings, ("crashing_lookup", "a"), ("slow_lookup", "b"), ("malformed_lookup", "c"))
    assert result.status is RunStatus.COMPLETED and result.answer == "Done."
    kinds = [e["error"]["kind"] for e in envelopes]
    assert kinds == ["tool_crashed", "timeout", "tool_crashed"]
    assert "did not answer within 0.1s" in envelopes[1]["error"]["message"]
    # a plain exception keeps what it said for the model, not only its type's name
    assert envelopes[0]["error"]["message"] == "crashing_lookup failed: KeyError: 'a'"


def test_a_write_that_times_out_before_its_commit_rolls_back(settings: Settings) -> None:
    """The model is told the write timed out, so it must not have happened: the late thread's
    transaction (the effect and its ledger record) rolls back instead of committing."""
    CALLS.clear()
    result, [envelope] = _run(settings, ("slow_write", "w"))  # closing the runtime waits for the thread
    assert envelope["error"]["kind"] == "timeout" and CALLS == ["w"]  # the tool did finish, late
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            keys = conn.scalars(select(ToolEffect.key).where(ToolEffect.thread_id == result.thread_id)).all()
    finally:
        engine.dispose()
    assert keys == []


def test_a_remote_write_that_times_out_is_unknown_and_not_sent_again(settings: Settings) -> None:
    """A remote effect (an MCP or LangChain tool) cannot be rolled back once sent: the model reads
    that its outcome is not known, and the same call asked again in the run is not sent."""
    CALLS.clear()
    remote = ToolRegistry([replace(slow_write, remote=True)])
    _, envelopes = _run(settings, ("slow_write", "w"), ("slow_write", "w"), registry=remote)
    assert [e["error"]["kind"] for e in envelopes] == ["outcome_unknown", "repeated_failure"]
    assert "not known" in envelopes[0]["error"]["message"] and "not known" in envelopes[1]["error"]["message"]
    assert CALLS == ["w"]  # sent once


def test_the_commit_gate_decides_once() -> None:
    committing = _CommitGate()
    committing.enter_commit()
    assert committing.abandon() is False  # the commit began: the loop awaits its outcome
    abandoned = _CommitGate()
    assert abandoned.abandon() is True
    with pytest.raises(_Abandoned):
        abandoned.enter_commit()  # the late thread rolls back


def test_an_identical_failing_call_is_stopped_after_two_failures(settings: Settings) -> None:
    CALLS.clear()
    result, envelopes = _run(settings, *[("flaky_lookup", "same")] * 3)
    assert CALLS == ["same", "same"]
    assert [e["error"]["kind"] for e in envelopes] == ["unavailable", "unavailable", "repeated_failure"]
    assert all(c.status is CallStatus.ERROR for c in result.trajectory)


def test_the_backend_breaker_opens_and_fails_fast(settings: Settings) -> None:
    CALLS.clear()
    keys = [("flaky_lookup", f"k{i}") for i in range(7)]
    result, envelopes = _run(settings, *keys, limits=Limits(max_steps=10, max_calls_per_tool=10))
    assert CALLS == ["k0", "k1", "k2", "k3", "k4"]  # five failures open the breaker
    assert [e["error"]["kind"] for e in envelopes][5:] == ["circuit_open", "circuit_open"]
    assert "nothing was changed" in envelopes[5]["error"]["message"]
    assert BreakerEvent(target="tool:flaky_lookup", state="open", previous="closed") in EVENTS
    assert result.status is RunStatus.COMPLETED


def test_an_oversized_result_reaches_the_model_cut_with_a_note(settings: Settings) -> None:
    _, [envelope] = _run(settings, ("huge_lookup", "a"))
    assert envelope["ok"] is True and "lists cut to" in envelope["truncated"]
    assert len(envelope["data"]["items"]) <= 51 and envelope["data"]["summary"] == "500 items"


def test_tools_are_grouped_by_backend() -> None:
    from tools.commerce import commerce_tools

    assert {tool_backend(t) for t in commerce_tools()} == {"tool:commerce"}
    assert tool_backend(flaky_lookup) == "tool:flaky_lookup"
