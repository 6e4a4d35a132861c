"""The shared workload of the per-step benchmark: three trivial tools and a scripted model.

Every runtime gets the same three pure tools (``get_time``, ``add_numbers``, ``echo_text``) in
the form it expects — plain functions for the floor, LangChain tools for LangGraph and
``create_agent``, ``@tool`` specs for Tiller (``echo_text`` declared ``Risk.WRITE`` so Tiller's
idempotency ledger records it) — and the same deterministic :class:`ScriptedChatModel`.

The model reads the step count from the user's message (``"steps=N"``): its first ``N`` turns
each call one tool (cycling through the three), the next one answers. The turn is chosen by the
number of AI messages already in the conversation, so the same model object serves every
runtime and every run length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as langchain_tool
from pydantic import BaseModel

from agent.loop.context import system_prompt
from agent.models.scripted import ScriptedChatModel
from tools.contract import Risk, ToolContext, tool
from tools.domain import load_domain
from tools.registry import ToolRegistry

FIXED_TIME = "2026-10-01T12:00:00+00:00"
TOOL_NAMES = ("get_time", "add_numbers", "echo_text")
TOOL_ARGS: dict[str, dict[str, Any]] = {
    "get_time": {"timezone": "UTC"},
    "add_numbers": {"a": 2, "b": 3},
    "echo_text": {"text": "hello"},
}
FINAL_ANSWER = "All steps done."
PROMPT = system_prompt(load_domain("commerce").prompt())
"""The same system prompt for every runtime (Tiller's own)."""

_STEPS = re.compile(r"steps=(\d+)")


def request(steps: int) -> str:
    """The user's message asking for a run of ``steps`` tool steps."""
    return f"please run steps={steps}"


# -- plain functions (the floor) -----------------------------------------------------------


def get_time_value(timezone: str) -> str:
    return FIXED_TIME


def add_numbers_value(a: int, b: int) -> int:
    return a + b


def echo_text_value(text: str) -> str:
    return text


PLAIN_TOOLS: dict[str, Callable[..., Any]] = {
    "get_time": get_time_value,
    "add_numbers": add_numbers_value,
    "echo_text": echo_text_value,
}


# -- LangChain tools (bare LangGraph, create_agent) ----------------------------------------


def langchain_tools() -> list[BaseTool]:
    """The three tools as LangChain tools."""

    @langchain_tool
    def get_time(timezone: str) -> str:
        """The current time in a timezone (fixed, for benchmarks)."""
        return get_time_value(timezone)

    @langchain_tool
    def add_numbers(a: int, b: int) -> int:
        """Add two integers."""
        return add_numbers_value(a, b)

    @langchain_tool
    def echo_text(text: str) -> str:
        """Repeat a text back."""
        return echo_text_value(text)

    return [get_time, add_numbers, echo_text]


# -- Tiller tools --------------------------------------------------------------------------


class TimeArgs(BaseModel):
    timezone: str


class TimeResult(BaseModel):
    time: str


class AddArgs(BaseModel):
    a: int
    b: int


class AddResult(BaseModel):
    sum: int


class EchoArgs(BaseModel):
    text: str


class EchoResult(BaseModel):
    text: str


@tool(risk=Risk.READ, untrusted=())  # computed values: trusted for the provenance policy
def get_time(ctx: ToolContext, args: TimeArgs) -> TimeResult:
    """The current time in a timezone (fixed, for benchmarks)."""
    return TimeResult(time=get_time_value(args.timezone))


@tool(risk=Risk.READ, untrusted=())  # computed values: trusted for the provenance policy
def add_numbers(ctx: ToolContext, args: AddArgs) -> AddResult:
    """Add two integers."""
    return AddResult(sum=add_numbers_value(args.a, args.b))


@tool(risk=Risk.WRITE, idempotent=True, untrusted=())
def echo_text(ctx: ToolContext, args: EchoArgs) -> EchoResult:
    """Repeat a text back (declared a write, so the idempotency ledger records each call)."""
    return EchoResult(text=echo_text_value(args.text))


def tiller_registry() -> ToolRegistry:
    """The three tools as Tiller ``@tool`` specs."""
    return ToolRegistry([get_time, add_numbers, echo_text])


# -- the scripted model --------------------------------------------------------------------


def _requested_steps(messages: list[BaseMessage]) -> int:
    for message in messages:
        if isinstance(message, HumanMessage):
            found = _STEPS.search(message.text)
            if found:
                return int(found.group(1))
    raise ValueError("the benchmark model needs a user message with steps=N")


def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    """The scripted turn: call tool ``i % 3`` on turn ``i`` while ``i < steps``, then answer."""
    done = sum(1 for m in messages if m.type == "ai")
    if done >= _requested_steps(messages):
        return FINAL_ANSWER
    name = TOOL_NAMES[done % len(TOOL_NAMES)]
    return {"tool_calls": [{"name": name, "args": TOOL_ARGS[name], "id": f"call_{done}"}]}


def scripted_model() -> ScriptedChatModel:
    """A fresh scripted model (each runtime gets its own, so recorded calls never mix)."""
    return ScriptedChatModel(respond)
