"""Output validation in finalize: answers must match this conversation's tool results."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.checks import GuardPolicy
from agent.checks.answer import check_answer
from agent.checks.evidence import gather_evidence
from agent.config import Settings
from agent.loop.events import GuardEvent, RunEvent
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tests.safety.policy_runtime import PolicyTiller
from tools.domain import load_domain
from tools.envelope import tool_result_message

VOCABULARY = load_domain("commerce").vocabulary  # the shop's ids and statuses

ORDER = {
    "order_id": "W1000002",
    "status": "shipped",
    "customer_id": "C000001",
    "total": "59.48",
    "amount_paid": "59.48",
    "shipped_at": "2026-09-30T17:45:00Z",
    "estimated_delivery": "2026-10-09",
    "summary": "Order W1000002 shipped on 2026-09-30 with UPS (tracking 1Z999AA10123456784).",
}
KB = {
    "passages": [{"doc_id": "returns-policy", "chunk_id": "returns-policy#1", "title": "Returns", "text": "30 days."}]
}


def _evidence(*results: dict[str, Any], user: str = "where is W1000002?"):
    messages: list[BaseMessage] = [HumanMessage(user)]
    messages += [tool_result_message("tool", f"c{i}", r) for i, r in enumerate(results)]
    return gather_evidence(messages, VOCABULARY)


def _kinds(answer: str, *results: dict[str, Any]) -> list[str]:
    return [p.kind for p in check_answer(answer, _evidence(*results), VOCABULARY)]


@pytest.mark.parametrize(
    "answer",
    [
        "Order W1000002 shipped on 2026-09-30 with UPS and should arrive by October 9, 2026.",
        "Order W1000002 has shipped; you paid $59.48.",
        "Please give me your order number (e.g. W1000001) so I can look it up.",
        "Returns are accepted for 30 days [returns-policy#1].",
        "I can't cancel order W1000002: it is not allowed by policy.",
    ],
)
def test_answers_true_to_the_tool_results_pass(answer: str) -> None:
    assert _kinds(answer, ORDER, KB) == []


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("Order W1000002 was delivered yesterday.", "record_fact"),
        ("Order W1000002 cost $64.00.", "record_fact"),
        ("Order W1000002 will arrive on 2026-10-12.", "record_fact"),
        ("Your other order W9000001 was delivered too.", "foreign_data"),
        ("I've also emailed gina@globex.example about it.", "foreign_data"),
        ("Returns are accepted for 60 days [returns-policy#3].", "unknown_citation"),
        ("According to our returns policy, you have 60 days.", "uncited_policy"),
        ("   ", "empty"),
    ],
)
def test_answers_that_contradict_or_exceed_the_evidence_fail(answer: str, kind: str) -> None:
    assert kind in _kinds(answer, ORDER, KB)


def test_the_latest_result_decides_an_orders_status() -> None:
    cancelled = {"order_id": "W1000002", "status": "cancelled", "summary": "Order W1000002 is cancelled."}
    assert _kinds("Order W1000002 is cancelled.", ORDER, cancelled) == []


def _lookup_then(*answers: str) -> ScriptedChatModel:
    return ScriptedChatModel([{"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000002"}}]}, *answers])


def test_a_wrong_answer_is_repaired_once_with_the_reasons(settings: Settings) -> None:
    model = _lookup_then("Order W1000002 was delivered on 2026-10-02.", "Order W1000002 shipped on 2026-09-30.")
    events: list[RunEvent] = []
    with Tiller(settings, model=model) as tiller:
        result = tiller.ask("where is W1000002?", on_event=events.append)
    assert result.status is RunStatus.COMPLETED and result.answer == "Order W1000002 shipped on 2026-09-30."
    note = model.calls[-1].messages[-1]
    assert isinstance(note, SystemMessage) and "is said to be delivered, but its status is shipped" in note.text
    verdicts = [e.verdict for e in events if isinstance(e, GuardEvent) and e.stage == "output"]
    assert verdicts == ["repair (record_fact)", "allow"]


def test_an_answer_that_fails_twice_is_replaced_by_a_safe_one(settings: Settings) -> None:
    model = _lookup_then("Order W1000002 was delivered.", "Order W9000001 was delivered.")
    events: list[RunEvent] = []
    with Tiller(settings, model=model) as tiller:
        result = tiller.ask("where is W1000002?", on_event=events.append)
        history = tiller.messages(result.thread_id)
    assert result.status is RunStatus.COMPLETED
    assert result.answer.startswith("I'm sorry — I couldn't put together an answer")
    assert "Order W1000002 shipped on 2026-09-30 with UPS" in result.answer  # the tool's own summary
    assert "W9000001" not in result.answer and isinstance(history[-1], AIMessage)
    assert [e.verdict for e in events if isinstance(e, GuardEvent) and e.stage == "output"] == [
        "repair (record_fact)",
        "fallback (foreign_data)",
    ]


def test_policy_fallback_skips_the_repair_and_flag_only_reports(settings: Settings) -> None:
    with PolicyTiller(
        settings, model=_lookup_then("W1000002 is delivered."), guard_policy=GuardPolicy(output_checks="fallback")
    ) as tiller:
        fallback = tiller.ask("where is W1000002?")
    assert fallback.answer.startswith("I'm sorry") and fallback.usage.steps == 2
    with PolicyTiller(
        settings, model=_lookup_then("W1000002 is delivered."), guard_policy=GuardPolicy(output_checks="flag")
    ) as tiller:
        flagged = tiller.ask("where is W1000002?")
    assert flagged.answer == "W1000002 is delivered."


def test_secrets_never_leave_in_an_answer(settings: Settings) -> None:
    with Tiller(settings, model=_lookup_then("Shipped. Your key is sk-abcdefghijklmnopqrstuvwx.")) as tiller:
        result = tiller.ask("where is W1000002?")
    assert result.answer == "Shipped. Your key is [REDACTED:api_key]."


def test_an_empty_answer_is_repaired(settings: Settings) -> None:
    with Tiller(settings, model=_lookup_then("", "Order W1000002 shipped with UPS.")) as tiller:
        result = tiller.ask("where is W1000002?")
    assert result.status is RunStatus.COMPLETED and result.answer == "Order W1000002 shipped with UPS."
