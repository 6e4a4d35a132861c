"""The loop's side of a tool call: the call as planned (``PlannedCall``), who it acts for
(``CallIdentity``), what came back (``Outcome``) and what runs it (``ToolRunner``, implemented by
``agent.runtime.execution``).

The loop decides *whether* a call runs; a ``ToolRunner`` decides *how*: timeout, retries, the
idempotency ledger and the consumption of an approval in the effect's transaction. Planned calls
are typed here and stored in the graph state as plain data (``to_state`` / ``from_state``), so
every checkpoint backend can hold them and a checkpoint written by an older Tiller still loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agent.persistence.approvals import Decision
from tools.contract import ToolSpec


class PlanVerdict(StrEnum):
    """Where a planned call stands: allowed, waiting, or decided by a reviewer."""

    ALLOW = "allow"
    NEEDS_APPROVAL = "needs_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalRecord(BaseModel):
    """An approval attached to a call: its id and, once decided, the decision.

    It holds no internal note: a call record reaches the customer (``RunResult``, the thread's
    stream, the chat page), the note stays on the approval row (an older checkpoint's ``reason``
    is dropped on reading)."""

    id: str
    decision: str | None = None
    decided_by: str | None = None
    edited_args: dict[str, Any] | None = None
    customer_message: str | None = None


class ReviewDecision(BaseModel):
    """A reviewer's decision on one approval as the paused run receives it (``None``: expired).

    The reviewer's internal note is not part of it: it stays on the approval row, the audit log
    and the reviewers' pages, so neither the model (which could repeat it) nor anything the
    customer reads can carry it. ``customer_message`` is what the model may pass on."""

    decision: Decision | None = None
    decided_by: str | None = None
    edited_args: dict[str, Any] | None = None
    customer_message: str | None = None


class PlannedCall(BaseModel):
    """One call of a model turn that passed validation, limits and policy."""

    model_config = ConfigDict(extra="ignore")

    id: str
    """The runtime's identity (``agent.loop.identity``)."""
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    verdict: PlanVerdict
    pairing_id: str | None = None
    """The id its tool message answers (``None`` in checkpoints of older Tillers: ``id``)."""
    provider_call_id: str | None = None
    approval_id: str | None = None
    approval: ApprovalRecord | None = None
    note: str | None = None
    """What the model is told with the result (e.g. a reviewer's edits)."""
    message: str | None = None
    """Why a rejected call did not run (for the model)."""

    @property
    def answers(self) -> str:
        """The tool-call id the call's tool message answers."""
        return self.pairing_id or self.id

    def to_state(self) -> dict[str, Any]:
        """The call as the graph state keeps it: plain JSON, unset fields left out."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> PlannedCall:
        """A planned call read back from the graph state."""
        return cls.model_validate(data)


@dataclass(frozen=True)
class CallIdentity:
    """Who a call acts for, and the runtime's identity of the call (``agent.loop.identity``)."""

    tenant_id: str
    user_id: str
    thread_id: str
    tool_call_id: str
    history: tuple[str, ...] = ()
    """The user's earlier messages in the thread (trusted text, never the model's), for
    ``ToolSpec.contextualize``."""
    subject: str | None = None
    """The principal inside the tenant the run acts for (``ToolContext.subject``)."""


@dataclass(frozen=True)
class Outcome:
    """Result of one execution: ``data`` on success, else ``error_kind`` and ``message``."""

    ok: bool
    data: dict[str, Any] | None = None
    error_kind: str | None = None
    message: str | None = None
    replayed: bool = False
    cache_hit: bool = False
    latency_ms: float = 0.0


class ToolRunner(Protocol):
    """Runs one validated, allowed call; never raises for a failure of the tool."""

    async def execute(self, spec: ToolSpec, args: BaseModel, who: CallIdentity, approval_id: str | None) -> Outcome:
        """Run the call (through the ledger when it has side effects) and report its outcome."""
