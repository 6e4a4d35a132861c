"""finalize: check the answer on the way out and set the run's terminal status."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from agent.guards import redact
from agent.nodes.deps import RunContext, last_ai
from agent.state import AgentState, RunStatus


def finalize(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    update: dict[str, Any] = {"status": state.get("status") or RunStatus.COMPLETED.value}
    ai = last_ai(state["messages"])
    answer = ai.text if ai is not None else ""
    # Secrets never leave in an answer, whatever a tool result or the model contained.
    clean, findings = redact(answer)
    if ai is not None and clean != answer:
        update["messages"] = [AIMessage(content=clean, id=ai.id)]
    runtime.stream_writer({"type": "guard", "stage": "output", "verdict": "redact" if findings else "allow"})
    runtime.stream_writer({"type": "final", "status": update["status"], "answer": clean})
    return update
