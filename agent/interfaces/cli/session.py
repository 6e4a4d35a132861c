"""The interactive chat: prompt, stream each step, wait for reviewers while a call is paused."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from langchain_core.messages import AIMessage, HumanMessage
from rich.console import Console
from rich.markup import escape

from agent.config import Settings
from agent.errors import MessageTooLarge, ThreadBusy
from agent.interfaces.cli.console import StepPrinter, show_result
from agent.loop.state import RunResult, RunStatus
from agent.runtime import Tiller, new_thread_id
from agent.runtime.tiller import WAITING_FOR_REVIEWER

WELCOME = (
    "[bold]Tiller chat[/] — {title} agent on model [cyan]{model}[/], "
    "acting as [cyan]{user}[/] in tenant [cyan]{tenant}[/] (domain [cyan]{domain}[/]).\n"
)
FOOTER = "Type [bold]/help[/] for commands, [bold]/quit[/] to leave; the thread can be resumed later with --thread."
HELP = (
    "Commands (handled here, not sent to the agent):\n"
    "  [bold]/help[/]    this list\n"
    "  [bold]/thread[/]  the conversation's id, to resume it later\n"
    "  [bold]/quit[/]    leave (also /exit, Ctrl-D); the thread stays, resume with tiller chat --thread ID"
)


def welcome(tiller: Tiller) -> str:
    """The chat's first lines: who the agent is, the domain's own welcome and example requests."""
    s, domain = tiller.settings, tiller.domain
    text = WELCOME.format(title=escape(domain.title), model=s.model, user=s.user, tenant=s.tenant, domain=domain.name)
    if domain.welcome:
        text += escape(domain.welcome) + "\n"
    if domain.examples:
        text += "Try: " + " · ".join(f"[italic]{escape(e)}[/]" for e in domain.examples) + "\n"
    return text + FOOTER


class ChatSession:
    """``tiller chat``: a conversation in the terminal, one thread, with its paused actions waited on."""

    def __init__(self, console: Console, settings: Settings, poll_s: float = 1.0, subject: str | None = None) -> None:
        self.console = console
        self.settings = settings
        self.poll_s = poll_s
        self.subject = subject

    def run(self, thread_id: str | None) -> None:
        """Chat until the user leaves, on ``thread_id`` (its history replayed first) or on a new thread."""
        with Tiller(self.settings) as tiller:
            self.console.print(welcome(tiller))
            if thread_id:
                self._replay_history(tiller, thread_id)
                result = tiller.result(thread_id)
                if result.status is RunStatus.AWAITING_APPROVAL:
                    if result.pending_approvals:  # else: already decided, continue right away
                        show_result(self.console, result, in_chat=True)
                    self._wait_for_reviewers(tiller, result)
            thread_id = thread_id or new_thread_id()
            self.console.print(f"[dim]thread {thread_id}[/]")
            self._loop(tiller, thread_id)

    def _loop(self, tiller: Tiller, thread_id: str) -> None:
        printer = StepPrinter(self.console)
        while True:
            try:
                text = self.console.input("[bold green]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                self.console.print(f"\n[dim]bye — resume with: tiller chat --thread {thread_id}[/]")
                return
            if not text:
                continue
            if text.lower().rstrip(".!") in ("quit", "exit"):  # what people type first: a command, not a request
                text = "/quit"
            if text.startswith("/"):  # commands are for the chat itself, never sent to the model
                if self._command(text, thread_id):
                    return
                continue
            try:
                result = tiller.ask(text, thread_id=thread_id, subject=self.subject, on_event=printer)
            except MessageTooLarge as exc:  # the chat goes on: say so, and let the user shorten it
                self.console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
                continue
            except KeyboardInterrupt:
                self.console.print(
                    f"\n[yellow]Interrupted.[/] The thread keeps what was done; continue it with "
                    f"[bold]tiller resume {thread_id}[/] or [bold]tiller chat --thread {thread_id}[/]."
                )
                return
            if result.status is RunStatus.AWAITING_APPROVAL and result.answer == WAITING_FOR_REVIEWER:
                self.console.print(f"[yellow]{WAITING_FOR_REVIEWER}[/]")
            show_result(self.console, result, in_chat=True)
            if result.status is RunStatus.AWAITING_APPROVAL:
                self._wait_for_reviewers(tiller, result)

    def _command(self, text: str, thread_id: str) -> bool:
        """A slash command; True when the chat should end."""
        command = text.split()[0].lower()
        if command in ("/quit", "/exit", "/q"):
            self.console.print(f"[dim]bye — resume with: tiller chat --thread {thread_id}[/]")
            return True
        if command == "/thread":
            self.console.print(f"thread [bold]{thread_id}[/] — resume with: tiller chat --thread {thread_id}")
        elif command == "/help":
            self.console.print(HELP)
        else:
            self.console.print(f"[red]unknown command {escape(command)}[/]; /help lists the commands")
        return False

    def _wait_for_reviewers(self, tiller: Tiller, result: RunResult) -> None:
        """Poll until every pending approval is decided, then continue the thread here."""
        ids = [a.id for a in result.pending_approvals]
        if ids:
            self.console.print("[dim]Waiting for a reviewer… (Ctrl-C to stop waiting; the request stays queued)[/]")
        try:
            while any(tiller.approvals.get(tiller.settings.tenant, i).status == "pending" for i in ids):
                time.sleep(self.poll_s)
        except KeyboardInterrupt:
            self.console.print(f"[dim]Stopped waiting. Later: tiller resume {result.thread_id}[/]")
            return
        try:
            resumed = tiller.resume(result.thread_id, on_event=StepPrinter(self.console))
        except ThreadBusy:  # the reviewer's command is resuming it: show the outcome once it is done
            try:
                resumed = self._after_another_run(tiller, result.thread_id)
            except KeyboardInterrupt:
                self.console.print(f"[dim]Stopped waiting. Later: tiller chat --thread {result.thread_id}[/]")
                return
        show_result(self.console, resumed)

    def _after_another_run(self, tiller: Tiller, thread_id: str) -> RunResult:
        """The thread's result once the run another process holds on it has ended."""
        self.console.print("[dim]The reviewer's command is continuing the thread…[/]")
        time.sleep(self.poll_s)
        while _held(tiller, thread_id):
            time.sleep(self.poll_s)
        return tiller.result(thread_id)

    def _replay_history(self, tiller: Tiller, thread_id: str) -> None:
        for message in tiller.messages(thread_id)[-12:]:
            if isinstance(message, HumanMessage):
                self.console.print(f"[bold green]you>[/] {message.text}")
            elif isinstance(message, AIMessage) and message.text:
                self.console.print(f"[bold cyan]agent>[/] {message.text}")


def _held(tiller: Tiller, thread_id: str) -> bool:
    """Whether a run holds the thread now (a lease that has not lapsed: a crashed holder's does)."""
    row = tiller.threads.get(tiller.settings.tenant, thread_id)
    return row.status == "running" and row.lease_until is not None and row.lease_until > datetime.now(UTC)
