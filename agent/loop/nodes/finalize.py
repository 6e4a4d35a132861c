"""finalize: check the answer on the way out and set the run's terminal status.

The answer is validated against this conversation's tool results (:mod:`agent.checks.answer`):
no other customer's or tenant's data, citations only of passages actually retrieved, order
facts that match the tool results. A failing answer goes back to the model once with the
reasons (a system note, then ``call_model``); if it fails again — or the tenant's policy says
``fallback`` — it is replaced by a safe answer built from the tool results' own summaries.
Secrets are redacted from every answer. The verdict is streamed as a ``guard`` event
(stage ``output``).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.checks import policy_for, redact
from agent.checks.answer import Problem, check_answer
from agent.checks.evidence import gather_evidence
from agent.loop.context import RunContext, last_ai
from agent.loop.events import FinalEvent, GuardEvent
from agent.loop.state import AgentState, RunStatus

REPAIR_ID_PREFIX = "tiller-repair-"
REPAIR_NOTE = (
    "Your last answer was not sent to the customer because it failed validation:\n{problems}\n"
    "Write the answer again. Use only facts from this conversation's tool results, cite only "
    "knowledge-base passages you retrieved (as [doc#chunk]), and never mention records no tool returned."
)
FALLBACK_ANSWER = "I'm sorry — I couldn't put together an answer I can stand behind, so I won't guess."
FALLBACK_FACTS = " Here is what I found:\n{facts}\n"
FALLBACK_OFFER = " If you need more help, I can open a support ticket so a colleague follows up."
# Answers written by the runtime itself, not by the model: nothing to validate.
_UNCHECKED = {RunStatus.BLOCKED.value, RunStatus.FAILED.value}


def _repaired_this_turn(messages: list[AnyMessage]) -> bool:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return False
        if isinstance(message, SystemMessage) and str(message.id or "").startswith(REPAIR_ID_PREFIX):
            return True
    return False


def fallback_answer(summaries: list[str]) -> str:
    """A safe answer: an apology, the tool results' own summaries, and an offer of a ticket."""
    facts = "\n".join(f"- {s}" for s in dict.fromkeys(summaries))
    return FALLBACK_ANSWER + (FALLBACK_FACTS.format(facts=facts) if facts else "") + FALLBACK_OFFER


def _verdict(action: str, kinds: list[str]) -> str:
    return action + (f" ({', '.join(sorted(set(kinds)))})" if kinds else "")


async def finalize(state: AgentState, runtime: Runtime[RunContext]) -> Command[Literal["call_model", "__end__"]]:
    """Check and redact the answer; back to ``call_model`` once to repair it, else the end of the run."""
    policy = policy_for(runtime.context)
    status = state.get("status") or RunStatus.COMPLETED.value
    messages = state["messages"]
    ai = last_ai(messages)
    answer, secrets = redact(ai.text if ai is not None else "", policy.secret_rules())
    vocabulary = runtime.context.deps.vocabulary
    evidence = gather_evidence(messages, vocabulary)
    problems: list[Problem] = [] if status in _UNCHECKED else check_answer(answer, evidence, vocabulary)
    kinds = [p.kind for p in problems] + [f.kind for f in secrets]
    update: dict[str, Any] = {}
    action = "redact" if secrets else "allow"
    if problems and policy.output_checks == "flag":
        action = "flag"
    elif problems:
        can_repair = policy.output_checks == "repair" and status == RunStatus.COMPLETED.value
        if can_repair and ai is not None and not _repaired_this_turn(messages):
            note = REPAIR_NOTE.format(problems="\n".join(f"- {p}" for p in problems))
            verdict = _verdict("repair", kinds)
            runtime.stream_writer(GuardEvent(stage="output", verdict=verdict, problems=[str(p) for p in problems]))
            repair = SystemMessage(content=note, id=f"{REPAIR_ID_PREFIX}{ai.id or len(messages)}")
            return Command(goto="call_model", update={"messages": [repair]})
        action, answer = "fallback", fallback_answer(evidence.summaries)
    if ai is not None and answer != ai.text:
        update["messages"] = [AIMessage(content=answer, id=ai.id)]
    elif ai is None:
        update["messages"] = [AIMessage(content=answer or fallback_answer(evidence.summaries))]
        answer = update["messages"][0].text
    verdict = _verdict(action, kinds)
    runtime.stream_writer(GuardEvent(stage="output", verdict=verdict, problems=[str(p) for p in problems]))
    update["status"] = status
    runtime.stream_writer(FinalEvent(status=status, answer=answer))
    return Command(goto="__end__", update=update)  # END, spelled as the Literal the return type names
