"""``ScriptedChatModel``: a chat model that plays a script, for tests of agents built on Tiller.

Like pydantic-ai's ``TestModel``/``FunctionModel``, it lets a test drive the real graph with
exactly the turns it wants and then assert what the model was shown::

    model = ScriptedChatModel([
        {"tool_calls": [{"name": "get_ticket", "args": {"ticket_id": "T1000001"}}]},
        "Ticket T1000001 is closed.",
    ])
    ...run the graph...
    assert model.calls[0].tools == ["get_ticket", "close_ticket"]

The turn played is chosen by the number of AI messages already in the input, not by how often
the model was called, so a graph resumed after an interrupt that calls the model again for the
same step gets the same turn.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from agent.models.base import (
    USAGE_ESTIMATED,
    ToolBindingChatModel,
    as_ai_message,
    count_ai_messages,
    enforce_tool_choice,
    estimate_usage,
    message_text,
    resolve_tool_choice,
)
from agent.models.base import tool_name as schema_name
from agent.models.errors import ScriptExhausted

Turn = AIMessage | str | Mapping[str, Any]
"""One scripted turn: an ``AIMessage``; a string (a text answer); or a mapping
``{"content": "...", "tool_calls": [{"name": ..., "args": {...}, "id"?: ...}]}``."""
Responder = Callable[..., Turn]
"""A function ``(messages, tools) -> Turn`` called for every turn; ``tools`` are the bound dicts
the turn may use (after ``tool_choice``). A responder with a ``tool_choice`` parameter is also
told what the call demands (``None``, ``"any"`` or a tool name)."""


@dataclass(frozen=True)
class ScriptedCall:
    """What the scripted model was given on one call."""

    turn: int
    messages: list[BaseMessage]
    tools: list[str]
    """Names of the bound tools (empty: tools were off)."""


class ScriptedChatModel(ToolBindingChatModel):
    """Plays a list of turns in order (or asks a function for each turn) and records its inputs.

    ``ScriptedChatModel(turns)``, ``ScriptedChatModel(turns=[...])`` or
    ``ScriptedChatModel(function)``; bind tools with ``bind_tools`` as with any chat model.
    Raises :class:`ScriptExhausted` when a turn is asked for that the script does not have, and
    :class:`ToolChoiceViolated` when a turn contradicts the call's ``tool_choice`` (text where a
    call is required, a tool that is not offered). Tool calls keep the ids the script gives
    them (none where it gives none). It streams: ``stream`` yields the turn in chunks.
    """

    generates_in_place: ClassVar[bool] = True  # pure-Python turns: awaited on the loop, no thread hop

    turns: list[Any] = Field(default_factory=list)
    respond: Callable[..., Any] | None = None
    calls: list[ScriptedCall] = Field(default_factory=list)
    model_name: str = "scripted"
    reports_usage: bool = False
    """A turn without usage gets an estimate, marked as one (never counted against the token
    limit); ``True``: the estimate is reported as the model's usage, as a provider's would be —
    for a stand-in of a real model that must meet the limits the real one would."""

    def __init__(self, script: Sequence[Turn] | Responder | None = None, **kwargs: Any) -> None:
        if script is None:
            super().__init__(**kwargs)
        elif callable(script):
            super().__init__(respond=script, **kwargs)
        else:
            super().__init__(turns=list(script), **kwargs)

    @property
    def _llm_type(self) -> str:
        return "tiller-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _turn(self, index: int, messages: list[BaseMessage], tools: list[dict[str, Any]], must: str | None) -> Turn:
        if self.respond is not None:
            if "tool_choice" in inspect.signature(self.respond).parameters:
                return self.respond(messages, tools, tool_choice=must)
            return self.respond(messages, tools)
        if index >= len(self.turns):
            last = f"{messages[-1].type}: {message_text(messages[-1])[:80]!r}" if messages else "none"
            raise ScriptExhausted(
                f"ScriptedChatModel has {len(self.turns)} turn(s) but turn {index + 1} was requested "
                f"(the input already holds {index} AI message(s); last input message: {last})"
            )
        return self.turns[index]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools, must = resolve_tool_choice(list(kwargs.get("tools") or []), kwargs.get("tool_choice"))
        index = count_ai_messages(messages)
        self.calls.append(ScriptedCall(index, list(messages), [schema_name(t) for t in tools]))
        message = as_ai_message(self._turn(index, messages, tools, must))
        enforce_tool_choice(message, kwargs, f"ScriptedChatModel turn {index + 1}")
        estimated = message.usage_metadata is None
        if estimated:
            message.usage_metadata = estimate_usage(messages, tools, message)
        message.response_metadata = {"model_name": self.model_name, **message.response_metadata}
        if estimated and not self.reports_usage:
            message.response_metadata[USAGE_ESTIMATED] = True
        return ChatResult(generations=[ChatGeneration(message=message)])
