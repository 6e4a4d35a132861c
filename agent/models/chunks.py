"""Streaming for Tiller's own models: a whole reply cut into the chunks a provider would send.

The offline, scripted and replay models decide a turn at once; streaming it means cutting the
message the way providers stream theirs — text in word-sized pieces, each tool call as
``tool_call_chunks`` (name and id first, then the JSON arguments in short pieces, by index),
usage and metadata on the last chunk (``chunk_position="last"``) — so that LangChain's
aggregation of the chunks gives back exactly the message ``invoke`` returns, and callbacks see
tokens one by one (``on_llm_new_token``, called by LangChain for each chunk).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

_WORD = re.compile(r"\s*\S+\s*|\s+")
ARGS_PIECE_CHARS = 12
"""Tool-call arguments arrive in pieces of this many characters (split mid-token, as providers do)."""


def text_pieces(text: str) -> list[str]:
    """``text`` as word-sized pieces (each with its surrounding spaces) that join back to it."""
    return _WORD.findall(text)


def _args_json(args: dict[str, object]) -> str:
    return json.dumps(args, ensure_ascii=False)


def message_chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """The chunks of ``message``; their sum equals it (content, tool calls, usage, metadata)."""
    content = message.content if isinstance(message.content, str) else message.text
    for piece in text_pieces(content):
        yield ChatGenerationChunk(message=AIMessageChunk(content=piece, id=message.id))
    for index, call in enumerate(message.tool_calls):
        head = tool_call_chunk(name=call["name"], args="", id=call.get("id"), index=index)
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[head], id=message.id))
        arguments = _args_json(call["args"])
        for start in range(0, len(arguments), ARGS_PIECE_CHARS):
            part = tool_call_chunk(args=arguments[start : start + ARGS_PIECE_CHARS], index=index)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[part], id=message.id))
    last = AIMessageChunk(
        content="",
        id=message.id,
        usage_metadata=message.usage_metadata,
        response_metadata=dict(message.response_metadata),
        additional_kwargs=dict(message.additional_kwargs),
        chunk_position="last",
    )
    yield ChatGenerationChunk(message=last, generation_info=None)
