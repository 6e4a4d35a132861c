"""What one tool call made through a runtime came to: ``ToolOutcome``, data rather than an exception.

A call that a program hands to a Tiller runtime (``Tiller.invoke_tool``, or an exported LangChain
tool) ends in one of six ways::

    executed           it ran (or the idempotency ledger returned the recorded result): ``result``
    invalid            unknown tool or arguments that break its schema: ``message`` names each field
    refused            not run by the runtime's decision: a policy ``deny``, a limit, the input
                       guard, the tenant's budget, a thread still waiting for another call's review
    rejected           not run: a reviewer declined it, or its approval expired (``message`` is the
                       customer-safe text; ``customer_message`` the reviewer's words, if any)
    pending_approval   not run yet: it waits for a reviewer (``approval_id``; ``next_step`` says
                       how it continues)
    failed             it was tried and the tool answered with an error (a business rule, a
                       missing record, an unavailable backend, a timeout) or the run failed

``error_kind`` is the precise kind, as the trajectory records it (``business_rule``,
``invalid_arguments``, ``denied``, ``circuit_open``…). ``unwrap`` turns the outcome into what a
:class:`~tools.langchain_out.ToolInvoker` returns: the result, or a :class:`CallNotCompleted`
carrying the message the model should read.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from tools.errors import ToolError


class OutcomeStatus(StrEnum):
    """What happened to a call the calling program asked for."""

    EXECUTED = "executed"
    INVALID = "invalid"
    REFUSED = "refused"
    REJECTED = "rejected"
    PENDING_APPROVAL = "pending_approval"
    FAILED = "failed"


class ToolOutcome(BaseModel):
    """One call's outcome: its status, its result or the message about it, and where it lives."""

    status: OutcomeStatus
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    """The arguments as the call ran (or would run): validated, or as given when they were not."""
    result: dict[str, Any] | None = None
    """The tool's result (``executed`` only), as the tool-output guard left it."""
    replayed: bool = False
    """The ledger returned the result recorded by an earlier execution of this same call."""
    message: str = ""
    """What a model should read when the call did not execute (empty when it did)."""
    error_kind: str | None = None
    approval_id: str | None = None
    """The approval the call waits for (``pending_approval``) or was decided by."""
    customer_message: str | None = None
    """A reviewer's words for the customer, as they wrote them (``rejected`` or approved)."""
    next_step: str | None = None
    """How a call waiting for a reviewer continues."""
    thread_id: str | None = None
    call_id: str | None = None
    """The runtime's identity of the call (``tc_<turn>_<step>_<index>``), when it was planned."""
    run_id: str | None = None
    """The trace of the run that produced this outcome."""

    @property
    def ok(self) -> bool:
        """Whether the call executed."""
        return self.status is OutcomeStatus.EXECUTED

    def unwrap(self) -> dict[str, Any]:
        """The result of an executed call; otherwise raise :class:`CallNotCompleted`."""
        if self.status is OutcomeStatus.EXECUTED and self.result is not None:
            return self.result
        raise CallNotCompleted(self)


class CallNotCompleted(ToolError):
    """A call made through a runtime that did not execute; ``outcome`` says why and what next."""

    def __init__(self, outcome: ToolOutcome) -> None:
        super().__init__(outcome.message or f"{outcome.tool} did not run ({outcome.status.value})")
        self.outcome = outcome
        self.kind = outcome.error_kind or outcome.status.value
