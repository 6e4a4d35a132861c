"""The ``openai:`` model, streamed: LangChain's ``ChatOpenAI`` plus what strict parsing needs.

Aggregating a stream parses each tool call's arguments leniently (a truncated
``{"order_id": "W1"`` is completed into an object), and the raw argument text is gone by then.
So the stream is tapped: each call's name, id and argument text, concatenated across chunks,
ride on one extra chunk under :data:`RAW_CALLS_KEY`, and
:func:`agent.models.factory.strict_tool_calls` re-reads them strictly — a streamed reply then
runs exactly as the same reply unstreamed. Imported lazily by the factory (it imports the SDK).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

RAW_CALLS_KEY = "tiller_raw_tool_calls"


class _RawCalls:
    """Tool-call pieces of one stream, by index, joined."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, chunk: ChatGenerationChunk) -> None:
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


class StreamingChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose streams also carry each tool call's raw argument text."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raw = _RawCalls()
        for chunk in super()._stream(*args, **kwargs):
            raw.add(chunk)
            yield chunk
        extra = raw.chunk()
        if extra is not None:
            yield extra

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        raw = _RawCalls()
        async for chunk in super()._astream(*args, **kwargs):
            raw.add(chunk)
            yield chunk
        extra = raw.chunk()
        if extra is not None:
            yield extra
