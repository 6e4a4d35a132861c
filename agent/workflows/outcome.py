"""The outcome of one workflow task: the line ``tiller run`` writes, the row the API keeps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from agent.loop.state import CallStatus, RunResult
from agent.persistence.workflows import FINISHED
from agent.workflows.spec import Task

__all__ = ["FINISHED", "TaskOutcome", "outcome_of"]


class TaskOutcome(BaseModel):
    """One line of a workflow's results."""

    task_id: str
    thread_id: str
    status: str = Field(description="a run status, or `error` when the task could not run")
    answer: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    approvals: list[dict[str, Any]] = Field(default_factory=list)
    usage: dict[str, Any] = Field(default_factory=dict)
    elapsed_s: float = 0.0
    waited_s: float = Field(0.0, description="time parked waiting for reviewers")
    error: str | None = None


def outcome_of(
    task: Task,
    thread_id: str,
    result: RunResult | None,
    error: str | None = None,
    notes: Mapping[str, str] | None = None,
) -> TaskOutcome:
    """The result line of a task: status, answer, tool calls, approvals and usage.

    ``notes``: the reviewers' internal notes by approval id, from the approval rows (a run's
    result never carries them); the results are for the workflow's operator, who may read them."""
    notes = notes or {}
    if result is None:
        return TaskOutcome(task_id=task.id, thread_id=thread_id, status="error", error=error)
    calls = [
        {
            "id": c.id,
            "tool": c.tool,
            "args": c.args,
            "status": c.status.value,
            **({"error": c.error} if c.error else {}),
        }
        for c in result.trajectory
    ]
    approvals = [
        {"id": c.approval.id, "tool": c.tool, "decision": c.approval.decision, "decided_by": c.approval.decided_by}
        | ({"reason": notes[c.approval.id]} if notes.get(c.approval.id) else {})
        for c in result.trajectory
        if c.approval is not None
    ]
    known = {a["id"] for a in approvals}
    approvals += [
        {"id": a.id, "tool": a.tool, "decision": None, "status": a.status}
        for a in result.pending_approvals
        if a.id not in known
    ]
    usage = result.usage.model_dump(exclude={"elapsed_s"})
    status, error = result.status.value, (result.error or {}).get("message") if result.error else None
    refused = [c for c in result.trajectory if c.approval is not None and c.status is CallStatus.ERROR]
    if status == "completed" and refused:
        # The run ended well, but the action the task was for did not happen: the task failed.
        status = "failed"
        error = "; ".join(f"{c.tool} failed: {(c.error or {}).get('message', 'no details')}" for c in refused)
    return TaskOutcome(
        task_id=task.id,
        thread_id=thread_id,
        status=status,
        answer=result.answer,
        tool_calls=calls,
        approvals=approvals,
        usage=usage,
        error=error,
    )
