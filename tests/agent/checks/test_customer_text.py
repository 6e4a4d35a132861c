"""Internal text is never the customer's answer: a failed call becomes a helpful answer, and an
answer that repeats an error meant for the model is repaired or replaced (``internal_text``)."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent.config import Settings
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tests.agent.runtime.test_runtime import LOOKUP_THEN_REFUND
from tools.envelope import read_envelope


def test_asking_again_after_a_full_refund_gets_a_helpful_answer(settings: Settings) -> None:
    with Tiller(settings) as tiller:  # the offline model
        paused = tiller.ask("refund order W1000001, it arrived damaged", thread_id="t-again")
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        assert tiller.resume("t-again").status is RunStatus.COMPLETED
        tiller.ask("where is my order W1000001?", thread_id="t-again")
        again = tiller.ask("refund order W1000001, it arrived damaged", thread_id="t-again")
    assert again.status is RunStatus.COMPLETED
    answer = again.answer
    assert "invalid arguments" not in answer and "Fix these" not in answer and "Input should be" not in answer
    assert answer.startswith("I can't issue the refund") and "$0.00 can still be refunded" in answer


def test_an_answer_that_repeats_an_internal_error_is_not_sent(settings: Settings) -> None:
    def echo(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        errors = [read_envelope(m) for m in messages if isinstance(m, ToolMessage)]
        if not errors:
            args = {"order_id": "W1000001", "amount": "0", "reason": "damaged"}
            return AIMessage(content="", tool_calls=[{"name": "issue_refund", "args": args, "id": "c1"}])
        return AIMessage(content=f"Sorry: {errors[-1]['error']['message']}")  # a model parroting the runtime

    with Tiller(settings, model=ScriptedChatModel(echo)) as tiller:
        result = tiller.ask("refund order W1000001", thread_id="t-echo")
    assert result.status is RunStatus.COMPLETED
    assert "Fix these and call again" not in result.answer and "invalid arguments" not in result.answer
    assert "support ticket" in result.answer


NOTE = "third claim this month, see fraud case 7731"
TOLD = "Please reply with a photo of the damage."


def test_a_rejections_internal_note_reaches_neither_the_result_nor_the_events_nor_the_model(
    settings: Settings,
) -> None:
    script = [*LOOKUP_THEN_REFUND[:2], "I'm sorry, we need a photo of the damage first."]
    model = ScriptedChatModel(script)
    events: list[Any] = []
    with Tiller(settings, model=model) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-note").pending_approvals
        tiller.decide(approval.id, decision="reject", decided_by="rita", reason=NOTE, customer_message=TOLD)
        result = tiller.resume("t-note", on_event=events.append)
        messages = tiller.messages("t-note")
        again = tiller.result("t-note")
        row = tiller.approvals.get("acme", approval.id)
    assert result.status is RunStatus.COMPLETED
    [refused] = [c for c in result.trajectory if c.tool == "issue_refund"]
    assert refused.status.value == "rejected" and refused.approval is not None
    assert refused.approval.customer_message == TOLD
    seen = {
        "the run's result": result.model_dump_json(),
        "the thread's result read back": again.model_dump_json(),
        "the run's events": json.dumps([e.payload() for e in events]),
        "the thread's messages": json.dumps([m.model_dump() for m in messages], default=str),
        "what the model was sent": json.dumps([[m.model_dump() for m in c.messages] for c in model.calls], default=str),
    }
    assert all(TOLD in text for text in seen.values())  # the message for the customer does go through
    leaked = [name for name, text in seen.items() if "7731" in text or "third claim" in text]
    assert not leaked, f"the internal note reached {leaked}"
    assert row.reason == NOTE  # it stays on the approval row, for reviewers and the audit log
