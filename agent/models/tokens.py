"""Tokens as they arrive: a callback handler that relays each streamed piece of text.

Pass it in a model call's config — ``model.invoke(messages, config={"callbacks": [TokenRelay(emit)]})``
— and ``emit({"type": "token", "text": ...})`` is called for every text token the model streams
(``openai:`` models stream by default; Tiller's own models stream when invoked with
``streaming=True`` or through ``stream``). Tool-call argument pieces are not relayed: a call
is shown once it is whole and validated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

TokenEvent = dict[str, Any]


class TokenRelay(BaseCallbackHandler):
    """Calls ``emit`` with ``{"type": "token", "text": token}`` for each non-empty text token."""

    def __init__(self, emit: Callable[[TokenEvent], None]) -> None:
        self.emit = emit

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        if token:
            self.emit({"type": "token", "text": token})
