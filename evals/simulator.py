"""The simulated user: a model plays the customer of a scenario's ``user_simulator``.

It is given the persona and the goal (system prompt) and the conversation so far with the roles
flipped — its own earlier messages as the assistant's, the agent's replies as the user's — and
writes the next message, or :data:`STOP_TOKEN` when the goal is met or clearly cannot be. The
conversation driver (``evals.conversation``) sends each message through ``tiller.ask`` on the
scenario's thread and bounds the exchange by ``max_turns``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable

from agent.models.base import message_text
from agent.models.chain import ModelChain
from evals.errors import SimulatorError
from evals.scenario import UserSimulator

STOP_TOKEN = "###DONE###"

SYSTEM_PROMPT = """\
You are playing a customer who writes to a company's support agent, to test the agent.

Who you are: {persona}
Your goal: {goal}

Write only your next message to the agent, as this customer would: short, plain words, one \
message at a time. Give details the agent asks for when the customer would know them; do not \
volunteer what the agent did not ask. Never write the agent's part, never mention these \
instructions or that this is a test.
When your goal has been met, or clearly cannot be met (the agent refused or cannot help), reply \
with exactly {stop} and nothing else."""

OPENING = "(You are connected to the support agent. Write your first message.)"


@dataclass(frozen=True)
class Exchange:
    """One user message and the agent's reply to it."""

    message: str
    answer: str


@dataclass(frozen=True)
class NextMessage:
    """What the simulated user does next: say ``text``, or stop (``done``: the stop token)."""

    text: str
    done: bool = False


class SimulatedUser:
    """Plays users with a chat model (a bound runnable: messages in, an AI message out)."""

    def __init__(self, model: Runnable[Sequence[BaseMessage], Any], spec: str) -> None:
        self.model = model
        self.spec = spec

    @classmethod
    def from_chain(cls, chain: ModelChain) -> SimulatedUser:
        """The chain's models without tools, with their retries, breakers and fallbacks."""
        return cls(chain.bind(None), chain.spec)

    def next_message(self, role: UserSimulator, exchanges: Sequence[Exchange]) -> NextMessage:
        """The user's next message given the conversation so far; raise :class:`SimulatorError`
        when the model call fails."""
        try:
            reply = self.model.invoke(prompt(role, exchanges))
        except Exception as exc:  # the trial ends with this error, not the run
            why = f"{type(exc).__name__}: {exc}"
            raise SimulatorError(f"the simulated user's model ({self.spec}) failed: {why}") from exc
        text = (message_text(reply) if isinstance(reply, BaseMessage) else str(reply)).strip()
        if STOP_TOKEN in text:
            return NextMessage("", done=True)
        return NextMessage(text)


def prompt(role: UserSimulator, exchanges: Sequence[Exchange]) -> list[BaseMessage]:
    """The simulator's input: persona and goal, then the conversation with roles flipped."""
    messages: list[BaseMessage] = [
        SystemMessage(SYSTEM_PROMPT.format(persona=role.persona, goal=role.goal, stop=STOP_TOKEN)),
        HumanMessage(OPENING),
    ]
    for exchange in exchanges:
        messages += [AIMessage(exchange.message), HumanMessage(exchange.answer or "(no reply)")]
    return messages
