"""How the commerce tools are declared and how their arguments are validated."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from tools.commerce import commerce_tools
from tools.commerce.queries import translate_db_errors
from tools.commerce.schema import from_cents, money, to_cents
from tools.contract import Risk, ToolContext
from tools.errors import ArgumentsInvalid, ToolUnavailable
from tools.registry import ToolRegistry
from tools.validation import validate_args

SPECS = {spec.name: spec for spec in commerce_tools()}


def test_the_tool_set_and_its_risks() -> None:
    declared = {name: (spec.risk, spec.idempotent, spec.lookup_first) for name, spec in SPECS.items()}
    assert declared == {
        "find_customer": (Risk.READ, True, None),
        "get_order": (Risk.READ, True, None),
        "list_orders": (Risk.READ, True, None),
        "create_ticket": (Risk.WRITE, False, None),
        "update_shipping_address": (Risk.WRITE, False, None),
        "cancel_order": (Risk.HIGH_RISK, False, "get_order"),
        "issue_refund": (Risk.HIGH_RISK, False, "get_order"),
    }


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_tool_is_described_for_the_model(name: str) -> None:
    spec = SPECS[name]
    assert len(spec.description) > 80 and "\n" in spec.description  # a summary line and guidance
    assert 3 <= len(spec.examples) <= 6
    schema = spec.args_schema()
    assert schema["additionalProperties"] is False
    for field, prop in schema["properties"].items():
        assert prop.get("description"), f"{name}.{field} has no description"
    assert "summary" in spec.result_model.model_fields
    for field, info in spec.result_model.model_fields.items():
        assert info.description, f"{name} result field {field} has no description"
    json.dumps(spec.model_schema())  # JSON-able as sent to a model


def test_registry_accepts_the_tool_set() -> None:
    registry = ToolRegistry(commerce_tools())
    assert registry.names == list(SPECS)


def test_refund_amount_defaults_from_the_lookup() -> None:
    amount = SPECS["issue_refund"].args_schema()["properties"]["amount"]
    assert amount["x-default-from"] == "refundable_amount"
    assert SPECS["issue_refund"].args_schema()["$defs"]["RefundReason"]["enum"] == [
        "damaged",
        "not_received",
        "wrong_item",
        "changed_mind",
        "other",
    ]


def _problems(tool: str, raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ArgumentsInvalid) as failed:
        validate_args(SPECS[tool], raw)
    return [p.field for p in failed.value.problems]


@pytest.mark.parametrize(
    ("tool", "raw", "field"),
    [
        ("get_order", {"order_id": "1000001"}, "order_id"),
        ("get_order", {"order_id": "W100000"}, "order_id"),
        ("get_order", {"order_id": "W1000001", "tenant_id": "globex"}, ""),
        ("find_customer", {"email": "jane.doe"}, "email"),
        ("find_customer", {"customer_id": "C1"}, "customer_id"),
        ("list_orders", {"customer_id": "C000001", "limit": 51}, "limit"),
        ("list_orders", {"customer_id": "C000001", "status": "lost"}, "status"),
        ("create_ticket", {"subject": "Hi", "body": "x"}, "subject"),
        ("create_ticket", {"subject": "Help", "body": "x", "priority": "asap"}, "priority"),
        ("update_shipping_address", {"order_id": "W1000003", "line1": "1 Main St", "city": "Portland",
                                     "region": "OR", "postal_code": "97201", "country": "usa"}, "country"),
        ("cancel_order", {"order_id": "W1000003", "reason": "no"}, "reason"),
        ("issue_refund", {"order_id": "W1000001", "amount": 0, "reason": "damaged"}, "amount"),
        ("issue_refund", {"order_id": "W1000001", "amount": -5, "reason": "damaged"}, "amount"),
        ("issue_refund", {"order_id": "W1000001", "amount": "1.234", "reason": "damaged"}, "amount"),
        ("issue_refund", {"order_id": "W1000001", "amount": "12345678901", "reason": "damaged"}, "amount"),
        ("issue_refund", {"order_id": "W1000001", "amount": 10, "reason": "because"}, "reason"),
    ],
)  # fmt: skip
def test_invalid_arguments_name_the_field(tool: str, raw: dict[str, Any], field: str) -> None:
    assert field in _problems(tool, raw)


@pytest.mark.parametrize("tool", ["find_customer", "list_orders"])
def test_a_customer_key_is_required(tool: str) -> None:
    with pytest.raises(ArgumentsInvalid, match="customer_id"):
        validate_args(SPECS[tool], {})


def test_valid_arguments_are_typed() -> None:
    args: Any = validate_args(SPECS["issue_refund"], {"order_id": "W1000001", "amount": 129.99, "reason": "damaged"})
    assert args.amount == Decimal("129.99")
    listed: Any = validate_args(SPECS["list_orders"], {"email": "jane.doe@example.com"})
    assert (listed.limit, listed.status) == (10, None)
    ticket: Any = validate_args(SPECS["create_ticket"], {"subject": "Late parcel", "body": "Where is it?"})
    assert ticket.priority == "normal"


def test_money_conversions() -> None:
    assert to_cents(Decimal("129.99")) == 12999
    assert to_cents(Decimal("0.01")) == 1
    assert from_cents(5450) == Decimal("54.50")
    assert str(from_cents(0)) == "0.00"
    assert money(123456) == "$1234.56"


def test_database_errors_become_retryable_tool_errors() -> None:
    class Nothing(BaseModel):
        pass

    @translate_db_errors
    def locked(ctx: ToolContext, args: Nothing) -> Nothing:
        raise OperationalError("UPDATE orders", {}, Exception("database is locked"))

    with pytest.raises(ToolUnavailable, match="try again") as failed:
        locked(None, Nothing())  # type: ignore[arg-type]
    assert isinstance(failed.value.__cause__, OperationalError)
