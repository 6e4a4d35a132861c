"""Playing a scenario's conversation on a live ``Tiller``: user turns and the scripted reviewer.

Each user turn is one ``tiller.ask``. While the run waits for approval, the next scripted
decision is applied to each pending request (``tiller.decide`` as ``eval.reviewer``) and the
thread resumed; a ``pending`` decision, or a script that has run out, leaves the request
undecided and ends the conversation there. The transcript keeps every tool call (across turns
and resumes), every approval event and every turn's answer, status and usage.

After the fixed turns, a scenario's ``user_simulator`` plays on: its ``first_message`` (if any),
then a message from the simulated user's model per turn, each through the same path, until it
writes the stop token, its ``max_turns`` are used, or an approval is left pending.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Literal, cast

from agent.config import Limits
from agent.errors import TillerError
from agent.loop.state import PendingApproval, RunResult, RunStatus, ToolCallRecord
from agent.persistence.approvals import Decision
from agent.runtime import Tiller
from evals.errors import ScenarioSetupError
from evals.scenario import ReviewerDecision, Scenario, UserSimulator
from evals.simulator import STOP_TOKEN, Exchange, SimulatedUser
from evals.transcript import ApprovalEvent, CallRecord, SimulationRecord, Transcript, TurnRecord

REVIEWER = "eval.reviewer"


class Conversation:
    """One scenario conversation on one thread; ``transcript`` holds what happened so far, so a
    trial that crashes midway still reports its trajectory."""

    def __init__(
        self,
        tiller: Tiller,
        scenario: Scenario,
        thread_id: str,
        limits: Limits | None = None,
        *,
        simulated_user: SimulatedUser | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.tiller = tiller
        self.labels = labels or {}
        """Copied onto every run's trace (the runner puts the scenario id and trial there)."""
        self.scenario = scenario
        self.thread_id = thread_id
        self.limits = limits
        self.simulated_user = simulated_user
        self.transcript = Transcript()
        self._decisions = deque(scenario.decisions)
        self._calls: dict[tuple[int, str], ToolCallRecord] = {}

    def play(self) -> Transcript:
        """Run every turn, then the simulated user's (stopping early when an approval is left pending)."""
        for number, turn in enumerate(self.scenario.conversation, start=1):
            stopped = self._play_turn(number, turn.message)
            if stopped:
                remaining = len(self.scenario.conversation) - number
                if remaining:
                    self.transcript.notes.append(f"stopped after turn {number}: {remaining} turn(s) not run")
                if self.scenario.user_simulator:
                    self.transcript.notes.append("the simulated user did not start: an approval was left pending")
                return self.transcript
        if self.scenario.user_simulator:
            self._play_simulated(self.scenario.user_simulator)
        return self.transcript

    def _play_simulated(self, role: UserSimulator) -> None:
        """The simulated user's turns, after the fixed ones."""
        if self.simulated_user is None:
            raise ScenarioSetupError(f"{self.scenario.id}: a user_simulator needs a simulator model (--simulator)")
        record = SimulationRecord(model=self.simulated_user.spec)
        self.transcript.simulation = record
        for _ in range(role.max_turns):
            if record.turns == 0 and role.first_message:
                text = role.first_message
            else:
                exchanges = [Exchange(t.message, t.answer) for t in self.transcript.turns]
                move = self.simulated_user.next_message(role, exchanges)
                if move.done or not move.text:
                    record.ended = "done" if move.done else "empty_reply"
                    why = f"wrote {STOP_TOKEN}" if move.done else "wrote an empty message"
                    self.transcript.notes.append(f"the simulated user {why} after {record.turns} message(s)")
                    return
                text = move.text
            record.turns += 1
            if self._play_turn(len(self.transcript.turns) + 1, text, source="simulator"):
                record.ended = "approval_pending"
                self.transcript.notes.append("the simulated user stopped: an approval was left pending")
                return
        record.ended = "max_turns"
        self.transcript.notes.append(f"the simulated user sent all its max_turns ({role.max_turns}) messages")

    def _play_turn(self, number: int, message: str, *, source: Literal["script", "simulator"] = "script") -> bool:
        """One user message and its approval rounds; True when the conversation must stop."""
        s = self.scenario
        started = time.perf_counter()
        result = self.tiller.ask(
            message,
            thread_id=self.thread_id,
            tenant=s.tenant,
            user=s.user,
            role=s.role,
            limits=self.limits,
            labels=self.labels,
        )
        self._record_calls(number, result)
        run_ids = [result.run_id]
        answers = [result.answer]
        stopped = False
        while result.status is RunStatus.AWAITING_APPROVAL:
            if not self._review(number, result.pending_approvals):
                stopped = True
                break
            result = self.tiller.resume(self.thread_id, tenant=s.tenant, labels=self.labels)
            self._record_calls(number, result)
            run_ids.append(result.run_id)
            answers.append(result.answer)
        record = _turn_record(message, source, result, time.perf_counter() - started)
        record.run_ids = [r for r in run_ids if r]
        record.answers = [a for a in answers if a]
        self.transcript.turns.append(record)
        return stopped

    def _review(self, turn: int, pending: list[PendingApproval]) -> bool:
        """Apply the next scripted decision to each pending request; False if any stays pending."""
        for approval in pending:
            decision = self._decisions.popleft() if self._decisions else None
            if decision is None:
                self.transcript.notes.append(f"the reviewer script ran out: approval {approval.id} left pending")
                decision = ReviewerDecision(decision="pending")
            event = ApprovalEvent(
                approval_id=approval.id,
                turn=turn,
                call_id=approval.tool_call_id,
                tool=approval.tool,
                args=dict(approval.args),
                decision=decision.decision,
                reason=decision.reason,
                edits=dict(decision.args),
            )
            self.transcript.approvals.append(event)
            if decision.decision == "pending" or not self._decide(approval, decision, event):
                return False
        return True

    def _decide(self, approval: PendingApproval, decision: ReviewerDecision, event: ApprovalEvent) -> bool:
        try:
            self.tiller.decide(
                approval.id,
                decision=cast(Decision, decision.decision),  # "pending" never gets here
                decided_by=REVIEWER,
                tenant=self.scenario.tenant,
                reason=decision.reason,
                edits=dict(decision.args) or None,
                customer_message=decision.customer_message,
            )
        except TillerError as exc:
            event.error = str(exc)
            self.transcript.notes.append(f"the reviewer's {decision.decision} of {approval.id} failed: {exc}")
            return False
        return True

    def _record_calls(self, turn: int, result: RunResult) -> None:
        for record in result.trajectory:
            self._calls[turn, record.id] = record
        self.transcript.calls = [
            self._call_record(i, turn_of, r) for i, ((turn_of, _), r) in enumerate(self._calls.items(), start=1)
        ]

    def _call_record(self, index: int, turn: int, record: ToolCallRecord) -> CallRecord:
        spec = self.tiller.registry.get(record.tool)
        result = record.result or {}
        error = record.error or {}
        approval = record.approval
        return CallRecord(
            index=index,
            turn=turn,
            step=record.step,
            id=record.id,
            tool=record.tool,
            args=dict(record.args),
            status=record.status.value,
            risk=spec.risk.value if spec is not None else "unknown",
            error_kind=error.get("kind"),
            error=error.get("message"),
            summary=result.get("summary") if isinstance(result.get("summary"), str) else None,
            approval_id=approval.id if approval else None,
            decision=approval.decision if approval else None,
        )


def _turn_record(message: str, source: Literal["script", "simulator"], result: RunResult, elapsed: float) -> TurnRecord:
    usage = result.usage
    return TurnRecord(
        message=message,
        source=source,
        status=result.status.value,
        answer=result.answer,
        stop_reason=result.stop_reason,
        error=result.error,
        steps=usage.steps,
        tool_calls=usage.tool_calls,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        latency_s=round(elapsed, 4),
        routes=result.routes,
    )
