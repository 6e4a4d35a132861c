"""Tokens as they arrive: a callback handler that relays each streamed piece of text.

Pass it in a model call's config — ``model.invoke(messages, config={"callbacks": [TokenRelay(on_token)]})``
— and ``on_token(text)`` is called for every text token the model streams. Tool-call argument
pieces are not relayed: a call is shown once it is whole and validated.

The relay is also what makes a model stream. A model built by ``agent.models.factory`` leaves
``streaming`` unset, so LangChain's ``BaseChatModel._should_stream`` decides per call: it streams
when a *streaming callback handler* is attached — any handler with ``tap_output_aiter`` and
``tap_output_iter`` (LangChain's runtime-checkable ``_StreamingCallbackHandler`` protocol, the
one LangGraph's ``stream_mode="messages"`` handler satisfies). A call without the relay — a run
nobody watches token by token — asks the provider for one whole response instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

T = TypeVar("T")


class TokenRelay(BaseCallbackHandler):
    """Calls ``on_token(token)`` for each non-empty text token."""

    run_inline = True
    """Called in the model call's own task, not in an executor (it only hands a string on)."""

    def __init__(self, on_token: Callable[[str], None]) -> None:
        self.on_token = on_token

    # LangChain's streaming-handler protocol: its presence makes the model stream; outputs pass through.
    def tap_output_aiter(self, run_id: UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        """The stream unchanged (the method marks a streaming handler)."""
        return output

    def tap_output_iter(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        """The stream unchanged (the method marks a streaming handler)."""
        return output

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
        """Relay one streamed token's text (the text blocks of a list of content blocks)."""
        # Models that stream content blocks (``output_version="v1"``, the Responses API) hand
        # over a list; only its text blocks are relayed.
        text = token if isinstance(token, str) else "".join(_block_text(block) for block in token)
        if text:
            self.on_token(text)


def _block_text(block: str | dict[str, Any]) -> str:
    if isinstance(block, str):
        return block
    text = block.get("text") if block.get("type") == "text" else None
    return text if isinstance(text, str) else ""
