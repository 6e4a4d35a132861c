"""Call identity: the runtime, not the model provider, names every tool call.

A planned call's identity is ``tc_<turn>_<step>_<index>``: the thread's turn (one per user
message), the model step within it and the call's position in that model reply. It is

- **unique within the thread**: a turn number is never reused, a step never repeats within a
  turn, and positions are distinct within one reply — so two identical requests the user really
  made are two calls, and a call id a model re-sends (``call_0`` in every response, no id at all,
  an executed call's id with other arguments) names nothing that already happened;
- **stable across a resume of the same step**: it is derived from the checkpointed state and
  reply, not drawn at random, so a step re-run after a crash or a second resume gets the same
  identity and the idempotency ledger replays instead of re-executing.

The idempotency key, the approval row, the trajectory, trace spans, the audit log and events all
use it. The provider's own id is metadata (``provider_call_id``): it pairs the provider's
messages — a tool result goes back under the id the provider sent with the call. A call sent
without an id gets its runtime identity as pairing id; a second call in one reply that repeats
an id of the same reply gets its runtime identity too (no provider can tell two results with one
id apart), so within a reply pairing ids are always distinct.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage

PROVIDER_IDS_KEY = "tiller_provider_call_ids"
"""``response_metadata`` key: the ids the provider sent with the reply's calls (``None`` where it
sent none), in reply order (valid calls, then invalid ones)."""


def call_id(turn: int, step: int, index: int) -> str:
    """The runtime identity of call ``index`` of model step ``step`` in turn ``turn``."""
    return f"tc_{turn}_{step}_{index}"


def with_pairing_ids(reply: AIMessage, turn: int, step: int) -> AIMessage:
    """``reply`` as the thread stores it: a message id minted here (a provider or a reply cache
    can repeat its own, and the message list replaces messages by id) and a distinct pairing id
    for every call — the provider's where it sent a usable one, else the call's runtime id.

    The ids the provider sent are kept under ``response_metadata[PROVIDER_IDS_KEY]``.
    """
    sent: list[str | None] = []
    used: set[str] = set()

    def pair(call: Any, index: int) -> Any:
        provider_id = call.get("id") or None
        sent.append(provider_id)
        pairing = provider_id if provider_id and provider_id not in used else call_id(turn, step, index)
        used.add(pairing)
        return {**call, "id": pairing}

    calls = [pair(c, i) for i, c in enumerate(reply.tool_calls)]
    offset = len(calls)
    invalid = [pair(c, offset + j) for j, c in enumerate(reply.invalid_tool_calls)]
    metadata = dict(reply.response_metadata)
    if reply.id and not reply.id.startswith(("lc_run-", "run-")):  # not LangChain's own run id
        metadata.setdefault("provider_message_id", reply.id)
    if sent:
        metadata[PROVIDER_IDS_KEY] = sent
    update: dict[str, Any] = {"id": f"ai_{uuid.uuid4().hex}", "response_metadata": metadata}
    if sent:
        update |= {"tool_calls": calls, "invalid_tool_calls": invalid}
    return reply.model_copy(update=update)


def provider_ids(reply: AIMessage) -> list[str | None]:
    """The ids the provider sent with ``reply``'s calls (valid calls, then invalid ones)."""
    sent = reply.response_metadata.get(PROVIDER_IDS_KEY)
    count = len(reply.tool_calls) + len(reply.invalid_tool_calls)
    if isinstance(sent, list) and len(sent) == count:
        return [s if isinstance(s, str) else None for s in sent]
    return [c.get("id") or None for c in [*reply.tool_calls, *reply.invalid_tool_calls]]


@dataclass(frozen=True)
class CallSlot:
    """The identities of one call of a model reply."""

    id: str
    """The runtime's identity (:func:`call_id`): what runs and what is recorded is keyed by it."""
    pairing_id: str
    """The id the call carries in the stored reply; its tool message is sent back under it."""
    provider_id: str | None
    """The id the provider sent (``None``: it sent none). Metadata only."""


def call_slots(reply: AIMessage, turn: int, step: int) -> list[CallSlot]:
    """The slots of ``reply``'s calls in reply order: valid calls, then invalid ones."""
    calls = [*reply.tool_calls, *reply.invalid_tool_calls]
    sent = provider_ids(reply)
    return [
        CallSlot(id=call_id(turn, step, i), pairing_id=c.get("id") or call_id(turn, step, i), provider_id=sent[i])
        for i, c in enumerate(calls)
    ]
