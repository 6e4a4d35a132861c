"""Reading a conversation the way the offline model needs it.

Only messages after the last human message make up the current turn; earlier ones are context:
tool calls already made (and their results), and the chain of requests the model answered with
a clarifying question. The model marks its own replies in ``response_metadata["tiller_offline"]``
(``{"kind": "clarify" | "refuse" | ..., "tool": ...}``) so later turns can tell what it asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.models.base import message_text
from tools.envelope import read_envelope

METADATA_KEY = "tiller_offline"
_AFFIRM = re.compile(r"^\W*(yes|yeah|yep|sure|ok(ay)?|please( do)?|do it|go ahead|yes please)\b", re.I)


@dataclass(frozen=True)
class CallRecord:
    """One tool call the model made, with the envelope of its result once it arrived."""

    name: str
    args: Mapping[str, Any]
    call_id: str
    result: Mapping[str, Any] | None
    current: bool
    """Made after the last human message (part of the turn being answered)."""

    @property
    def ok(self) -> bool:
        """Whether the tool's result arrived and says it succeeded."""
        return self.result is not None and bool(self.result.get("ok"))

    @property
    def data(self) -> Mapping[str, Any]:
        """The result's data (empty before it arrived, or when it failed)."""
        data = (self.result or {}).get("data")
        return data if isinstance(data, Mapping) else {}


@dataclass(frozen=True)
class Conversation:
    """The parts of a message list that decide the offline model's next turn."""

    request: str
    """Text of the last human message ('' if there is none)."""
    clarified: tuple[str, ...]
    """Earlier requests, oldest first, that the model answered with a clarifying question."""
    offered: str
    """The request the model last declined while offering a ticket, if the user is replying to that."""
    earlier: tuple[str, ...]
    """Earlier human messages, most recent first."""
    calls: tuple[CallRecord, ...]

    @property
    def current_calls(self) -> tuple[CallRecord, ...]:
        """The calls of the turn being answered (made after the last user message)."""
        return tuple(c for c in self.calls if c.current)

    @property
    def affirms(self) -> bool:
        """Whether the user's message is a plain yes (go ahead with what was proposed)."""
        return bool(_AFFIRM.match(self.request))


def offline_kind(message: BaseMessage) -> str | None:
    """The kind of reply the offline model marked ``message`` with, if any."""
    meta = message.response_metadata.get(METADATA_KEY) if isinstance(message, AIMessage) else None
    return str(meta.get("kind")) if isinstance(meta, Mapping) else None


def _asks_back(messages: Sequence[BaseMessage], index: int) -> bool:
    """Is ``messages[index]`` a model question answering the human message just before it?"""
    message = messages[index]
    if not isinstance(message, AIMessage) or message.tool_calls:
        return False
    kind = offline_kind(message)
    if kind is not None:
        return kind == "clarify"
    # A reply from another model: a question straight after the request, with no tool use.
    return index > 0 and isinstance(messages[index - 1], HumanMessage) and "?" in message_text(message)


def _clarified(messages: Sequence[BaseMessage], humans: list[int]) -> tuple[str, ...]:
    chain: list[str] = []
    for position in range(len(humans) - 1, 0, -1):
        here, before = humans[position], humans[position - 1]
        if here - 1 <= before or not _asks_back(messages, here - 1):
            break
        chain.insert(0, message_text(messages[before]))
    return tuple(chain)


def _offered(messages: Sequence[BaseMessage], humans: list[int]) -> str:
    if len(humans) < 2 or humans[-1] == 0:
        return ""
    reply = messages[humans[-1] - 1]
    meta = reply.response_metadata.get(METADATA_KEY) if isinstance(reply, AIMessage) else None
    if isinstance(meta, Mapping) and meta.get("offer"):
        return message_text(messages[humans[-2]])
    return ""


def _answers(messages: Sequence[BaseMessage], start: int) -> dict[str, dict[str, Any]]:
    """The envelopes of the tool messages answering the AI message at ``start``: those up to the
    next AI message, by the id they answer (ids pair within one reply; a provider may repeat
    its ids across replies)."""
    answers: dict[str, dict[str, Any]] = {}
    for message in messages[start + 1 :]:
        if isinstance(message, AIMessage):
            break
        if isinstance(message, ToolMessage):
            answers.setdefault(message.tool_call_id, read_envelope(message))
    return answers


def _calls(messages: Sequence[BaseMessage], last_human: int) -> tuple[CallRecord, ...]:
    records = []
    for index, message in enumerate(messages):
        if isinstance(message, AIMessage) and message.tool_calls:
            answers = _answers(messages, index)
            for call in message.tool_calls:
                call_id = str(call.get("id") or "")
                records.append(
                    CallRecord(call["name"], call.get("args") or {}, call_id, answers.get(call_id), index > last_human)
                )
    return tuple(records)


def read_conversation(messages: Sequence[BaseMessage]) -> Conversation:
    """Split ``messages`` into the current request, its context and the tool calls so far."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    last = humans[-1] if humans else -1
    return Conversation(
        request=message_text(messages[last]).strip() if humans else "",
        clarified=_clarified(messages, humans),
        offered=_offered(messages, humans),
        earlier=tuple(message_text(messages[i]) for i in reversed(humans[:-1])),
        calls=_calls(messages, last),
    )
