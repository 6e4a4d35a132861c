"""A remote write whose outcome is unknown is not sent again on the model's say in a later turn:
the same call with the same arguments waits for a reviewer, who checks the remote system.

Within one turn a repeat of an ``outcome_unknown`` call is refused (``repeated_failure``,
tests/safety/test_safety_tool_faults.py); a lost answer (``unavailable``) and any repeat in a
later turn have a new call id — a new idempotency key — so only the ledger's record of what was
sent and never answered, and the thread's record of what the model was told, can tell it is the
same effect again.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tools.contract import Risk, ToolContext, tool
from tools.envelope import read_envelope
from tools.errors import ToolUnavailable
from tools.registry import ToolRegistry

SENT: list[str] = []  # what reached the remote system
LOSE_ANSWER: set[str] = set()  # accounts whose next answer is lost on the way back


class TransferArgs(BaseModel):
    account: str
    amount: str


class TransferResult(BaseModel):
    transfer_id: str
    summary: str = ""


@tool(risk=Risk.WRITE)
def _send_transfer(ctx: ToolContext, args: TransferArgs) -> TransferResult:
    """Send money to an account through the bank's API (an effect outside Tiller's database)."""
    SENT.append(args.account)
    if args.account in LOSE_ANSWER:
        LOSE_ANSWER.discard(args.account)
        raise ToolUnavailable("the connection to the bank dropped before it answered")
    return TransferResult(transfer_id=f"T{len(SENT)}", summary=f"sent {args.amount} to {args.account}")


send_transfer = replace(_send_transfer, name="send_transfer", remote=True)  # as an MCP or LangChain tool is


@tool(risk=Risk.WRITE, timeout_s=0.1)
def _slow_transfer(ctx: ToolContext, args: TransferArgs) -> TransferResult:
    """Send money through a bank whose answer comes after the call's timeout."""
    time.sleep(0.3)
    SENT.append(args.account)
    return TransferResult(transfer_id=f"T{len(SENT)}", summary=f"sent {args.amount} to {args.account}")


slow_transfer = replace(_slow_transfer, name="send_transfer", remote=True)


def _model() -> ScriptedChatModel:
    """Each user message asks for a transfer to the account it names; then the model answers."""

    def script(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        if not isinstance(messages[-1], HumanMessage) or not tools:
            return AIMessage(content="Done.")
        account = messages[-1].text.split()[-1]
        n = sum(isinstance(m, AIMessage) for m in messages)
        call = {"name": "send_transfer", "args": {"account": account, "amount": "50.00"}, "id": f"c{n}"}
        return AIMessage(content="", tool_calls=[call])

    return ScriptedChatModel(script)


def _runtime(settings: Settings, transfer: Any = send_transfer) -> Tiller:
    SENT.clear()
    return Tiller(settings, model=_model(), registry=ToolRegistry([transfer]))


def test_a_lost_answer_then_the_same_transfer_in_a_later_turn_waits_for_a_reviewer(settings: Settings) -> None:
    LOSE_ANSWER.add("ACC-1")
    with _runtime(settings) as tiller:
        first = tiller.ask("send 50.00 to ACC-1", thread_id="t-bank")
        assert first.status is RunStatus.COMPLETED and first.trajectory[0].status is CallStatus.ERROR
        assert SENT == ["ACC-1"]  # it went out; whether the bank applied it is unknown

        again = tiller.ask("please send 50.00 to ACC-1", thread_id="t-bank")
        assert again.status is RunStatus.AWAITING_APPROVAL
        assert SENT == ["ACC-1"]  # not sent a second time on the model's say
        [pending] = again.pending_approvals
        why = (pending.provenance or {}).get("why", "")  # what the reviewer reads beside the call
        assert "whether it ran was never confirmed" in why and "check the remote system" in why

        tiller.decide(pending.id, decision="approve", decided_by="rita")  # she checked: it did not run
        done = tiller.resume("t-bank")
    assert done.status is RunStatus.COMPLETED
    assert SENT == ["ACC-1", "ACC-1"]
    assert [c.status for c in done.trajectory if c.tool == "send_transfer"][-1] is CallStatus.EXECUTED


def test_a_rejected_repeat_is_not_sent_and_other_transfers_are_not_held(settings: Settings) -> None:
    LOSE_ANSWER.add("ACC-2")
    with _runtime(settings) as tiller:
        tiller.ask("send 50.00 to ACC-2", thread_id="t-bank-2")
        other = tiller.ask("send 50.00 to ACC-3", thread_id="t-bank-2")  # other arguments: a different effect
        assert other.status is RunStatus.COMPLETED and SENT == ["ACC-2", "ACC-3"]

        again = tiller.ask("send 50.00 to ACC-2", thread_id="t-bank-2")
        [pending] = again.pending_approvals
        tiller.decide(pending.id, decision="reject", decided_by="rita", reason="the bank shows it arrived")
        done = tiller.resume("t-bank-2")
        envelopes = [read_envelope(m) for m in tiller.messages("t-bank-2") if m.type == "tool"]
    assert done.status is RunStatus.COMPLETED and SENT == ["ACC-2", "ACC-3"]
    assert "a reviewer declined it" in envelopes[-1]["error"]["message"]


def test_a_repeat_in_another_thread_is_its_own_effect(settings: Settings) -> None:
    LOSE_ANSWER.add("ACC-4")
    with _runtime(settings) as tiller:
        tiller.ask("send 50.00 to ACC-4", thread_id="t-bank-3")
        elsewhere = tiller.ask("send 50.00 to ACC-4", thread_id="t-bank-4")
    assert elsewhere.status is RunStatus.COMPLETED and SENT == ["ACC-4", "ACC-4"]


def test_a_late_answer_the_model_never_read_still_holds_the_repeat(settings: Settings) -> None:
    """The answer came after the timeout and is recorded, so the ledger knows it ran; the model
    was told its outcome is unknown, so its repeat in the next turn is held all the same."""
    with _runtime(settings, slow_transfer) as tiller:
        first = tiller.ask("send 50.00 to ACC-5", thread_id="t-bank-5")
        [call] = first.trajectory
        assert call.status is CallStatus.ERROR and call.error is not None and call.error["kind"] == "outcome_unknown"
        time.sleep(0.4)  # the late answer arrives and is recorded under the first call's key
        assert SENT == ["ACC-5"]
        again = tiller.ask("send 50.00 to ACC-5", thread_id="t-bank-5")
        assert again.status is RunStatus.AWAITING_APPROVAL and SENT == ["ACC-5"]


def test_a_lost_answer_repeated_in_the_same_turn_waits_for_a_reviewer(settings: Settings) -> None:
    """A dropped connection is reported ``unavailable`` (not ``outcome_unknown``), so the turn's
    own repeat check lets it through; the ledger still has it as sent, and that holds it."""

    def twice(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        since_user = len(messages) - max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage)) - 1
        if since_user >= 4 or not tools:  # two calls made (each an AI message and its result)
            return AIMessage(content="Done.")
        call = {"name": "send_transfer", "args": {"account": "ACC-6", "amount": "50.00"}, "id": f"c{since_user}"}
        return AIMessage(content="", tool_calls=[call])

    SENT.clear()
    LOSE_ANSWER.add("ACC-6")
    registry = ToolRegistry([send_transfer])
    with Tiller(settings, model=ScriptedChatModel(twice), registry=registry) as tiller:
        result = tiller.ask("send 50.00 to ACC-6", thread_id="t-bank-6")
    assert result.status is RunStatus.AWAITING_APPROVAL and SENT == ["ACC-6"]
