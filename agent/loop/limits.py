"""The limits of one run, checked in one place: before each model call and before each tool call.

Reaching a limit is an outcome, not an error: the run ends ``limit_reached`` with a best-effort
answer written with tools off (``call_model``), and its ``stop_reason`` names the limit.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Literal

from agent.config import Limits

StopReason = Literal[
    "max_steps",
    "max_tokens",
    "deadline",
    "max_cost_usd",
    "max_tool_calls",
    "max_calls_per_tool",
    "max_invalid_args",
    "recursion_limit",
]


def before_model(
    limits: Limits, *, steps: int, tokens: int, cost_usd: float, deadline: float, stopped: str | None = None
) -> StopReason | str | None:
    """The limit that stops the next model call (``stopped``: one reached earlier in the run)."""
    if stopped:
        return stopped
    if steps >= limits.max_steps:
        return "max_steps"
    if tokens >= limits.max_tokens:
        return "max_tokens"
    if time.monotonic() >= deadline:
        return "deadline"
    if limits.max_cost_usd is not None and cost_usd >= limits.max_cost_usd:
        return "max_cost_usd"
    return None


def before_tool(limits: Limits, total: int, per_tool: Counter[str], tool: str) -> StopReason | None:
    """The limit that stops one more call of ``tool`` after ``total`` calls this run."""
    if total >= limits.max_tool_calls:
        return "max_tool_calls"
    if per_tool[tool] >= limits.max_calls_per_tool:
        return "max_calls_per_tool"
    return None


def too_many_invalid(limits: Limits, invalid: int) -> bool:
    """Whether the run has seen more invalid tool arguments than it tolerates."""
    return invalid > limits.max_invalid_args
