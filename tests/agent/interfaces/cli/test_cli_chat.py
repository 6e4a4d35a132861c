"""``tiller chat``'s own commands, and a message sent while a request waits for a reviewer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.runtime.tiller import WAITING_FOR_REVIEWER
from tests.agent.interfaces.cli.test_cli import ask_json, tiller

__all__ = ["tiller"]


def test_slash_commands_are_handled_by_the_chat_not_the_model(tiller: Callable[..., Any]) -> None:
    out = tiller("chat", input="/help\n/thread\n/frobnicate\n/quit\n")
    assert out.exit_code == 0, out.output
    text = out.output
    assert "Commands (handled here, not sent to the agent)" in text and "/thread" in text
    assert "thread t_" in text and "unknown command /frobnicate" in text
    assert "model" not in text.split("Commands")[1]  # nothing reached the agent
    assert "resume with: tiller chat --thread t_" in text


def test_a_message_while_an_approval_is_pending_is_answered_not_dropped(tiller: Callable[..., Any]) -> None:
    paused = ask_json(tiller, "refund order W1000001, it arrived damaged")
    waiting = tiller("ask", "where is my order W1000002?", "--thread", paused["thread_id"], "--json")
    assert waiting.exit_code == 0, waiting.output
    assert WAITING_FOR_REVIEWER.split(";")[0] in waiting.output and '"awaiting_approval"' in waiting.output
