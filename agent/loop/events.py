"""What a run tells its listeners as it goes: one discriminated union, ``RunEvent``.

Nodes write events to the run's sink (``RunContext.emit``) as things happen; the trace recorder
(``agent.tracing.recorder``), the CLI's step printer and the service's event stream all consume
the same values — by their ``type`` — and nothing downstream recomputes what an event says (a
model call's cost is priced once, in ``call_model``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def payload(self) -> dict[str, Any]:
        """The event as JSON-able data, without its ``type`` (for streams and logs)."""
        return self.model_dump(mode="json", exclude={"type"})


class NodeEvent(_Event):
    """A node started or ended (the trace's node spans)."""

    type: Literal["node"] = "node"
    phase: Literal["start", "end"]
    name: str
    error: str | None = None
    interrupted: bool = False


class PlannedCallView(BaseModel):
    """A call of a model reply, as events show it."""

    model_config = ConfigDict(frozen=True)
    id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    provider_call_id: str | None = None


class ModelEvent(_Event):
    """One model call: what it was given and returned, what it cost (priced once, here)."""

    type: Literal["model"] = "model"
    model: str
    content: str = ""
    tool_calls: list[PlannedCallView] = Field(default_factory=list)
    limit: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    estimated_tokens: int = 0
    """Tokens a scripted or replayed model estimated (not counted against the token limit)."""
    cost_usd: float = 0.0
    priced: bool = True
    """Whether the price table knew the model (an unpriced model costs 0 here)."""
    latency_ms: float = 0.0
    context_tokens: dict[str, int] = Field(default_factory=dict)
    route: dict[str, Any] | None = None
    cache_hit: bool = False


class ModelErrorEvent(_Event):
    """The model call failed after its retries and fallbacks; ``error`` says how."""

    type: Literal["model_error"] = "model_error"
    error: str


class TokenEvent(_Event):
    """A piece of the model's answer, as a streaming model produced it."""

    type: Literal["token"] = "token"
    text: str


class ToolCallEvent(_Event):
    """A call was planned: allowed to run, or waiting for a reviewer (``approval_id``)."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    verdict: str
    approval_id: str | None = None
    provider_call_id: str | None = None


class ToolRefusedEvent(_Event):
    """A call that will not run: invalid arguments, unknown tool, denied, a limit."""

    type: Literal["tool_refused"] = "tool_refused"
    id: str
    tool: str
    kind: str
    message: str


class ToolResultEvent(_Event):
    """A tool call ran (or was replayed from the ledger, or served from the cache) and what it returned."""

    type: Literal["tool_result"] = "tool_result"
    id: str
    tool: str
    ok: bool
    summary: str = ""
    replayed: bool = False
    cache_hit: bool = False


class GuardEvent(_Event):
    """A guard's verdict on the way in (``input``), on a tool result, or on the answer (``output``)."""

    type: Literal["guard"] = "guard"
    stage: Literal["input", "tool_output", "output"]
    verdict: str
    score: float | None = None
    id: str | None = None
    tool: str | None = None
    fields: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class ApprovalDecidedEvent(_Event):
    """A reviewer's decision applied on resume; without the internal note, which never enters a run."""

    type: Literal["approval_decided"] = "approval_decided"
    id: str
    """The call's runtime id."""
    tool: str
    approval_id: str
    decision: str | None = None
    """``approve`` | ``edit`` | ``reject``; ``None``: the approval expired."""
    decided_by: str | None = None
    edited_args: dict[str, Any] | None = None
    customer_message: str | None = None


class BreakerEvent(_Event):
    """A circuit breaker changed state (``agent.breakers``)."""

    type: Literal["breaker"] = "breaker"
    target: str
    state: str
    previous: str


class FinalEvent(_Event):
    """The run's last event: its terminal status and the answer."""

    type: Literal["final"] = "final"
    status: str
    answer: str


RunEvent = Annotated[
    NodeEvent
    | ModelEvent
    | ModelErrorEvent
    | TokenEvent
    | ToolCallEvent
    | ToolRefusedEvent
    | ToolResultEvent
    | GuardEvent
    | ApprovalDecidedEvent
    | BreakerEvent
    | FinalEvent,
    Field(discriminator="type"),
]

EVENTS: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
"""Validates an event from plain data (``EVENTS.validate_python({"type": "final", ...})``)."""
