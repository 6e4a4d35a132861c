"""Tokens as they arrive: a callback handler that relays each streamed piece of text.

Pass it in a model call's config — ``model.invoke(messages, config={"callbacks": [TokenRelay(on_token)]})``
— and ``on_token(text)`` is called for every text token the model streams
(``openai:`` models stream by default; Tiller's own models stream when invoked with
``streaming=True`` or through ``stream``). Tool-call argument pieces are not relayed: a call
is shown once it is whole and validated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler


class TokenRelay(BaseCallbackHandler):
    """Calls ``on_token(token)`` for each non-empty text token."""

    run_inline = True
    """Called in the model call's own task, not in an executor (it only hands a string on)."""

    def __init__(self, on_token: Callable[[str], None]) -> None:
        self.on_token = on_token

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
