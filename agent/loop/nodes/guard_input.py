"""guard_input: screen the user's newest message before anything reaches the model.

The tenant's guard policy (``RunContext.guard_policy``; the default policy otherwise) decides
what happens to secrets, personal data and prompt injection: ``redact``, ``block`` (the run
ends ``blocked`` with a message the user can act on) or ``flag`` (reported, passed on). A
direct call's message (``agent.loop.direct``) is screened the same way, except that injection
is only flagged there.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.checks import INJECTION_BLOCKED, GuardAction, policy_for, screen_input
from agent.loop.context import RunContext
from agent.loop.direct import DIRECT_CALL_KEY
from agent.loop.events import GuardEvent
from agent.loop.state import AgentState, RunStatus

BLOCKED_ANSWER = INJECTION_BLOCKED


async def guard_input(state: AgentState, runtime: Runtime[RunContext]) -> Command[Literal["call_model", "finalize"]]:
    """Screen the newest user message: on to ``call_model``, or to ``finalize`` when the policy blocks it."""
    message = state["messages"][-1]
    if not isinstance(message, HumanMessage):
        return Command(goto="call_model")
    # The runtime cuts secrets before the message is checkpointed; they count as findings here.
    early = tuple(message.additional_kwargs.get("redacted") or ())
    policy = policy_for(runtime.context)
    if DIRECT_CALL_KEY in message.additional_kwargs and policy.injection != "flag":
        # The runtime's own wording of a program's call (it names the tool), which no model reads
        # to plan this turn: an injection score is a signal here, never a block. Secrets and
        # personal data are screened as in any message.
        policy = policy.model_copy(update={"injection": "flag"})
    verdict = screen_input(message.text, policy=policy, redacted_before=early)
    scores = [f.score for f in verdict.findings if f.kind == "injection"]
    runtime.stream_writer(GuardEvent(stage="input", verdict=verdict.summary, score=max(scores) if scores else None))
    update: dict[str, Any] = {}
    if verdict.text != message.text:
        # Same id: add_messages replaces the raw text with the redacted one.
        update["messages"] = [
            HumanMessage(content=verdict.text, id=message.id, additional_kwargs=message.additional_kwargs)
        ]
    if verdict.action is GuardAction.BLOCK:
        answer = AIMessage(content=verdict.message or BLOCKED_ANSWER)
        update["messages"] = [*update.get("messages", []), answer]
        update["status"] = RunStatus.BLOCKED.value
        return Command(goto="finalize", update=update)
    return Command(goto="call_model", update=update)
