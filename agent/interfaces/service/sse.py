"""Server-sent events: the stream vocabulary and its wire encoding.

Event types a client sees (``event:`` field; ``data:`` is JSON with ``thread_id`` and the
``job_id`` that groups the events of one run; a run's trace id is the ``run_id`` of its ``status``;
``id:`` is ``<job_id>.<n>``, the same on every service process, for ``Last-Event-ID``):

    run_started         a run (a new message, or the continuation after a decision) begins
    guard               an input/output guard verdict
    model               a model turn: its text and the tool calls it asked for
    tool_call           a call about to run (allowed by policy, or approved)
    approval_requested  a high-risk call that waits for a reviewer (with ``approval_id``)
    tool_refused        a call refused before running (invalid args, policy deny, limit)
    approval_decided    a reviewer's decision applied on resume
    tool_result         a call's outcome (``ok``, ``summary``)
    model_error         the model failed (the run ends ``failed`` gracefully)
    final               the final answer and status of the run
    status              the run's typed result (``RunResult``) — always the last event of a run
    error               the run could not start or crashed: ``{code, message}``
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.loop.events import RunEvent, ToolCallEvent

KEEPALIVE = b": keep-alive\n\n"


@dataclass(frozen=True)
class StreamEvent:
    """One event of a thread: ``seq`` is its position in this process's channel; ``id`` (the SSE
    id, ``<job_id>.<n>``: the n-th event of that run) is the same in every process."""

    seq: int
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def encode(self) -> bytes:
        """The event in the server-sent events wire format."""
        payload = json.dumps(self.data, ensure_ascii=False, default=str)
        # No id field: the client keeps the last id it saw (the SSE spec), so a reconnect resumes there.
        head = f"id: {self.id}\n" if self.id else ""
        return f"{head}event: {self.type}\ndata: {payload}\n\n".encode()


def translate(event: RunEvent) -> tuple[str, dict[str, Any]]:
    """A runtime step event (``Tiller.aask``'s ``on_event``) as a stream event type and payload."""
    data = event.payload()
    if isinstance(event, ToolCallEvent) and event.verdict == "needs_approval":
        return "approval_requested", data
    return event.type, data
