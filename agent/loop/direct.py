"""Direct calls: a turn whose plan is one tool call the calling program gave, not a model's reply.

``Tiller.invoke_tool`` starts such a turn with a user message that carries the call (under
:data:`DIRECT_CALL_KEY` in its ``additional_kwargs``) and states it in words. ``call_model``
plays the plan from it instead of asking the model — first exactly that call, then, once the call
has its answer, a fixed closing line — and everything else is the graph's own: ``guard_input``
screens the message, ``plan_tools`` gives the call its identity (``tc_<turn>_1_0``), validates it
and asks the policy, ``request_approval`` pauses, execution goes through the breaker, the
idempotency ledger and the tool-output guard, ``finalize`` closes the turn. The call lives in the
thread's state, not in a run's context, so every resume (CLI, service, workflow worker, recovery
after a crash) continues the turn the same way without knowing it is a direct one.

**Provenance.** The arguments are the calling program's own request, like values a user typed —
not values a model invented: the provenance policy (``agent.loop.provenance``) counts every
value of the call as the user's (``where``: "the calling program's call"), whatever the input
guard redacted from the message's text. A program that passes on values its own model took from
untrusted text vouches for them; the approval policy's rules (risk, roles, argument conditions)
apply to it as to anyone. The message's text states the call for people (the reviewer's
excerpt, the thread's history) and for the model of later turns; its injection score is only a
signal (``guard_input``): the text names a tool by design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolCall, ToolMessage

from tools.canonical import canonical_json, to_jsonable
from tools.envelope import read_envelope
from tools.provenance import leaves

DIRECT_CALL_KEY = "tiller_direct_call"
"""``additional_kwargs`` key of a user message that carries a direct call: ``{"tool", "args"}``."""
DIRECT_STEP = 1
"""The model step that plays a direct call: its identity is ``tc_<turn>_1_0``."""


@dataclass(frozen=True)
class DirectCall:
    """One tool call as the calling program asked for it."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, tool: str, args: Any) -> DirectCall:
        """The call with its arguments as JSON values (``TypeError`` when they cannot be)."""
        return cls(tool=tool, args=to_jsonable(args))

    def same_as(self, other: DirectCall) -> bool:
        """The same tool with the same canonical arguments (``25`` and ``25.0`` are one amount)."""
        return self.tool == other.tool and canonical_json(self.args) == canonical_json(other.args)

    def text(self) -> str:
        """The call in words, every argument value spelled out (what provenance traces)."""
        lines = [f"{path or '(value)'}: {value}" for path, value in leaves(self.args)]
        listed = "\n".join(lines) if lines else "(no arguments)"
        return f"Tool call requested directly by the calling program (no model chose it): {self.tool}\n{listed}"

    def to_data(self) -> dict[str, Any]:
        """The call as the user message's ``additional_kwargs`` carry it."""
        return {"tool": self.tool, "args": self.args}

    @classmethod
    def of_message(cls, message: HumanMessage) -> DirectCall | None:
        """The direct call a user message carries (``None``: a person's message)."""
        data = message.additional_kwargs.get(DIRECT_CALL_KEY)
        if not isinstance(data, dict):
            return None
        return cls(tool=str(data.get("tool", "")), args=dict(data.get("args") or {}))

    @classmethod
    def of_turn(cls, messages: list[AnyMessage]) -> DirectCall | None:
        """The direct call of the thread's current turn (``None``: a person's message began it)."""
        human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        return cls.of_message(human) if human is not None else None


def _this_turn(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The messages after the turn's user message."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index + 1 :]
    return messages


def direct_reply(call: DirectCall, messages: list[AnyMessage], limit: str | None) -> AIMessage:
    """What the turn's "model" says next: the call itself, or — once the call was played, or when
    a limit closes the turn first — a closing line that passes no tool text on."""
    after = _this_turn(messages)
    if not any(isinstance(m, AIMessage) for m in after):
        if limit is not None:
            return AIMessage(content=f"{call.tool} was not run: the run's {limit} limit was reached first.")
        return AIMessage(content="", tool_calls=[ToolCall(name=call.tool, args=call.args, id=None, type="tool_call")])
    answers = [m for m in after if isinstance(m, ToolMessage)]
    ran = bool(answers) and bool(read_envelope(answers[-1]).get("ok"))
    return AIMessage(content=f"Done: {call.tool} ran." if ran else f"{call.tool} did not run; its record says why.")
