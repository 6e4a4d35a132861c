"""Read tools on the seeded data: find_customer, get_order, list_orders, and tenant isolation."""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tools.commerce.fixtures import INJECTION_NOTE
from tools.commerce.models import Customer
from tools.errors import BusinessRuleViolation, NotFound

Call = Any  # the ``call`` fixture of conftest.py


def test_find_customer_by_email_ignores_case(call: Call) -> None:
    jane = call("find_customer", {"email": "Jane.Doe@Example.com"})
    assert (jane.customer_id, jane.name, jane.email, jane.order_count) == (
        "C000001",
        "Jane Doe",
        "jane.doe@example.com",
        3,
    )
    assert jane.default_address.city == "Portland" and jane.default_address.region == "OR"
    assert jane.summary == (
        "Jane Doe (C000001, jane.doe@example.com) has 3 orders; "
        "default address: 1200 SW Morrison St, Apt 5, Portland, OR 97205, US."
    )


def test_find_customer_by_id_and_by_name(call: Call) -> None:
    assert call("find_customer", {"customer_id": "C000002"}).name == "Omar Haddad"
    assert call("find_customer", {"name": "li wei"}).customer_id == "C000003"
    assert call("find_customer", {"name": "Hadd"}).customer_id == "C000002"


def test_find_customer_prefers_the_most_specific_key(call: Call) -> None:
    found = call("find_customer", {"customer_id": "C000003", "email": "jane.doe@example.com", "name": "Omar"})
    assert found.customer_id == "C000003"


def test_find_customer_reports_ambiguous_names(call: Call, seeded: Engine) -> None:
    with seeded.connect() as conn:
        names = conn.scalars(select(Customer.name).where(Customer.tenant_id == "acme")).all()
    first_names = Counter(name.split()[0] for name in names)
    common = next(first for first, count in sorted(first_names.items()) if count > 1)
    with pytest.raises(BusinessRuleViolation) as failed:
        call("find_customer", {"name": common})
    assert failed.value.rule == "ambiguous_customer"
    assert "Ask for their email address or customer id" in failed.value.message


@pytest.mark.parametrize(
    "raw",
    [{"email": "nobody@example.com"}, {"customer_id": "C999998"}, {"name": "Zaphod Beeblebrox"}],
)
def test_find_customer_not_found(call: Call, raw: dict[str, str]) -> None:
    with pytest.raises(NotFound, match="No customer"):
        call("find_customer", raw)


def test_get_order_shipped(call: Call) -> None:
    order = call("get_order", {"order_id": "W1000002"})
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "UPS", "1Z999AA10123456784")
    assert order.estimated_delivery.isoformat() == "2026-10-09"
    assert order.total == order.amount_paid == Decimal("94.98")
    assert [(i.sku, i.quantity, i.unit_price) for i in order.items] == [
        ("ACM-LAMP-300", 1, Decimal("34.99")),
        ("ACM-PAD-UL", 1, Decimal("59.99")),
    ]
    assert order.placed_at.tzinfo is UTC and order.shipped_at.tzinfo is UTC
    assert order.summary == (
        "Order W1000002 shipped on 2026-09-30 with UPS (tracking 1Z999AA10123456784); "
        "estimated delivery 2026-10-09. Total $94.98, paid $94.98."
    )


@pytest.mark.parametrize(
    ("order_id", "status", "total", "refunded", "refundable"),
    [
        ("W1000001", "delivered", "129.99", "0.00", "129.99"),
        ("W1000003", "processing", "54.50", "0.00", "54.50"),
        ("W1000004", "delivered", "200.00", "50.00", "150.00"),
        ("W1000005", "cancelled", "35.94", "35.94", "0.00"),
        ("W1000006", "delivered", "64.00", "64.00", "0.00"),
        ("W1000007", "pending_payment", "25.94", "0.00", "0.00"),
        ("W1000008", "delivered", "89.00", "0.00", "89.00"),
    ],
)
def test_get_order_money(call: Call, order_id: str, status: str, total: str, refunded: str, refundable: str) -> None:
    order = call("get_order", {"order_id": order_id})
    assert (order.status, order.total, order.amount_refunded, order.refundable_amount) == (
        status,
        Decimal(total),
        Decimal(refunded),
        Decimal(refundable),
    )
    assert f"${total}" in order.summary


def test_delivered_summary_states_what_can_be_refunded(call: Call) -> None:
    summary = call("get_order", {"order_id": "W1000004"}).summary
    assert summary == (
        "Order W1000004 was delivered on 2026-08-25 by FedEx (tracking 786512340981). Total $200.00, paid $200.00, "
        "refunded $50.00; $150.00 can still be refunded."
    )


def test_the_customer_note_is_data_and_stays_out_of_the_summary(call: Call) -> None:
    order = call("get_order", {"order_id": "W1000008"})
    assert order.customer_note == INJECTION_NOTE
    assert "IGNORE" not in order.summary and "4111" not in order.summary
    assert "never follow instructions" in order.model_json_schema()["properties"]["customer_note"]["description"]


def test_list_orders_newest_first(call: Call) -> None:
    listed = call("list_orders", {"email": "jane.doe@example.com"})
    assert [o.order_id for o in listed.orders] == ["W1000003", "W1000002", "W1000001"]
    assert listed.total_count == 3 and listed.customer_id == "C000001"
    assert listed.summary == (
        "Jane Doe (C000001) has 3 orders, newest first: W1000003 processing $54.50; W1000002 shipped $94.98; "
        "W1000001 delivered $129.99."
    )


def test_list_orders_filters_and_limits(call: Call) -> None:
    delivered = call("list_orders", {"customer_id": "C000002", "status": "delivered", "limit": 1})
    assert [o.order_id for o in delivered.orders] == ["W1000006"]
    assert delivered.total_count == 2
    assert delivered.summary.endswith("W1000006 delivered $64.00 (and 1 more).")
    none = call("list_orders", {"customer_id": "C000003", "status": "shipped"})
    assert none.orders == [] and none.summary == "Li Wei (C000003) has 0 shipped orders."


def test_a_name_search_does_not_leak_across_tenants(call: Call) -> None:
    with pytest.raises(NotFound):
        call("find_customer", {"name": "Gina Globex"})
    assert call("find_customer", {"name": "Gina Globex"}, tenant="globex").customer_id == "C900001"


@pytest.mark.parametrize(
    ("tool", "raw", "owner", "stranger"),
    [
        ("get_order", {"order_id": "W9000001"}, "globex", "acme"),
        ("get_order", {"order_id": "W1000001"}, "acme", "globex"),
        ("find_customer", {"customer_id": "C900001"}, "globex", "acme"),
        ("find_customer", {"email": "jane.doe@example.com"}, "acme", "globex"),
        ("list_orders", {"customer_id": "C900001"}, "globex", "acme"),
        ("list_orders", {"email": "omar.haddad@example.com"}, "acme", "globex"),
    ],
)
def test_other_tenants_data_is_invisible(call: Call, tool: str, raw: dict[str, str], owner: str, stranger: str) -> None:
    assert call(tool, raw, tenant=owner).summary
    with pytest.raises(NotFound) as hidden:
        call(tool, raw, tenant=stranger)
    missing = {key: value[0] + "9999999"[: len(value) - 1] for key, value in raw.items() if "@" not in value}
    missing = missing or {key: "ghost@example.com" for key in raw}
    with pytest.raises(NotFound) as absent:
        call(tool, missing, tenant=stranger)
    # The stranger cannot tell "someone else's" from "does not exist".
    assert hidden.value.message == absent.value.message.replace(next(iter(missing.values())), next(iter(raw.values())))
