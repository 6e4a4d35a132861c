"""Argument filling of the offline model, from the args JSON schema."""

from __future__ import annotations

from typing import Any

import pytest

from agent.models.offline.args import default_from, fill_args
from agent.models.offline.fields import field_views, pattern_example
from tests.agent.models.fake_domain import SPECS

TOOLS = {spec.name: spec for spec in SPECS}


def fill(tool: str, text: str) -> dict[str, Any]:
    return fill_args(field_views(TOOLS[tool].args_schema()), text).args


def test_pattern_fields_are_found_anywhere_in_the_text() -> None:
    assert fill("get_order", "hi, where's my parcel (order W1000042)?") == {"order_id": "W1000042"}
    assert fill("list_orders", "orders of c123456 please") == {"customer_id": "C123456"}


def test_an_id_that_only_resembles_the_pattern_is_not_taken() -> None:
    filled = fill_args(field_views(TOOLS["get_order"].args_schema()), "order W10000001 or XW1000001")
    assert filled.args == {} and [v.name for v in filled.missing] == ["order_id"]


def test_two_different_ids_for_one_field_are_ambiguous() -> None:
    filled = fill_args(field_views(TOOLS["cancel_order"].args_schema()), "cancel W1000001 and W1000002")
    assert filled.ambiguous == {"order_id": ["W1000001", "W1000002"]}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("W1000001 arrived damaged", "damaged"),
        ("W1000001: I didn't receive it", "not_received"),
        ("W1000001 never arrived", "not_received"),  # an x-aliases phrase
        ("you sent me the wrong item in W1000001", "wrong_item"),
        ("I changed my mind about W1000001", "changed_mind"),
        ("the lamp from W1000001 is broken", "damaged"),
    ],
)
def test_enum_values_are_read_from_word_forms(text: str, reason: str) -> None:
    assert fill("issue_refund", text)["reason"] == reason


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("refund $42 on W1000001, damaged", "42"),
        ("refund 42.50 dollars for W1000001, damaged", "42.50"),
        ("W1000001 was damaged, refund 20", "20"),
        ("damaged W1000001: give back €1,250.00", "1250.00"),
    ],
)
def test_amounts_are_read_as_exact_decimal_strings(text: str, amount: str) -> None:
    assert fill("issue_refund", text)["amount"] == amount


def test_numbers_inside_ids_or_unrelated_to_money_are_not_amounts() -> None:
    assert "amount" not in fill("issue_refund", "W1000001 arrived 3 days late and damaged")


def test_optional_fields_without_a_value_in_the_text_are_left_out() -> None:
    assert fill("issue_refund", "refund W1000001, damaged") == {"order_id": "W1000001", "reason": "damaged"}
    assert fill("search_knowledge_base", "what is your return policy?") == {"query": "what is your return policy?"}


def test_free_text_fields_take_a_phrase_from_the_request() -> None:
    args = fill("create_ticket", "My order W1000003 arrived late. I want to talk to a human about it")
    assert args == {
        "subject": "My order W1000003 arrived late.",
        "description": "My order W1000003 arrived late. I want to talk to a human about it",
        "order_id": "W1000003",
    }
    assert fill("cancel_order", "cancel W1000001 because I ordered the wrong size")["reason"] == (
        "I ordered the wrong size"
    )


def test_address_fields_are_read_from_one_address() -> None:
    args = fill("update_shipping_address", "ship W1000001 to 500 Pine St, Portland, 97201 please")
    assert args == {"order_id": "W1000001", "line1": "500 Pine St", "city": "Portland", "postal_code": "97201"}


def test_any_field_can_be_given_as_name_and_value() -> None:
    args = fill("update_shipping_address", "W1000001 line1: 5 Main St, city: Springfield, postal code: 12345")
    assert args == {"order_id": "W1000001", "line1": "5 Main St", "city": "Springfield", "postal_code": "12345"}


def test_default_from_takes_the_value_typed_for_the_field() -> None:
    [amount] = [v for v in field_views(TOOLS["issue_refund"].args_schema()) if v.name == "amount"]
    assert amount.default_from == "refundable_amount"
    assert default_from(amount, {"refundable_amount": "42.00", "status": "delivered"}) == "42.00"
    assert default_from(amount, {"status": "delivered"}) is None


@pytest.mark.parametrize(
    ("pattern", "example"),
    [(r"^W\d{7}$", "W1234567"), (r"^C\d{6}$", "C123456"), (r"^[A-Z]{2}-\d+$", "AA-123"), (r"^(a|b)$", None)],
)
def test_questions_get_an_example_built_from_the_pattern(pattern: str, example: str | None) -> None:
    assert pattern_example(pattern) == example
