"""What one trial of a scenario did: its tool calls, approval events and turns, as plain data.

The runner builds a :class:`Transcript` from the runtime's ``RunResult`` values; the checks
score it; the reports serialise it. Nothing here knows how it was produced, so the checks can
be tested on hand-made transcripts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.loop.state import ModelRoute


class CallRecord(BaseModel):
    """One tool call the model asked for, and what became of it."""

    index: int = Field(description="1-based position among all calls of the trial ('step N' in explanations)")
    turn: int = 1
    step: int = 0
    id: str = ""
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    status: str = "executed"
    risk: str = "read"
    error_kind: str | None = None
    error: str | None = None
    summary: str | None = Field(None, description="the tool result's one-line summary")
    approval_id: str | None = None
    decision: str | None = None

    @property
    def ran(self) -> bool:
        """The tool's effect happened (executed now, or replayed from the idempotency ledger)."""
        return self.status in ("executed", "replayed")


class ApprovalEvent(BaseModel):
    """One approval request and what the scripted reviewer did with it."""

    approval_id: str
    turn: int
    call_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict, description="the arguments approval was asked for")
    decision: str = Field(description="approve | edit | reject | pending (left undecided)")
    reason: str | None = None
    edits: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(None, description="why the decision could not be recorded")


class TurnRecord(BaseModel):
    """One user message and the run(s) it took (a run, then one more per approval)."""

    message: str
    source: Literal["script", "simulator"] = Field("script", description="who wrote the message")
    status: str
    answer: str = ""
    answers: list[str] = Field(
        default_factory=list, description="every run's answer in this turn (one per approval round), in order"
    )
    stop_reason: str | None = None
    error: dict[str, Any] | None = Field(None, description="what ended a failed run (kind, message)")
    steps: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = Field(0.0, description="priced by the runtime's price table (0 when the model has no price)")
    latency_s: float = 0.0
    run_ids: list[str] = Field(
        default_factory=list, description="the traces of this turn's runs (`tiller traces show RUN_ID`, /traces/RUN_ID)"
    )
    routes: list[ModelRoute] = Field(
        default_factory=list, description="with a router:… model, the tier that served each model step, and why"
    )


SimulationEnd = Literal["done", "max_turns", "approval_pending", "empty_reply"]


class SimulationRecord(BaseModel):
    """How a simulated user's part of the conversation went."""

    model: str = Field(description="the simulator's model spec")
    turns: int = Field(0, description="messages the simulated user sent")
    ended: SimulationEnd | None = Field(
        None,
        description="done: it wrote the stop token (goal met or hopeless); max_turns: it used all its turns; "
        "approval_pending: an approval was left pending; empty_reply: it wrote nothing",
    )


class Transcript(BaseModel):
    """Everything a trial did, across its turns."""

    calls: list[CallRecord] = Field(default_factory=list)
    approvals: list[ApprovalEvent] = Field(default_factory=list)
    turns: list[TurnRecord] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what the driver did that a reader should know")
    simulation: SimulationRecord | None = Field(None, description="the simulated user, when the scenario has one")

    @property
    def status(self) -> str:
        """The status of the last turn (``not_run`` before any)."""
        return self.turns[-1].status if self.turns else "not_run"

    @property
    def answer(self) -> str:
        """The last answer."""
        return self.turns[-1].answer if self.turns else ""

    @property
    def stop_reason(self) -> str | None:
        """Why the last turn stopped, if a limit stopped it."""
        return self.turns[-1].stop_reason if self.turns else None

    @property
    def steps(self) -> int:
        """Model steps over every turn."""
        return sum(t.steps for t in self.turns)

    @property
    def tool_calls(self) -> int:
        """Tool calls over every turn."""
        return sum(t.tool_calls for t in self.turns)

    @property
    def tokens(self) -> int:
        """Input and output tokens over every turn."""
        return sum(t.input_tokens + t.output_tokens for t in self.turns)

    @property
    def cost_usd(self) -> float:
        """Model cost over every turn, in USD."""
        return round(sum(t.cost_usd for t in self.turns), 8)

    @property
    def latency_s(self) -> float:
        """Wall-clock time over every turn, in seconds."""
        return round(sum(t.latency_s for t in self.turns), 4)

    @property
    def tier(self) -> str | None:
        """With a router: ``strong`` if any step escalated, else ``cheap``; ``None`` unrouted."""
        tiers = {r.tier for t in self.turns for r in t.routes}
        return ("strong" if "strong" in tiers else "cheap") if tiers else None
