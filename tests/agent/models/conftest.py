"""Fixtures for the model adapter tests: the fake domain's tools, and a driver for conversations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.models import OfflineChatModel
from tests.agent.models.fake_domain import SPECS
from tools.envelope import tool_error_message, tool_result_message


@pytest.fixture
def schemas() -> list[dict[str, Any]]:
    """Every fake tool as the model sees it (``ToolSpec.model_schema()``)."""
    return [spec.model_schema() for spec in SPECS]


Result = dict[str, Any] | tuple[str, str] | Callable[[dict[str, Any]], Any]
"""A canned tool result: data (ok), ``(kind, message)`` (an error), or a function of the args."""


class Chat:
    """Drives a chat model turn by turn, answering its tool calls with canned results."""

    def __init__(self, model: BaseChatModel, tools: list[dict[str, Any]], results: dict[str, Result]) -> None:
        self.model = model.bind_tools(tools) if tools else model
        self.results = results
        self.messages: list[BaseMessage] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def step(self) -> AIMessage:
        """One model turn; its tool calls (if any) are answered before returning."""
        reply = self.model.invoke(self.messages)
        assert isinstance(reply, AIMessage)
        self.messages.append(reply)
        for call in reply.tool_calls:
            self.calls.append((call["name"], call["args"]))
            self.messages.append(self._answer(call["name"], str(call["id"]), call["args"]))
        return reply

    def say(self, text: str, max_steps: int = 6) -> AIMessage:
        """Send a user message and run until the model answers in text."""
        self.messages.append(HumanMessage(text))
        for _ in range(max_steps):
            reply = self.step()
            if not reply.tool_calls:
                return reply
        raise AssertionError(f"no text answer after {max_steps} steps: {self.calls}")

    def _answer(self, name: str, call_id: str, args: dict[str, Any]) -> ToolMessage:
        result = self.results.get(name)
        if callable(result):
            result = result(args)
        if result is None:
            raise AssertionError(f"unexpected tool call {name}({args})")
        if isinstance(result, tuple):
            kind, message, *told = result  # (kind, message[, message for the customer])
            return tool_error_message(name, call_id, kind, message, customer_message=told[0] if told else None)
        return tool_result_message(name, call_id, result)


@pytest.fixture
def chat(schemas: list[dict[str, Any]]) -> Callable[..., Chat]:
    """``chat(results)`` → a :class:`Chat` with the offline model and every fake tool bound."""

    def make(results: dict[str, Result] | None = None, tools: list[dict[str, Any]] | None = None) -> Chat:
        return Chat(OfflineChatModel(), schemas if tools is None else tools, results or {})

    return make
