"""run_tools: execute the turn's calls after their approvals were decided, exactly once each
(``agent.loop.execute``): the approved and the allowed ones; rejected ones were answered by
``request_approval``."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.loop.calls import PlannedCall
from agent.loop.context import RunContext
from agent.loop.execute import execute_planned
from agent.loop.state import AgentState


async def run_tools(state: AgentState, runtime: Runtime[RunContext]) -> Command[Literal["call_model"]]:
    """Execute the turn's allowed and approved calls, then back to ``call_model``."""
    planned = [PlannedCall.from_state(p) for p in state.get("planned", [])]
    messages, records = await execute_planned(state, runtime.context, planned, runtime.stream_writer)
    return Command(goto="call_model", update={"messages": messages, "trajectory": records, "planned": []})
