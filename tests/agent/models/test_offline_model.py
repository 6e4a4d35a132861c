"""The offline model end to end: conversations driven with real tool schemas and envelopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agent.models import OfflineChatModel
from tests.agent.models.conftest import Chat
from tests.agent.models.fake_domain import SPECS
from tools.envelope import tool_result_message

ORDER = {"order_id": "W1000001", "status": "delivered", "total": "42.00", "refundable_amount": "42.00"}
REFUNDED = {"refund_id": "R000001", "amount": "42.00", "summary": "Refunded 42.00 to the original card for W1000001."}
PASSAGES = {
    "passages": [
        {
            "doc_id": "returns-policy",
            "chunk_id": "returns-policy#2",
            "title": "Returns",
            "text": "## Return window\nYou can return most items within 30 days of delivery. "
            "Items must be unused. Refunds go to the original payment method.",
            "score": 3.2,
        },
        {
            "doc_id": "shipping",
            "chunk_id": "3",
            "title": "Shipping",
            "text": "Standard shipping takes 3-5 days. Return shipping is free for damaged items.",
            "score": 1.4,
        },
    ]
}


def meta(reply: AIMessage) -> dict[str, Any]:
    return reply.response_metadata["tiller_offline"]


def test_a_refund_looks_the_order_up_first_then_refunds_the_refundable_amount(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ORDER, "issue_refund": REFUNDED})
    answer = talk.say("Refund order W1000001, it arrived damaged")
    assert talk.calls == [
        ("get_order", {"order_id": "W1000001"}),
        ("issue_refund", {"order_id": "W1000001", "reason": "damaged", "amount": "42.00"}),
    ]
    assert answer.content == REFUNDED["summary"]
    assert meta(answer) == {"kind": "answer", "tool": "issue_refund", "confident": True}


def test_an_amount_the_user_gives_wins_over_the_default(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ORDER, "issue_refund": REFUNDED})
    talk.say("please refund $20 on W1000001, wrong item")
    assert talk.calls[-1] == ("issue_refund", {"order_id": "W1000001", "reason": "wrong_item", "amount": "20"})


def test_a_lookup_that_already_succeeded_in_the_conversation_is_not_repeated(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ORDER, "issue_refund": REFUNDED})
    talk.say("where is my order W1000001?")
    talk.say("ok, refund it please, it was damaged")
    assert [name for name, _ in talk.calls] == ["get_order", "issue_refund"]
    assert talk.calls[-1][1] == {"order_id": "W1000001", "reason": "damaged", "amount": "42.00"}


def test_a_failed_lookup_is_explained_and_the_action_never_called(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ("not_found", "No order W1000009 in your account.")})
    answer = talk.say("refund W1000009, damaged")
    assert [name for name, _ in talk.calls] == ["get_order"]
    assert answer.content == "I couldn't get the order: No order W1000009 in your account."


def test_a_missing_argument_gets_a_question_and_the_reply_completes_the_request(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ORDER, "issue_refund": REFUNDED})
    question = talk.say("I want a refund for my order, it arrived damaged")
    assert question.content == "Which order do you mean? Please give the order number, e.g. W1234567."
    assert meta(question)["kind"] == "clarify" and not talk.calls
    answer = talk.say("W1000001")
    assert talk.calls[-1] == ("issue_refund", {"order_id": "W1000001", "reason": "damaged", "amount": "42.00"})
    assert answer.content == REFUNDED["summary"]


def test_clarifying_questions_chain_until_the_request_is_complete(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ORDER, "issue_refund": REFUNDED})
    assert "Which order" in str(talk.say("refund my order").content)
    assert str(talk.say("it's W1000001").content).startswith("What is the reason? Please choose one of: damaged,")
    talk.say("it never arrived")
    assert talk.calls[-1][1]["reason"] == "not_received"


def test_a_new_request_after_a_question_replaces_the_pending_one(chat: Callable[..., Chat]) -> None:
    talk = chat({"cancel_order": {"order_id": "W1000002", "status": "cancelled"}})
    talk.say("refund my order")
    talk.say("actually, please cancel order W1000002 instead")
    assert talk.calls == [("cancel_order", {"order_id": "W1000002"})]


def test_business_rule_errors_are_explained_with_their_message(chat: Callable[..., Chat]) -> None:
    talk = chat({"cancel_order": ("business_rule", "Order W1000002 has shipped and cannot be cancelled.")})
    answer = talk.say("cancel W1000002 please")
    assert answer.content == "I can't cancel the order: Order W1000002 has shipped and cannot be cancelled."


def test_a_reviewer_rejection_tells_the_customer_only_the_message_meant_for_them(chat: Callable[..., Chat]) -> None:
    # The envelope's message is the runtime's instruction to the model: never read out as it is.
    refused = (
        "rejected",
        "issue_refund was not run: a reviewer declined it. Tell the customer…",
        "We refunded you by phone.",
    )
    talk = chat({"get_order": ORDER, "issue_refund": refused})
    answer = talk.say("refund W1000001, damaged")
    assert answer.content == "I'm sorry, I did not issue the refund: a reviewer declined it. We refunded you by phone."


def test_a_reviewer_rejection_without_a_message_offers_help(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ORDER, "issue_refund": ("rejected", "issue_refund was not run: a reviewer declined it.")})
    answer = talk.say("refund W1000001, damaged").content
    assert answer.startswith("I'm sorry, I did not issue the refund: a reviewer declined it.")
    assert "was not run" not in answer and "ticket" in answer


def test_a_policy_denial_is_explained(chat: Callable[..., Chat]) -> None:
    talk = chat({"cancel_order": ("denied", "Cancelling is disabled for your role.")})
    assert talk.say("cancel W1000002").content == (
        "I can't cancel the order: it is not allowed by policy. Cancelling is disabled for your role."
    )


def test_a_reviewer_note_is_mentioned(schemas: list[dict[str, Any]]) -> None:
    model = OfflineChatModel().bind_tools(schemas)
    messages = [HumanMessage("cancel W1000002")]
    call = model.invoke(messages)
    note = "A reviewer changed order_id from W1000002 to W1000003."
    messages += [call, tool_result_message("cancel_order", call.tool_calls[0]["id"], {"summary": "Cancelled."}, note)]
    assert model.invoke(messages).content == f"Cancelled. Note: {note}"


def test_results_without_a_summary_are_rendered_from_their_fields(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": {**ORDER, "items": [{"sku": "A"}, {"sku": "B"}], "shipping_address": {"city": "X"}}})
    answer = talk.say("what's the status of order W1000001?")
    assert answer.content == (
        "Result of get order — order id: W1000001; status: delivered; total: 42.00; refundable amount: 42.00; "
        "items: 2 entries."
    )


def test_policy_questions_are_answered_from_passages_with_citations(chat: Callable[..., Chat]) -> None:
    talk = chat({"search_knowledge_base": PASSAGES})
    answer = talk.say("How long do I have to return an item?")
    assert talk.calls == [("search_knowledge_base", {"query": "How long do I have to return an item?"})]
    assert (
        answer.content
        == "You can return most items within 30 days of delivery. Items must be unused. [returns-policy#2]"
    )


def test_the_sentence_with_the_facts_comes_with_the_one_naming_the_topic(chat: Callable[..., Chat]) -> None:
    passage = {
        "doc_id": "returns-policy",
        "chunk_id": "returns-policy#2",
        "title": "Returns",
        "text": "GPS units and headlamps have a shorter window: 15 days from delivery.\n"
        "The full rules are in our electronics returns policy.",
        "score": 1.0,
    }
    talk = chat({"search_knowledge_base": {"passages": [passage]}})
    answer = talk.say("what is the return policy for electronics?")
    assert answer.content == (
        "GPS units and headlamps have a shorter window: 15 days from delivery. "
        "The full rules are in our electronics returns policy. [returns-policy#2]"
    )


def test_passages_that_do_not_answer_the_question_lead_to_an_honest_refusal(chat: Callable[..., Chat]) -> None:
    talk = chat({"search_knowledge_base": PASSAGES})
    answer = talk.say("Do you sell gift wrapping?")
    assert answer.content.startswith("I can't help with that request on my own")
    assert "support ticket" in str(answer.content) and meta(answer)["confident"] is False


def test_two_actions_in_one_message_are_declined_with_an_escalation_offer(chat: Callable[..., Chat]) -> None:
    talk = chat({"create_ticket": {"ticket_id": "T000001", "summary": "Opened ticket T000001."}})
    answer = talk.say("cancel W1000001 and refund W1000002")
    assert answer.content == (
        "I can't help with that request on my own: I can only do one thing per message, and this asks me to "
        "cancel the order and issue the refund. I can create a support ticket for a human agent; just say yes."
    )
    assert not talk.calls and meta(answer)["confident"] is False
    assert talk.say("yes please").content == "Opened ticket T000001."
    assert talk.calls == [
        (
            "create_ticket",
            {
                "subject": "cancel W1000001 and refund W1000002",
                "description": "cancel W1000001 and refund W1000002",
            },
        )
    ]


def test_without_a_ticket_tool_the_refusal_points_to_a_human(schemas: list[dict[str, Any]]) -> None:
    model = OfflineChatModel().bind_tools([s for s in schemas if s["function"]["name"] != "create_ticket"])
    answer = model.invoke([HumanMessage("cancel W1000001 and refund W1000002")])
    assert str(answer.content).endswith("cancel the order and issue the refund. Please contact a human agent.")


def test_with_tools_off_it_summarises_what_it_found_and_says_it_stopped(schemas: list[dict[str, Any]]) -> None:
    messages = [HumanMessage("Refund order W1000001, it arrived damaged")]
    lookup = OfflineChatModel().bind_tools(schemas).invoke(messages)
    messages += [lookup, tool_result_message("get_order", lookup.tool_calls[0]["id"], ORDER)]
    answer = OfflineChatModel().invoke(messages)
    assert not answer.tool_calls
    assert answer.content == (
        "I had to stop before finishing your request. Here is what I found so far:\n"
        "- Result of get order — order id: W1000001; status: delivered; total: 42.00; refundable amount: 42.00."
    )
    assert meta(answer)["kind"] == "summary"


def test_with_tools_off_and_no_results_it_says_so() -> None:
    answer = OfflineChatModel().invoke([HumanMessage("refund W1000001")])
    assert answer.content == "I had to stop before finishing your request, and I have no results to report yet."


def test_same_conversation_same_reply_including_call_ids(schemas: list[dict[str, Any]]) -> None:
    messages = [HumanMessage("refund W1000001, damaged")]
    first = OfflineChatModel().bind_tools(schemas).invoke(messages)
    second = OfflineChatModel().bind_tools(list(schemas)).invoke(list(messages))
    assert first.tool_calls == second.tool_calls
    assert first.tool_calls[0]["id"].startswith("call_") and first.content == second.content


def test_call_ids_differ_between_positions_in_a_conversation(chat: Callable[..., Chat]) -> None:
    talk = chat({"get_order": ORDER, "issue_refund": REFUNDED})
    talk.say("refund W1000001, damaged")
    ids = [c["id"] for m in talk.messages if isinstance(m, AIMessage) for c in m.tool_calls]
    assert len(ids) == len(set(ids)) == 2


def test_replies_carry_estimated_usage(schemas: list[dict[str, Any]]) -> None:
    reply = OfflineChatModel().bind_tools(schemas).invoke([HumanMessage("cancel W1000002")])
    usage = reply.usage_metadata
    assert usage is not None and usage["input_tokens"] > 100 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_tool_specs_and_plain_openai_dicts_bind_alike(schemas: list[dict[str, Any]]) -> None:
    messages = [HumanMessage("cancel order W1000002")]
    from_specs = OfflineChatModel().bind_tools(list(SPECS)).invoke(messages)
    plain = [{"type": "function", "function": s["function"]} for s in schemas]
    from_plain = OfflineChatModel().bind_tools(plain).invoke(messages)
    assert (
        from_specs.tool_calls
        == from_plain.tool_calls
        == [
            {
                "name": "cancel_order",
                "args": {"order_id": "W1000002"},
                "id": from_specs.tool_calls[0]["id"],
                "type": "tool_call",
            }
        ]
    )


def test_greetings_get_a_short_list_of_what_it_can_do(schemas: list[dict[str, Any]]) -> None:
    reply = OfflineChatModel().bind_tools(schemas).invoke([HumanMessage("hello")])
    assert str(reply.content).startswith("Hello! I can help with: get order, list orders, cancel order")
