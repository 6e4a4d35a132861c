"""``tiller chat``'s own commands, and a message sent while a request waits for a reviewer."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from rich.console import Console

from agent.config import Settings
from agent.errors import ThreadBusy
from agent.interfaces.cli.session import ChatSession, _held
from agent.loop.state import RunResult
from agent.runtime import Tiller
from agent.runtime.tiller import WAITING_FOR_REVIEWER
from tests.agent.interfaces.cli.test_cli import Refunds, ask_json, tiller

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


def test_quit_or_exit_typed_bare_leaves_the_chat(tiller: Callable[..., Any]) -> None:
    for word in ("quit", "Exit"):
        out = tiller("chat", input=f"{word}\nwhere is my order W1000002?\n")
        assert out.exit_code == 0, out.output
        assert "resume with: tiller chat --thread t_" in out.output
        assert "get_order" not in out.output  # left before the next line reached the agent


def test_a_chat_whose_thread_the_reviewers_command_continues_shows_how_that_run_ended(
    settings: Settings, refunds: Refunds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's `approvals approve` resumes the thread first: the chat's own resume finds it
    held, waits for that run to end (not one poll), and shows its outcome."""
    console = Console(record=True, width=200)
    session = ChatSession(console, settings, poll_s=0.05)
    with Tiller(settings) as rt:
        paused = rt.ask("refund order W1000001, it arrived damaged", thread_id="t-held")
        rt.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        resume, others = rt.resume, ThreadPoolExecutor(1)

        def the_reviewers_command_got_there_first(thread_id: str, **_: object) -> RunResult:
            slow = others.submit(resume, thread_id, on_event=lambda _e: time.sleep(0.1))  # a run that takes a while
            while not _held(rt, thread_id) and not slow.done():
                time.sleep(0.01)
            raise ThreadBusy(f"thread {thread_id} is held by another run")

        monkeypatch.setattr(rt, "resume", the_reviewers_command_got_there_first)
        session._wait_for_reviewers(rt, paused)
        others.shutdown()
    text = console.export_text()
    assert "continuing the thread" in text and "completed" in text and "awaiting" not in text.lower()
    assert refunds("W1000001") == (1, 12999)
