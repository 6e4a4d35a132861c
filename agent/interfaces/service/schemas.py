"""Request and response bodies of the HTTP API (they make the OpenAPI document at ``/docs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.loop.state import PendingApproval, RunResult
from agent.runtime.review import ReviewView


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``code``, a message for a person, and the fields at fault."""

    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    """Every error answer: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


class CreateThread(BaseModel):
    """A new thread, with an optional title."""

    title: str = Field("", max_length=200, description="a label for people; the first message is used if empty")


class PostMessage(BaseModel):
    """A user message to run on the thread, streamed or awaited."""

    content: str = Field(min_length=1, description="the user's message (at most TILLER_MAX_MESSAGE_CHARS)")
    stream: bool = Field(True, description="stream the run's steps as server-sent events; false: wait for the result")


class PostCall(BaseModel):
    """One call of a tool the calling program asks for, run on the thread without a model."""

    tool: str = Field(min_length=1, description="a tool of the tenant's domain")
    args: dict[str, Any] = Field(default_factory=dict, description="its arguments, as the tool's JSON schema says")


class Message(BaseModel):
    """One message of a thread's history."""

    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    tool: str | None = None


class ThreadSummary(BaseModel):
    """A thread as it is listed: owner, title, status, times."""

    id: str
    user: str
    title: str
    status: str = Field(description="idle | running | completed | awaiting_approval | limit_reached | blocked | failed")
    created_at: datetime
    updated_at: datetime


class ThreadView(ThreadSummary):
    """A thread with its messages, its last run's result and its pending approvals."""

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
    """Approve the action as requested."""

    reason: str | None = Field(None, max_length=2000, description=_NOTE)
    customer_message: str | None = Field(None, max_length=2000, description=_TOLD)


class Reject(BaseModel):
    """Reject the action; the reason is required and goes to the model."""

    reason: str = Field(min_length=1, max_length=2000, description=_NOTE)
    customer_message: str | None = Field(None, max_length=2000, description=_TOLD)


class Edit(BaseModel):
    """Approve the action with changed arguments."""

    args: dict[str, Any] = Field(
        description="arguments to change; validated against the tool's schema and pre-checked against its "
        "business rules (a refused edit is a 422 and the approval stays pending)"
    )
    reason: str | None = Field(None, max_length=2000, description=_NOTE)
    customer_message: str | None = Field(None, max_length=2000, description=_TOLD)


class DecisionResult(BaseModel):
    """The decided approval, and whether its thread now continues."""

    approval: PendingApproval
    resuming: bool = Field(description="the paused thread continues in the background (follow its events)")


class FeedbackIn(BaseModel):
    """A rating of a run (thumbs up or down) with an optional comment."""

    rating: Literal["up", "down"]
    comment: str = Field("", max_length=4000)
    run_id: str | None = Field(
        None, description="the run rated (its trace id, `run_id` of a result); default: the latest"
    )


class FeedbackOut(BaseModel):
    """Feedback as stored: who rated which run, and when."""

    id: int
    thread_id: str
    run_id: str
    rating: str
    comment: str
    user: str
    created_at: datetime
