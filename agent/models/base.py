"""What Tiller's own chat models share: tool binding, turn counting, call ids, usage estimates.

The offline, scripted and replay models are LangChain chat models. Tools are bound as dicts in
the ``ToolSpec.model_schema()`` format (an OpenAI function schema plus an ``x-tiller`` key);
plain OpenAI function dicts, ``ToolSpec`` objects and LangChain tools are accepted too and turned
into that format, so ``_generate`` always receives ``tools`` as a list of such dicts.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, ToolCall
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.models.chunks import message_chunks
from agent.models.errors import ToolChoiceViolated

ToolLike = Mapping[str, Any] | type | Callable[..., Any] | BaseTool


def without_extensions(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Tool dicts without Tiller's ``x-tiller`` key, for models whose APIs reject unknown keys."""
    return [{k: v for k, v in t.items() if k != "x-tiller"} for t in tools]


def tool_schema(tool: Any) -> dict[str, Any]:
    """One bound tool as ``{"type": "function", "function": {...}, "x-tiller": {...}}``."""
    model_schema = getattr(tool, "model_schema", None)
    if callable(model_schema) and not isinstance(tool, type):
        return dict(model_schema())
    if isinstance(tool, Mapping):
        if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
            return dict(tool)
        if "name" in tool:
            function = {k: tool[k] for k in ("name", "description", "parameters") if k in tool}
            schema: dict[str, Any] = {"type": "function", "function": function}
            if "x-tiller" in tool:
                schema["x-tiller"] = tool["x-tiller"]
            return schema
    return convert_to_openai_tool(tool)


def tool_name(schema: Mapping[str, Any]) -> str:
    """The function name of a bound tool dict."""
    return str(schema.get("function", {}).get("name", ""))


