"""The ``openai:`` model, streamed: LangChain's ``ChatOpenAI`` plus what strict parsing needs.

Aggregating a stream parses each tool call's arguments leniently (a truncated
``{"order_id": "W1"`` is completed into an object), and the raw argument text is gone by then.
So the stream is tapped: each call's name, id and argument text, concatenated across chunks,
ride on one extra chunk under :data:`RAW_CALLS_KEY`, and
:func:`agent.models.factory.strict_tool_calls` re-reads them strictly — a streamed reply then
runs exactly as the same reply unstreamed. Imported lazily by the factory (it imports the SDK).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr

from agent.models.chunks import message_chunks

RAW_CALLS_KEY = "tiller_raw_tool_calls"


class _RawCalls:
    """Tool-call pieces of one stream, by index, joined."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}
        self.chunks = 0

    def add(self, chunk: ChatGenerationChunk) -> None:
        self.chunks += 1
        message = chunk.message
        for piece in getattr(message, "tool_call_chunks", None) or []:
            call = self.calls.setdefault(int(piece.get("index") or 0), {"name": None, "id": None, "args": ""})
            call["name"] = call["name"] or piece.get("name")
            call["id"] = call["id"] or piece.get("id")
            call["args"] += piece.get("args") or ""

    def chunk(self) -> ChatGenerationChunk | None:
        if not self.calls:
            return None
        raw = [self.calls[i] for i in sorted(self.calls)]
        return ChatGenerationChunk(message=AIMessageChunk(content="", additional_kwargs={RAW_CALLS_KEY: raw}))


def _whole_as_chunks(message: BaseMessage) -> Iterator[ChatGenerationChunk]:
    """An unstreamed reply as chunks, its tool calls (invalid ones too) tapped like a stream's."""
    assert isinstance(message, AIMessage)
    yield from message_chunks(message.model_copy(update={"invalid_tool_calls": []}))
    raw = [{"name": c["name"], "id": c.get("id"), "args": json.dumps(c["args"])} for c in message.tool_calls]
    raw += [{"name": c.get("name"), "id": c.get("id"), "args": c.get("args") or ""} for c in message.invalid_tool_calls]
    if raw:
        yield ChatGenerationChunk(message=AIMessageChunk(content="", additional_kwargs={RAW_CALLS_KEY: raw}))


_WIRE_KEYS = ("messages", "tools")
"""Request fields that langchain-openai has already built in their wire form (JSON dicts)."""


_SCALARS = (str, int, float, bool, type(None))


def _json_native(value: Any) -> bool:
    """Whether ``value`` is made of JSON's own types only (walked with a stack, not recursion with
    a generator per container: it runs over every message and tool schema of every model call)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _SCALARS):
            continue
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict) and all(isinstance(k, str) for k in item):
            pending.extend(item.values())
        else:
            return False
    return True


def wire_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The request payload with its messages and tools sent as they are, through ``extra_body``.

    The SDK's ``create`` re-walks every named parameter against its TypedDicts
    (``async_maybe_transform``): ~2.7 ms for a short conversation with eight tools, on every model
    call — 8 % of a loaded server's CPU (docs/BENCHMARKS.md §9). For plain JSON values that walk
    changes nothing (no chat-completion field has an alias or a format), so they go in
    ``extra_body``, which the SDK merges into the request body unchanged; ``messages`` stays as an
    empty list for the SDK's required-argument check. Anything that is not plain JSON is left to
    the SDK, as are structured-output requests (its parse helpers read ``messages``)."""
    if "messages" not in payload or "response_format" in payload:
        return payload
    moved = {k: payload[k] for k in _WIRE_KEYS if k in payload and _json_native(payload[k])}
    if any(tool.get("type") != "function" for tool in moved.get("tools", [])):
        del moved["tools"]  # a built-in tool (web search…): langchain-openai reads them to pick its API
    if "messages" not in moved:
        return payload
    rest = {k: v for k, v in payload.items() if k not in moved}
    return {**rest, "messages": [], "extra_body": {**(payload.get("extra_body") or {}), **moved}}


class StreamingChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose streams also carry each tool call's raw argument text.

    A server that answers a stream request with a plain JSON body (some OpenAI-compatible servers
    do not stream) gives no events: that reply is fetched again unstreamed, and this model stops
    asking that server for streams. Requests skip the SDK's re-validation of plain JSON
    (:func:`wire_payload`).
    """

    _unstreamed: bool = PrivateAttr(default=False)

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        return wire_payload(super()._get_request_payload(input_, stop=stop, **kwargs))

    def _should_stream(self, *, async_api: bool, run_manager: Any = None, **kwargs: Any) -> bool:
        # Structured output (``response_format``: an eval judge's verdict) is not streamed: it is
        # read whole, and langchain-openai's streamed parse path warns on its ``parsed`` field.
        if self._unstreamed or kwargs.get("response_format") is not None:
            return False
        return super()._should_stream(async_api=async_api, run_manager=run_manager, **kwargs)

    # The unstreamed path must say so: with streaming=True the request payload defaults to a stream.
    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        return super()._generate(*args, **{**kwargs, "stream": False})

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        return await super()._agenerate(*args, **{**kwargs, "stream": False})

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raw = _RawCalls()
        for chunk in super()._stream(*args, **kwargs):
            raw.add(chunk)
            yield chunk
        if raw.chunks == 0:  # the server does not stream: ask again for the whole reply
            self._unstreamed = True
            yield from _whole_as_chunks(self._generate(*args, **kwargs).generations[0].message)
            return
        extra = raw.chunk()
        if extra is not None:
            yield extra

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        raw = _RawCalls()
        async for chunk in super()._astream(*args, **kwargs):
            raw.add(chunk)
            yield chunk
        if raw.chunks == 0:
            self._unstreamed = True
            result = await self._agenerate(*args, **kwargs)
            for whole in _whole_as_chunks(result.generations[0].message):
                yield whole
            return
        extra = raw.chunk()
        if extra is not None:
            yield extra
