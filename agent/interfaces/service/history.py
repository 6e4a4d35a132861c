"""A thread as the API shows it: access checks, history messages and status."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from agent.errors import ThreadNotFound
from agent.interfaces.service.schemas import Message, ThreadSummary, ThreadView
from agent.persistence.keys import Principal
from agent.persistence.names import same_person
from agent.persistence.tables import ThreadRow
from agent.persistence.threads import ThreadStore
from agent.runtime import Tiller
from tools.envelope import read_envelope


def visible_thread(threads: ThreadStore, who: Principal, thread_id: str) -> ThreadRow:
    """The thread if ``who`` may see it: same tenant, and a user key sees only its own threads.

    Anything else is "not found" — the answer never tells whether the id exists elsewhere.
    """
    row = threads.get(who.tenant, thread_id)
    other_subject = who.subject is not None and row.subject != who.subject
    if (who.role == "user" and not same_person(row.user_id, who.name)) or other_subject:
        raise ThreadNotFound(f"no thread {thread_id} in tenant {who.tenant}")
    return row


def to_message(message: AnyMessage) -> Message | None:
    """A checkpoint message as the API shows it (``None`` for system messages)."""
    if isinstance(message, HumanMessage):
        return Message(role="user", content=message.text)
    if isinstance(message, AIMessage):
        calls = [{"id": c["id"], "tool": c["name"], "args": c["args"]} for c in message.tool_calls]
        return Message(role="assistant", content=message.text, tool_calls=calls)
    if isinstance(message, ToolMessage):
        return Message(role="tool", content=_tool_text(message), tool=message.name)
    return None


def _tool_text(message: ToolMessage) -> str:
    """A tool result's summary, or a refusal's message; the raw text when it has neither."""
    envelope = read_envelope(message)
    if not envelope.get("ok"):
        return str((envelope.get("error") or {}).get("message") or message.text)
    data = envelope.get("data")
    if isinstance(data, dict) and isinstance(data.get("summary"), str):
        return str(data["summary"])
    return message.text


def to_messages(messages: list[AnyMessage]) -> list[Message]:
    """A thread's messages as the API shows them, system messages left out."""
    return [m for m in (to_message(x) for x in messages) if m is not None]


def summary(row: ThreadRow) -> ThreadSummary:
    """A thread row as the API lists it."""
    return ThreadSummary(
        id=row.id,
        user=row.user_id,
        title=row.title,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def thread_view(tiller: Tiller, who: Principal, thread_id: str) -> ThreadView:
    """A thread with its messages, its last run and what waits for a reviewer (404 if ``who`` cannot see it)."""
    row = visible_thread(tiller.threads, who, thread_id)
    view = ThreadView(**summary(row).model_dump())
    if row.status == "idle":
        return view
    view.messages = to_messages(tiller.messages(thread_id, tenant=who.tenant))
    view.last_run = tiller.result(thread_id, tenant=who.tenant)
    view.pending_approvals = view.last_run.pending_approvals
    return view
