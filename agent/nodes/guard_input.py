"""guard_input: screen the user's newest message before anything reaches the model."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.guards import GuardAction, screen_input
from agent.nodes.deps import RunContext
from agent.state import AgentState, RunStatus

BLOCKED_ANSWER = (
    "I can't act on that message: it contains instructions aimed at the system rather than a "
    "support request. Please rephrase what you need help with."
)


def guard_input(state: AgentState, runtime: Runtime[RunContext]) -> Command[Literal["call_model", "finalize"]]:
    message = state["messages"][-1]
    if not isinstance(message, HumanMessage):
        return Command(goto="call_model")
    verdict = screen_input(message.text, block_injection=runtime.context.block_injection)
    summary = verdict.summary
    if message.additional_kwargs.get("redacted") and verdict.action is GuardAction.ALLOW:
        # The runtime redacted secrets before the message was stored; report them here.
        summary = f"redact ({', '.join(message.additional_kwargs['redacted'])})"
    runtime.stream_writer({"type": "guard", "stage": "input", "verdict": summary})
    update: dict[str, Any] = {}
    if verdict.text != message.text:
        # Same id: add_messages replaces the raw text with the redacted one.
        update["messages"] = [HumanMessage(content=verdict.text, id=message.id)]
    if verdict.action is GuardAction.BLOCK:
        update["messages"] = [*update.get("messages", []), AIMessage(content=BLOCKED_ANSWER)]
        update["status"] = RunStatus.BLOCKED.value
        return Command(goto="finalize", update=update)
    return Command(goto="call_model", update=update)
