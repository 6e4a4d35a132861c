"""End-to-end through the Python API (``Tiller``) with a scripted model on the demo domain."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent.config import Limits, Settings
from agent.errors import ApprovalConflict, InvalidEdit, SelfApproval, ThreadNotFound
from agent.loop.events import GuardEvent, RunEvent
from agent.loop.state import CallStatus, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tools.envelope import read_envelope

Refunds = Callable[[str], tuple[int, int]]

LOOKUP_THEN_REFUND = [
    {"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000001"}}]},
    {
        "tool_calls": [
            {"name": "issue_refund", "args": {"order_id": "W1000001", "amount": "129.99", "reason": "damaged"}}
        ]
    },
    "Your refund has been processed.",
]


def tool_messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    return [read_envelope(m) for m in messages if isinstance(m, ToolMessage)]


def test_lookup_is_answered_with_the_tool_result(settings: Settings) -> None:
    model = ScriptedChatModel([{"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000002"}}]}, "UPS."])
    with Tiller(settings, model=model) as tiller:
        result = tiller.ask("where is my order W1000002?")
    assert result.status is RunStatus.COMPLETED and result.answer == "UPS."
    [call] = result.trajectory
    assert (call.tool, call.status) == ("get_order", CallStatus.EXECUTED)
    assert call.result is not None and call.result["carrier"] == "UPS"
    assert result.usage.steps == 2 and result.usage.tool_calls == 1


def test_refund_waits_for_approval_and_runs_exactly_once(settings: Settings, refunds: Refunds) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        paused = tiller.ask("refund W1000001, it arrived damaged", thread_id="t-refund")
        assert paused.status is RunStatus.AWAITING_APPROVAL
        [approval] = paused.pending_approvals
        assert (approval.tool, approval.args) == (
            "issue_refund",
            {"order_id": "W1000001", "amount": "129.99", "reason": "damaged"},
        )
        assert refunds("W1000001") == (0, 0)

        with pytest.raises(SelfApproval):
            tiller.decide(approval.id, decision="approve", decided_by="agent.demo")
        tiller.decide(approval.id, decision="approve", decided_by="rita.reviewer")
        with pytest.raises(ApprovalConflict):
            tiller.decide(approval.id, decision="approve", decided_by="sam.reviewer")

        done = tiller.resume("t-refund")
        assert done.status is RunStatus.COMPLETED and done.answer == "Your refund has been processed."
        assert refunds("W1000001") == (1, 12999)
        again = tiller.resume("t-refund")  # nothing due: a no-op
        assert again.status is RunStatus.COMPLETED and refunds("W1000001") == (1, 12999)

        refund_call = next(c for c in done.trajectory if c.tool == "issue_refund")
        assert refund_call.status is CallStatus.EXECUTED and refund_call.approval is not None
        assert refund_call.approval.decided_by == "rita.reviewer"
        events = [e["event"] for e in tiller.approvals.events("acme", approval.id)]
        assert events == ["requested", "approved", "executed"]


def test_rejected_refund_never_runs_and_the_model_hears_only_the_customer_message(
    settings: Settings, refunds: Refunds
) -> None:
    model = ScriptedChatModel(LOOKUP_THEN_REFUND)
    with Tiller(settings, model=model) as tiller:
        paused = tiller.ask("refund W1000001", thread_id="t-reject")
        tiller.decide(
            paused.pending_approvals[0].id,
            decision="reject",
            decided_by="rita",
            reason="suspected fraud ring, see case 118",
            customer_message="Please send us a photo of the damage.",
        )
        done = tiller.resume("t-reject")
        messages = tiller.messages("t-reject")
    assert done.status is RunStatus.COMPLETED
    assert refunds("W1000001") == (0, 0)
    rejected = tool_messages(messages)[-1]
    assert rejected["ok"] is False and rejected["error"]["kind"] == "rejected"
    assert rejected["error"]["customer_message"] == "Please send us a photo of the damage."
    assert "fraud" not in str(rejected)  # the internal note never reaches the model
    assert next(c for c in done.trajectory if c.tool == "issue_refund").status is CallStatus.REJECTED


def test_edited_refund_runs_with_the_edited_amount(settings: Settings, refunds: Refunds) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        paused = tiller.ask("refund W1000001", thread_id="t-edit")
        approval_id = paused.pending_approvals[0].id
        with pytest.raises(InvalidEdit, match="amount"):
            tiller.decide(approval_id, decision="edit", decided_by="rita", edits={"amount": "-5"})
        tiller.decide(approval_id, decision="edit", decided_by="rita", edits={"amount": "100.00"})
        done = tiller.resume("t-edit")
        last_tool = tool_messages(tiller.messages("t-edit"))[-1]
    assert refunds("W1000001") == (1, 10000)
    call = next(c for c in done.trajectory if c.tool == "issue_refund")
    assert call.args["amount"] == "100" and call.status is CallStatus.EXECUTED
    assert "amount=100" in last_tool["note"]


def test_invalid_arguments_go_back_to_the_model_which_recovers(settings: Settings) -> None:
    seen: list[dict[str, Any]] = []

    def script(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        results = tool_messages(messages)
        seen.extend(results)
        if not results:
            return AIMessage(
                content="", tool_calls=[{"name": "get_order", "args": {"order_id": "1000002"}, "id": "c1"}]
            )
        if len(results) == 1:
            return AIMessage(
                content="", tool_calls=[{"name": "get_order", "args": {"order_id": "W1000002"}, "id": "c2"}]
            )
        return AIMessage(content="It shipped.")

    with Tiller(settings, model=ScriptedChatModel(script)) as tiller:
        result = tiller.ask("where is order 1000002")
    assert result.status is RunStatus.COMPLETED
    assert [c.status for c in result.trajectory] == [CallStatus.INVALID, CallStatus.EXECUTED]
    assert seen[0]["error"]["kind"] == "invalid_arguments" and "order_id" in seen[0]["error"]["message"]


def test_business_rule_violation_is_explained_not_raised(settings: Settings) -> None:
    turns = [
        {
            "tool_calls": [
                {
                    "name": "update_shipping_address",
                    "args": {
                        "order_id": "W1000002",
                        "line1": "1 Main St",
                        "city": "Salem",
                        "region": "OR",
                        "postal_code": "97301",
                        "country": "US",
                    },
                }
            ]
        },
        "That order has already shipped, so the address can't change.",
    ]
    with Tiller(settings, model=ScriptedChatModel(turns)) as tiller:
        result = tiller.ask("ship W1000002 to 1 Main St, Salem")
    [call] = result.trajectory
    assert result.status is RunStatus.COMPLETED and call.status is CallStatus.ERROR
    assert call.error is not None and call.error["kind"] == "business_rule"


def test_another_tenants_order_is_not_found(settings: Settings) -> None:
    def turns() -> ScriptedChatModel:
        return ScriptedChatModel([{"tool_calls": [{"name": "get_order", "args": {"order_id": "W9000001"}}]}, "ok"])

    with Tiller(settings, model=turns()) as tiller:
        acme = tiller.ask("order W9000001?", tenant="acme")
    with Tiller(settings, model=turns()) as tiller:
        globex = tiller.ask("order W9000001?", tenant="globex", user="globex.agent")
        with pytest.raises(ThreadNotFound):
            tiller.resume(acme.thread_id, tenant="globex")
    assert acme.trajectory[0].status is CallStatus.ERROR and acme.trajectory[0].error["kind"] == "not_found"  # type: ignore[index]
    assert globex.trajectory[0].status is CallStatus.EXECUTED


def _looping_model(usage: bool = True) -> ScriptedChatModel:
    """A model that never stops asking for the same lookup (and answers when tools are off);
    ``usage``: its turns carry a provider's token usage (else the script's usage is estimated)."""
    reported = {"input_tokens": 50, "output_tokens": 10, "total_tokens": 60} if usage else None

    def script(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        if not tools:
            return AIMessage(content="Best effort: order W1000002 shipped with UPS.", usage_metadata=reported)
        n = sum(isinstance(m, AIMessage) for m in messages)
        call = {"name": "get_order", "args": {"order_id": "W1000002"}, "id": f"c{n}"}
        return AIMessage(content="", tool_calls=[call], usage_metadata=reported)

    return ScriptedChatModel(script)


def test_estimated_usage_is_reported_but_never_counts_against_the_token_limit(settings: Settings) -> None:
    # Each prompt (≈3k tokens) fits the budget; the estimated usage of the steps (≈12k) would not.
    with Tiller(settings, model=_looping_model(usage=False), limits=Limits(max_tokens=4_000, max_steps=3)) as tiller:
        result = tiller.ask("where is W1000002?")
    assert result.stop_reason == "max_steps"  # not max_tokens: the script's usage was only estimated
    assert result.usage.estimated_tokens > 0 and result.usage.total_tokens == 0


def test_the_token_limit_is_checked_before_the_prompt_is_sent(settings: Settings) -> None:
    """A prompt that would take the run past max_tokens is never sent: the run ends at once, with
    a fixed answer, instead of overshooting by a whole prompt (and then a best-effort one)."""
    with Tiller(settings, model=_looping_model(), limits=Limits(max_tokens=1)) as tiller:
        result = tiller.ask("where is W1000002?")
    assert result.status is RunStatus.LIMIT_REACHED and result.stop_reason == "max_tokens"
    assert result.answer.startswith("Sorry, I have to stop here") and result.trajectory == []
    assert result.usage.total_tokens == 0


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (Limits(max_steps=3), "max_steps"),
        (Limits(max_tool_calls=2), "max_tool_calls"),
        (Limits(max_calls_per_tool=1), "max_calls_per_tool"),
        (Limits(deadline_s=0.000001), "deadline"),
    ],
)
def test_each_limit_ends_the_run_gracefully_with_tools_off(settings: Settings, limits: Limits, reason: str) -> None:
    with Tiller(settings, model=_looping_model(), limits=limits) as tiller:
        result = tiller.ask("where is W1000002?")
    assert result.status is RunStatus.LIMIT_REACHED and result.stop_reason == reason
    assert result.answer == "Best effort: order W1000002 shipped with UPS."
    executed = [c for c in result.trajectory if c.status is CallStatus.EXECUTED]
    assert len(executed) <= max(limits.max_tool_calls, 0)


def test_repeated_invalid_arguments_hit_their_limit(settings: Settings) -> None:
    def script(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        if not tools:
            return AIMessage(content="I could not look that up.")
        n = sum(isinstance(m, AIMessage) for m in messages)
        return AIMessage(content="", tool_calls=[{"name": "get_order", "args": {"order_id": "bad"}, "id": f"c{n}"}])

    with Tiller(settings, model=ScriptedChatModel(script), limits=Limits(max_invalid_args=2)) as tiller:
        result = tiller.ask("where is my order?")
    assert result.status is RunStatus.LIMIT_REACHED and result.stop_reason == "max_invalid_args"
    assert [c.status for c in result.trajectory] == [CallStatus.INVALID] * 3


def test_model_outage_fails_gracefully_and_keeps_the_trajectory(settings: Settings) -> None:
    calls = 0

    def script(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        nonlocal calls
        calls += 1
        if calls == 1:
            return AIMessage(
                content="", tool_calls=[{"name": "get_order", "args": {"order_id": "W1000002"}, "id": "c1"}]
            )
        raise ConnectionError("provider down")

    with Tiller(settings, model=ScriptedChatModel(script)) as tiller:
        result = tiller.ask("where is W1000002?")
    assert result.status is RunStatus.FAILED and "could not complete" in result.answer
    assert result.error is not None and result.error["kind"] == "model_unavailable"
    assert [c.tool for c in result.trajectory] == ["get_order"]
    assert calls == 1 + 1 + settings.model_retries  # first turn, then the failing one and its retries


def test_unknown_tool_is_reported_to_the_model(settings: Settings) -> None:
    turns = [{"tool_calls": [{"name": "drop_database", "args": {}}]}, "I can't do that."]
    with Tiller(settings, model=ScriptedChatModel(turns)) as tiller:
        result = tiller.ask("drop it")
        [error] = tool_messages(tiller.messages(result.thread_id))
    assert error["error"]["kind"] == "unknown_tool" and "get_order" in error["error"]["message"]
    assert result.trajectory[0].status is CallStatus.INVALID


def test_concurrent_decisions_execute_once(settings: Settings, refunds: Refunds) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        approval_id = tiller.ask("refund W1000001", thread_id="t-race").pending_approvals[0].id
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def decide(who: str) -> None:
            barrier.wait()
            try:
                tiller.decide(approval_id, decision="approve", decided_by=who)
                outcomes.append("ok")
            except ApprovalConflict:
                outcomes.append("conflict")

        workers = [threading.Thread(target=decide, args=(n,)) for n in ("rita", "sam")]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert sorted(outcomes) == ["conflict", "ok"]
        tiller.resume("t-race")
    assert refunds("W1000001") == (1, 12999)


def test_every_demo_tool_example_selects_its_own_tool_on_the_offline_model(settings: Settings) -> None:
    """The examples teach the offline model; one that points at another tool is a bug in the declarations."""
    from agent.models.offline.select import examples_leave_one_out

    with Tiller(settings) as tiller:
        misses = examples_leave_one_out(tiller.registry.model_schemas())
    assert misses == []


def test_secrets_never_reach_the_model_or_any_checkpoint(settings: Settings) -> None:
    model = ScriptedChatModel([{"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000002"}}]}, "Shipped."])
    events: list[RunEvent] = []
    with Tiller(settings, model=model) as tiller:
        result = tiller.ask("my card 4111 1111 1111 1111 was charged, where is W1000002?", on_event=events.append)
        history = list(tiller.graph.get_state_history({"configurable": {"thread_id": result.thread_id}}))
    seen_by_model = " ".join(str(m.content) for call in model.calls for m in call.messages)
    assert "[REDACTED:card_number]" in seen_by_model and "4111 1111" not in seen_by_model
    stored = " ".join(str(m.content) for snap in history for m in snap.values.get("messages", []))
    assert "4111 1111" not in stored and len(history) > 3
    guards = [(e.stage, e.verdict) for e in events if isinstance(e, GuardEvent)]
    assert guards[0] == ("input", "redact (secret:card_number)")


def test_a_reused_call_id_with_new_arguments_does_not_inherit_an_approval(settings: Settings, refunds: Refunds) -> None:
    refund = {"name": "issue_refund", "id": "same-id", "args": {"order_id": "W1000001", "reason": "damaged"}}
    turns = [
        {"tool_calls": [{**refund, "args": {**refund["args"], "amount": "10.00"}}]},
        {"tool_calls": [{**refund, "args": {**refund["args"], "amount": "129.99"}}]},
        "done",
    ]
    with Tiller(settings, model=ScriptedChatModel(turns)) as tiller:
        paused = tiller.ask("refund W1000001", thread_id="t-reuse")
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        done = tiller.resume("t-reuse")
    assert refunds("W1000001") == (1, 1000)  # only the approved $10.00
    # The runtime names calls itself: the re-sent id is a new call, which waits for its own approval.
    reused = done.trajectory[-1]
    assert reused.status is CallStatus.PENDING_APPROVAL and reused.provider_call_id == "same-id"
    assert done.status is RunStatus.AWAITING_APPROVAL
    [waiting] = done.pending_approvals
    assert waiting.args["amount"] == "129.99" and waiting.id != paused.pending_approvals[0].id


def test_the_result_a_run_returns_is_the_one_its_checkpoint_holds(settings: Settings) -> None:
    """A run's result is built from the state ``graph.invoke`` returned; reading the thread's
    checkpoint afterwards gives the same result, paused or finished."""
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        paused = tiller.ask("refund W1000001, it arrived damaged", thread_id="t-same")
        assert paused.status is RunStatus.AWAITING_APPROVAL
        again = tiller.run_coroutine(tiller.runs.result("t-same", "acme", 0.0))
        assert _comparable(again) == _comparable(paused)
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")
        done = tiller.resume("t-same")
        assert done.status is RunStatus.COMPLETED
        assert _comparable(tiller.run_coroutine(tiller.runs.result("t-same", "acme", 0.0))) == _comparable(done)


def _comparable(result: Any) -> dict[str, Any]:
    data = result.model_dump(exclude={"run_id"})
    data["usage"].pop("elapsed_s")
    return data


def test_the_guard_policy_decides_what_a_final_answer_loses_as_a_secret(settings: Settings) -> None:
    """A street number that passes Luhn is a card number by default; a domain whose policy wants
    a card word nearby keeps it in the answer."""
    from agent.checks.policy import GuardPolicies, GuardPolicy

    answer = "It ships to 4539 1488 0343 6467 Main Street."
    default = Tiller(settings, model=ScriptedChatModel([answer]))
    with default as tiller:
        assert "[REDACTED:card_number]" in tiller.ask("where does it ship?").answer
    tuned = GuardPolicies(default=GuardPolicy(card_words_within=30))
    with Tiller(settings, model=ScriptedChatModel([answer]), guard_policies=tuned) as tiller:
        assert tiller.ask("where does it ship?").answer == answer
