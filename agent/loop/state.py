"""Graph state and the typed outcome of a run.

The graph state holds only plain data (messages, dicts, numbers) so every checkpoint backend can
store it. ``RunResult`` is what callers get back: a status as data, the answer, the trajectory and
the usage — a failed or limited run still returns everything it did.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field

from agent.loop.calls import ApprovalRecord
from agent.persistence.approvals import PendingApproval

__all__ = [
    "AgentState",
    "ApprovalRecord",
    "CallStatus",
    "ModelRoute",
    "PendingApproval",
    "RunResult",
    "RunStatus",
    "ToolCallRecord",
    "Usage",
    "merge_calls",
]


class RunStatus(StrEnum):
    """How a run ended (or paused): the status every result carries, as data."""

    COMPLETED = "completed"
    AWAITING_APPROVAL = "awaiting_approval"
    LIMIT_REACHED = "limit_reached"
    BLOCKED = "blocked"
    FAILED = "failed"


class CallStatus(StrEnum):
    """What happened to one tool call the model asked for."""

    EXECUTED = "executed"
    REPLAYED = "replayed"  # the ledger returned the recorded result of an earlier execution
    ERROR = "error"  # the tool refused (business rule, not found, unavailable)
    INVALID = "invalid"  # arguments failed validation, or unknown tool
    DENIED = "denied"  # policy said deny
    REJECTED = "rejected"  # a reviewer rejected it (or the approval expired)
    LIMIT = "limit"  # a tool-call limit stopped it
    PENDING_APPROVAL = "pending_approval"


def merge_calls(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reducer of the trajectory: records are upserted by the runtime's call id (unique within a
    thread, so a provider repeating its own ids never merges two calls), order kept."""
    merged = {c["id"]: c for c in left}
    order = [c["id"] for c in left]
    for call in right:
        if call["id"] not in merged:
            order.append(call["id"])
        merged[call["id"]] = {**merged.get(call["id"], {}), **call}
    return [merged[i] for i in order]


class AgentState(TypedDict, total=False):
    """The graph's state, checkpointed after each step: messages, planned calls, the trajectory, counters."""

    messages: Annotated[list[AnyMessage], add_messages]
    # Calls of the current model turn awaiting approval or execution (plain dicts).
    planned: list[dict[str, Any]]
    trajectory: Annotated[list[dict[str, Any]], merge_calls]
    turn: int
    steps: int
    input_tokens: int
    output_tokens: int
    estimated_tokens: int
    cost_usd: float
    invalid_args: int
    stop_reason: str | None
    status: str | None
    error: dict[str, Any] | None


class ToolCallRecord(BaseModel):
    """One call of the run as it is recorded: what was asked, what happened, with what result."""

    id: str
    """The runtime's identity of the call (``tc_<turn>_<step>_<index>``, agent.loop.identity):
    unique within the thread, stable across a resume of the same step."""
    provider_call_id: str | None = None
    """The id the model provider sent with the call, if any: metadata, never identity."""
    turn: int = 0
    step: int
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    status: CallStatus
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    approval: ApprovalRecord | None = None
    latency_ms: float | None = None
    cache_hit: bool = False  # the result came from the read-tool cache


class Usage(BaseModel):
    """What a run used: model steps, tool calls, tokens and cost."""

    steps: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated_tokens: int = 0
    """Tokens scripted or replayed models estimated for turns without recorded usage: reported,
    never counted against the token limit."""
    cost_usd: float = 0.0
    elapsed_s: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens (estimated ones not included)."""
        return self.input_tokens + self.output_tokens


class ModelRoute(BaseModel):
    """Which tier of a ``router:`` model served one model step, and why."""

    tier: str
    model: str
    reason: str = ""
    cache_hit: bool = False


class RunResult(BaseModel):
    """The outcome of a run: its status, the answer, the trajectory, what waits for a reviewer, and its usage."""

    thread_id: str
    run_id: str | None = None  # the trace of this run segment (`tiller traces show RUN_ID`)
    status: RunStatus
    answer: str
    trajectory: list[ToolCallRecord] = Field(default_factory=list)
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None
    error: dict[str, Any] | None = None
    routes: list[ModelRoute] = Field(
        default_factory=list, description="per model step of this turn, the router tier that served it"
    )

    @property
    def executed_calls(self) -> list[ToolCallRecord]:
        """The calls that took effect: executed now, or replayed from the ledger."""
        return [c for c in self.trajectory if c.status in (CallStatus.EXECUTED, CallStatus.REPLAYED)]
