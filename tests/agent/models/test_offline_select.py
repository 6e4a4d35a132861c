"""Tool selection of the offline model: which tool a request is for."""

from __future__ import annotations

from typing import Any

import pytest

from agent.models import examples_leave_one_out
from agent.models.offline.select import choose_intent, tool_infos


def intent_of(schemas: list[dict[str, Any]], text: str) -> tuple[str, str | None]:
    intent = choose_intent(tool_infos(schemas), text)
    return intent.kind, intent.tool.name if intent.tool else None


def test_every_example_left_out_still_selects_its_tool(schemas: list[dict[str, Any]]) -> None:
    assert examples_leave_one_out(schemas) == []


def test_leave_one_out_flags_an_example_that_points_at_another_tool(schemas: list[dict[str, Any]]) -> None:
    refund = schemas[3]
    misleading = [*refund["x-tiller"]["examples"], "show all my recent purchases"]
    schemas[3] = {**refund, "x-tiller": {**refund["x-tiller"], "examples": misleading}}
    misses = examples_leave_one_out(schemas)
    assert ("issue_refund", "show all my recent purchases", "list_orders") in [
        (m.tool, m.example, m.selected) for m in misses
    ]


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("I need a refund for W1000009, the item was broken", "issue_refund"),
        ("my order never arrived, I want my money back", "issue_refund"),
        ("I'd like a refund please", "issue_refund"),
        ("please cancel W1000005", "cancel_order"),
        ("can you send order W1000001 to my new address", "update_shipping_address"),
        ("change the address on my order", "update_shipping_address"),
        ("show orders for C123456", "list_orders"),
        ("where is my order W1000001", "get_order"),
        ("What's the status of my order?", "get_order"),
        ("has my order shipped yet", "get_order"),
        ("open a support ticket please", "create_ticket"),
    ],
)
def test_selects_the_tool_for_varied_phrasings(schemas: list[dict[str, Any]], text: str, tool: str) -> None:
    assert intent_of(schemas, text) == ("tool", tool)


@pytest.mark.parametrize(
    "text",
    [
        "what is the refund policy",
        "How do I return my item?",
        "can I return a damaged item?",
        "how long does shipping take",
        "do you ship internationally?",
    ],
)
def test_general_questions_go_to_the_knowledge_base(schemas: list[dict[str, Any]], text: str) -> None:
    assert intent_of(schemas, text) == ("knowledge", "search_knowledge_base")


def test_a_bare_id_is_looked_up_but_not_confidently(schemas: list[dict[str, Any]]) -> None:
    intent = choose_intent(tool_infos(schemas), "W1000001")
    assert (intent.kind, intent.tool and intent.tool.name, intent.confident) == ("tool", "get_order", False)


def test_two_actions_in_one_message_are_flagged(schemas: list[dict[str, Any]]) -> None:
    intent = choose_intent(tool_infos(schemas), "cancel W1000001 and refund W1000002")
    assert (intent.kind, intent.others) == ("multiple", ("cancel_order", "issue_refund"))


def test_a_lookup_then_its_action_is_one_intent(schemas: list[dict[str, Any]]) -> None:
    assert intent_of(schemas, "look up order W1000001 and then refund it, it was damaged") == ("tool", "issue_refund")


@pytest.mark.parametrize("text", ["tell me a joke", "book a flight to Paris"])
def test_unrelated_requests_match_no_tool(schemas: list[dict[str, Any]], text: str) -> None:
    without_search = [s for s in schemas if s["function"]["name"] != "search_knowledge_base"]
    assert intent_of(without_search, text) == ("unknown", None)
    # With a knowledge base bound, it is searched (not confidently): the answer decides.
    intent = choose_intent(tool_infos(schemas), text)
    assert (intent.kind, intent.confident) == ("knowledge", False)


def test_a_problem_statement_is_no_request_to_act(schemas: list[dict[str, Any]]) -> None:
    intent = choose_intent(tool_infos(schemas), "my jacket does not keep the rain out anymore")
    assert (intent.kind, intent.confident) == ("knowledge", False)


@pytest.mark.parametrize("text", ["hi", "Hello!", "thanks", "thank you so much"])
def test_greetings_and_thanks_are_smalltalk(schemas: list[dict[str, Any]], text: str) -> None:
    assert intent_of(schemas, text) == ("smalltalk", None)


def test_plain_openai_function_dicts_work_without_extensions(schemas: list[dict[str, Any]]) -> None:
    plain = [{"type": "function", "function": s["function"]} for s in schemas]
    assert intent_of(plain, "please cancel order W1000005") == ("tool", "cancel_order")
