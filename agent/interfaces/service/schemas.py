"""Request and response bodies of the HTTP API (they make the OpenAPI document at ``/docs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.loop.state import PendingApproval, RunResult
from agent.runtime.review import ReviewView


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    """Every error answer: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


class CreateThread(BaseModel):
    title: str = Field("", max_length=200, description="a label for people; the first message is used if empty")


class PostMessage(BaseModel):
    content: str = Field(min_length=1, description="the user's message (at most TILLER_MAX_MESSAGE_CHARS)")
    stream: bool = Field(True, description="stream the run's steps as server-sent events; false: wait for the result")


class Message(BaseModel):
    """One message of a thread's history."""

    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    tool: str | None = None


class ThreadSummary(BaseModel):
    id: str
    user: str
    title: str
    status: str = Field(description="idle | running | completed | awaiting_approval | limit_reached | blocked | failed")
    created_at: datetime
    updated_at: datetime


class ThreadView(ThreadSummary):
    messages: list[Message] = Field(default_factory=list)
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
    last_run: RunResult | None = None


class ApprovalDetail(PendingApproval):
    """An approval with what its reviewer needs: the business facts, rule checks and policy
    (``context``, read now), the conversation that led to it and its audit log."""

    seconds_left: int
    context: ReviewView = Field(default_factory=ReviewView)
    conversation: list[Message] = Field(default_factory=list)
    audit: list[dict[str, Any]] = Field(default_factory=list)


_NOTE = "the reviewer's internal note (reviewers and the audit log; never shown to the customer)"
_TOLD = "what the agent tells the customer about the decision (optional)"


class Approve(BaseModel):
    reason: str | None = Field(None, max_length=2000, description=_NOTE)
    customer_message: str | None = Field(None, max_length=2000, description=_TOLD)


class Reject(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description=_NOTE)
    customer_message: str | None = Field(None, max_length=2000, description=_TOLD)


class Edit(BaseModel):
    args: dict[str, Any] = Field(
        description="arguments to change; validated against the tool's schema and pre-checked against its "
        "business rules (a refused edit is a 422 and the approval stays pending)"
    )
    reason: str | None = Field(None, max_length=2000, description=_NOTE)
    customer_message: str | None = Field(None, max_length=2000, description=_TOLD)


class DecisionResult(BaseModel):
    approval: PendingApproval
    resuming: bool = Field(description="the paused thread continues in the background (follow its events)")


class FeedbackIn(BaseModel):
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=4000)
    run_id: str | None = Field(
        None, description="the run rated (its trace id, `run_id` of a result); default: the latest"
    )


class FeedbackOut(BaseModel):
    id: int
    thread_id: str
    run_id: str
    rating: str
    comment: str
    user: str
    created_at: datetime
