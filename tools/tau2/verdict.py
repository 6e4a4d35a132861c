"""τ²'s own verdict on a conversation: the calls that ran and the agent's answers, handed to
τ²'s evaluator (``tau2.evaluator.evaluator.evaluate_simulation``, every check its reward basis
names) as the messages of a τ² simulation.

The tool messages are τ²'s own responses to those calls, produced on a fresh τ² environment
(``Environment.get_response``): τ²'s evaluator replays the calls and insists the responses
match, and a call that Tiller never ran (rejected, invalid, stopped by a limit) is not given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tools.tau2 import source


@dataclass(frozen=True)
class Call:
    """One tool call that ran: its tool and arguments."""

    tool: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Tau2Verdict:
    """τ²'s reward for one conversation, and what its checks said."""

    reward: float
    db_match: bool | None
    communicated: list[tuple[str, bool]]
    note: str = ""

    @property
    def passed(self) -> bool:
        """Whether τ² gives the conversation full reward."""
        return self.reward >= 1.0


def _messages(domain: str, brief: str, calls: Sequence[Call], answers: Sequence[str]) -> list[Any]:
    from tau2.data_model.message import AssistantMessage, ToolCall, UserMessage  # noqa: PLC0415  # the tau2 extra: optional

    env = source.environment(domain)
    messages: list[Any] = [UserMessage(role="user", content=brief)]
    for number, call in enumerate(calls, start=1):
        tool_call = ToolCall(id=f"call_{number}", name=call.tool, arguments=dict(call.args), requestor="assistant")
        messages.append(AssistantMessage(role="assistant", tool_calls=[tool_call]))
        messages.append(env.get_response(tool_call))
    messages += [AssistantMessage(role="assistant", content=text) for text in answers if text]
    return messages


def tau2_verdict(domain: str, task: Any, brief: str, calls: Sequence[Call], answers: Sequence[str]) -> Tau2Verdict:
    """τ²'s evaluator on ``calls`` then ``answers`` for ``task`` of τ² domain ``domain``."""
    source.registry()  # τ² imported quietly, offline, before its evaluator module
    from tau2.data_model.simulation import SimulationRun, TerminationReason  # noqa: PLC0415  # the tau2 extra: optional
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation  # noqa: PLC0415  # the tau2 extra: optional

    now = datetime.now(UTC).isoformat()
    run = SimulationRun(
        id=f"tiller-{task.id}",
        task_id=str(task.id),
        start_time=now,
        end_time=now,
        duration=0.0,
        termination_reason=TerminationReason.AGENT_STOP,
        messages=_messages(domain, brief, calls, answers),
    )
    info = evaluate_simulation(run, task, EvaluationType.ALL, solo_mode=False, domain=domain)
    checks = info.communicate_checks or []
    return Tau2Verdict(
        reward=float(info.reward),
        db_match=info.db_check.db_match if info.db_check is not None else None,
        communicated=[(c.info, c.met) for c in checks],
        note=str((info.info or {}).get("note", "")),
    )