def message_text(message: BaseMessage) -> str:
    """The plain text of a message, joining the text parts of multi-part content."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [part if isinstance(part, str) else str(part.get("text", "")) for part in content]
    return " ".join(p for p in parts if p)


def count_ai_messages(messages: Sequence[BaseMessage]) -> int:
    """How many model turns the input already holds: the index of the turn to produce now.

    Counting AI messages (not calls) is what makes a resumed graph that re-calls the model for
    the same step get the same turn again.
    """
    return sum(1 for m in messages if isinstance(m, AIMessage))


def stable_call_id(messages: Sequence[BaseMessage], index: int, name: str) -> str:
    """The id the offline and llama.cpp models send with a call: derived from the conversation
    position and the tool name, so the same conversation gets the same reply, ids included.

    Nothing depends on it: the runtime names every call itself (``agent.loop.identity``) and
    keeps a provider's id only to pair its messages.
    """
    last_human = next((message_text(m) for m in reversed(messages) if m.type == "human"), "")
    key = f"{len(messages)}\x1f{count_ai_messages(messages)}\x1f{index}\x1f{name}\x1f{last_human}"
    return "call_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def as_tool_calls(calls: Sequence[Mapping[str, Any]]) -> list[ToolCall]:
    """Tool calls in LangChain's shape, with the ids they were given (``None`` where none was):
    a script or a cassette sends what it holds, as a provider would."""
    return [
        ToolCall(name=str(c["name"]), args=dict(c.get("args") or {}), id=c.get("id") or None, type="tool_call")
        for c in calls
    ]


def as_ai_message(turn: AIMessage | str | Mapping[str, Any]) -> AIMessage:
    """A scripted or recorded turn as an ``AIMessage``: a string is a text answer; a mapping is
    ``{"content": ..., "tool_calls": [{"name", "args", "id"?}], "usage": {...}?}``.

    Tool call ids stay as given (none where none was); ``usage`` becomes ``usage_metadata``.
    """
    if isinstance(turn, str):
        return AIMessage(content=turn)
    if isinstance(turn, AIMessage):
        return turn.model_copy()
    message = AIMessage(content=turn.get("content") or "", tool_calls=as_tool_calls(turn.get("tool_calls") or []))
    usage = turn.get("usage")
    if usage:
        input_tokens, output_tokens = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        message.usage_metadata = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=int(usage.get("total_tokens", input_tokens + output_tokens)),
        )
    return message


USAGE_ESTIMATED = "tiller_usage_estimated"
"""``response_metadata`` key set by a scripted or replayed turn whose usage is an estimate: the
runtime reports it (``Usage.estimated_tokens``) but never counts it against the token limit."""


def estimate_usage(
    messages: Sequence[BaseMessage], tools: Sequence[Mapping[str, Any]], output: AIMessage
) -> UsageMetadata:
    """Token usage estimated as characters / 4, counting the bound tool schemas as input."""
    input_chars = sum(len(message_text(m)) for m in messages) + len(json.dumps(list(tools), default=str))
    output_chars = len(message_text(output)) + len(json.dumps(output.tool_calls, default=str))
    input_tokens = math.ceil(input_chars / 4)
    output_tokens = math.ceil(output_chars / 4)
    return UsageMetadata(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )


ANY_TOOL = "any"
"""What :func:`resolve_tool_choice` says when the reply must call some tool, no matter which."""


def _choice_name(choice: Any) -> str | None:
    if isinstance(choice, Mapping):  # {"type": "function", "function": {"name": ...}} or {"name": ...}
        function = choice.get("function")
        return str(function.get("name")) if isinstance(function, Mapping) else choice.get("name")
    return None


def resolve_tool_choice(tools: Sequence[Mapping[str, Any]], choice: Any) -> tuple[list[dict[str, Any]], str | None]:
    """``(tools the reply may use, what it must call)`` for a ``tool_choice``.

    ``None``/``"auto"``: any tool or none (``must`` is ``None``); ``"none"``: no tool at all (the
    list is empty); ``"any"``/``"required"``/``True``: some tool (``must`` is :data:`ANY_TOOL`);
    a tool's name (or OpenAI's ``{"type": "function", "function": {"name": ...}}``): that tool.
    """
    offered = [dict(t) for t in tools]
    if choice is None or choice == "auto" or choice is False:
        return offered, None
    if choice == "none":
        return [], None
    if choice in ("any", "required") or choice is True:
        return offered, (ANY_TOOL if offered else None)
    name = _choice_name(choice) or (choice if isinstance(choice, str) else None)
    chosen = [t for t in offered if tool_name(t) == name]
    if not chosen:
        raise ValueError(f"tool_choice {choice!r} names no bound tool (bound: {[tool_name(t) for t in offered]})")
    return chosen, str(name)


def tool_choice_violation(message: AIMessage, offered: Sequence[Mapping[str, Any]], must: str | None) -> str | None:
    """What is wrong with ``message`` under the tool choice, or ``None`` when it complies."""
    names = [c["name"] for c in message.tool_calls]
    allowed = {tool_name(t) for t in offered}
    if any(n not in allowed for n in names):
        return f"it calls {names} but only {sorted(allowed) or 'no tools'} may be called"
    if must == ANY_TOOL and not names:
        return "it calls no tool but tool_choice requires one"
    if must not in (None, ANY_TOOL) and must not in names:
        return f"it does not call {must}, which tool_choice requires"
    return None


def enforce_tool_choice(message: AIMessage, kwargs: Mapping[str, Any], where: str) -> None:
    """Raise :class:`ToolChoiceViolated` (naming ``where``) when a scripted or recorded turn
    contradicts an explicit ``tool_choice``. In ``"auto"`` nothing is checked: a model may call
    a tool that is not bound (a hallucinated name), which tests of the runtime script on purpose."""
    choice = kwargs.get("tool_choice")
    if choice in (None, "auto"):
        return
    offered, must = resolve_tool_choice(list(kwargs.get("tools") or []), choice)
    violation = tool_choice_violation(message, offered, must)
    if violation is not None:
        raise ToolChoiceViolated(f"{where} does not fit the request: {violation}")


class ToolBindingChatModel(BaseChatModel):
    """A chat model that accepts Tiller tool schemas in ``bind_tools``.

    Subclasses read the bound tools from the ``tools`` keyword of ``_generate`` (a list of dicts;
    absent or empty means tools are off and the model must answer in text).
    """

    streaming: bool = False
    """Make ``invoke`` go through ``_stream`` (so callbacks get each token); ``stream`` always streams."""

    accepts_tiller_extensions: ClassVar[bool] = True
    """Tells the model factory to keep the ``x-tiller`` key when binding tools (it strips it for
    provider APIs)."""

    generates_in_place: ClassVar[bool] = False
    """``True`` when ``_generate`` is short pure-Python work that neither waits nor blocks (Tiller's
    offline, scripted and replay models set it): an awaited call then runs it on the event loop
    instead of LangChain's default hop to a worker thread and back per call, which buys nothing
    when the thread holds the GIL the loop needs. ``False`` (the default, for your own models and
    llama.cpp): ``_generate`` may do I/O or long native work, so it runs on a worker thread."""

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if not self.generates_in_place:
            return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        sync_manager = run_manager.get_sync() if run_manager is not None else None
        return self._generate(messages, stop=stop, run_manager=sync_manager, **kwargs)

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (``ToolSpec.model_schema()`` dicts or anything LangChain can convert).

        ``tool_choice`` is honoured by every Tiller model: ``"auto"`` (default), ``"none"``,
        ``"any"``/``"required"``, or a tool's name (see :func:`resolve_tool_choice`).
        """
        schemas = [tool_schema(t) for t in tools]
        if tool_choice is not None:
            resolve_tool_choice(schemas, tool_choice)  # a name that is not bound fails here, not later
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=schemas, **kwargs)

    # Streaming: each model decides its whole turn in ``_generate``; these cut it into the chunks
    # a provider would send (agent.models.chunks). LangChain calls ``on_llm_new_token`` per chunk.

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._generate(messages, stop=stop, **kwargs).generations[0].message
        assert isinstance(message, AIMessage)
        yield from message_chunks(message)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        result = await self._agenerate(messages, stop=stop, **kwargs)
        message = result.generations[0].message
        assert isinstance(message, AIMessage)
        for chunk in message_chunks(message):
            yield chunk
