"""Write tools: their business rules and messages, refund arithmetic, audit rows, isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tools.commerce import commerce_tools
from tools.commerce.models import AuditEntry, Order, Refund, Ticket
from tools.contract import ToolContext
from tools.db import transaction
from tools.errors import BusinessRuleViolation, NotFound
from tools.validation import validate_args

pytestmark = pytest.mark.usefixtures("writable")

Call = Any  # the ``call`` fixture of conftest.py
NEW_ADDRESS = {"line1": "500 Pine St", "city": "Portland", "region": "OR", "postal_code": "97201", "country": "US"}


def _audit(engine: Engine, **where: str) -> list[Any]:
    with engine.connect() as conn:
        stmt = select(AuditEntry.__table__).order_by(AuditEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        return list(conn.execute(stmt).all())


def _refunds(engine: Engine, order_id: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Refund.__table__).join(Order, Order.id == Refund.order_id).where(Order.public_id == order_id)
            ).all()
        )


def _broken_rule(call: Call, tool: str, raw: dict[str, Any]) -> BusinessRuleViolation:
    with pytest.raises(BusinessRuleViolation) as failed:
        call(tool, raw)
    return failed.value


# --- create_ticket -------------------------------------------------------------------------


def test_create_ticket_about_an_order(call: Call, seeded: Engine) -> None:
    with seeded.connect() as conn:
        last = conn.scalar(select(func.max(Ticket.public_id)).where(Ticket.tenant_id == "acme"))
    assert last is not None
    expected = f"T{int(last[1:]) + 1:06d}"  # after the seeded tickets (T100001 and the bulk ones)
    made = call(
        "create_ticket",
        {"subject": "Parcel is late", "body": "Still not here.", "order_id": "W1000002", "priority": "high"},
        tool_call_id="call-7",
    )
    assert made.ticket_id == expected
    assert made.summary == f"Opened ticket {expected} (high priority) about order W1000002; a colleague follows up."
    with seeded.connect() as conn:
        ticket = conn.execute(select(Ticket.__table__).where(Ticket.public_id == made.ticket_id)).one()
        order = conn.execute(select(Order.id, Order.customer_id).where(Order.public_id == "W1000002")).one()
    assert (ticket.order_id, ticket.customer_id) == (order.id, order.customer_id)
    assert (ticket.status, ticket.priority, ticket.created_by, ticket.tenant_id) == (
        "open",
        "high",
        "agent.demo",
        "acme",
    )
    [entry] = _audit(seeded, entity=f"ticket:{made.ticket_id}")
    assert (entry.action, entry.actor, entry.thread_id, entry.tool_call_id) == (
        "create_ticket",
        "agent.demo",
        "t1",
        "call-7",
    )
    assert entry.details == {"order_id": "W1000002", "priority": "high", "subject": "Parcel is late"}


def test_ticket_ids_count_up_per_tenant(call: Call) -> None:
    first = call("create_ticket", {"subject": "Question", "body": "About sizes"})
    second = call("create_ticket", {"subject": "Question", "body": "About colours"})
    globex = call("create_ticket", {"subject": "Invoice", "body": "Need a copy"}, tenant="globex")
    assert int(second.ticket_id[1:]) == int(first.ticket_id[1:]) + 1
    assert first.order_id is None and first.priority == "normal"
    assert globex.ticket_id.startswith("T9")


def test_create_ticket_for_an_unknown_order_creates_nothing(call: Call, seeded: Engine) -> None:
    with seeded.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(Ticket))
    with pytest.raises(NotFound):
        call("create_ticket", {"subject": "Where is it", "body": "?", "order_id": "W9000001"})
    with seeded.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Ticket)) == before
    assert _audit(seeded) == []


# --- update_shipping_address ---------------------------------------------------------------


@pytest.mark.parametrize("order_id", ["W1000003", "W1000007"])
def test_address_changes_before_shipping(call: Call, seeded: Engine, order_id: str) -> None:
    old = call("get_order", {"order_id": order_id}).shipping_address
    changed = call("update_shipping_address", {"order_id": order_id, **NEW_ADDRESS, "line2": "Suite 3"})
    assert changed.summary.endswith("will now ship to 500 Pine St, Suite 3, Portland, OR 97201, US.")
    assert call("get_order", {"order_id": order_id}).shipping_address == changed.shipping_address
    [entry] = _audit(seeded, entity=f"order:{order_id}")
    assert entry.action == "update_shipping_address"
    assert entry.details["before"] == old.model_dump() and entry.details["after"]["line2"] == "Suite 3"


def test_address_of_a_shipped_order_is_fixed(call: Call, seeded: Engine) -> None:
    broken = _broken_rule(call, "update_shipping_address", {"order_id": "W1000002", **NEW_ADDRESS})
    assert broken.rule == "order_already_shipped"
    assert broken.message == (
        "Order W1000002 has already shipped (status: shipped) and its shipping address can no longer be changed; "
        "the customer can ask the carrier (UPS, tracking 1Z999AA10123456784) to redirect the parcel."
    )
    assert call("get_order", {"order_id": "W1000002"}).shipping_address.line1 == "1200 SW Morrison St"
    assert _audit(seeded) == []


@pytest.mark.parametrize(
    ("order_id", "rule"), [("W1000001", "order_already_shipped"), ("W1000005", "order_already_cancelled")]
)
def test_address_of_delivered_or_cancelled_orders_is_fixed(call: Call, order_id: str, rule: str) -> None:
    broken = _broken_rule(call, "update_shipping_address", {"order_id": order_id, **NEW_ADDRESS})
    assert broken.rule == rule and order_id in broken.message


# --- cancel_order --------------------------------------------------------------------------


def test_cancelling_a_paid_order_refunds_it(call: Call, seeded: Engine) -> None:
    started = datetime.now(UTC)
    cancelled = call("cancel_order", {"order_id": "W1000003", "reason": "Ordered twice"})
    assert (cancelled.status, cancelled.refunded_amount) == ("cancelled", Decimal("54.50"))
    assert cancelled.summary == (
        f"Order W1000003 is cancelled; its payment of $54.50 was refunded to the Visa card ending 4242 "
        f"(refund {cancelled.refund_id})."
    )
    [refund] = _refunds(seeded, "W1000003")
    assert (refund.public_id, refund.amount_cents, refund.reason) == (cancelled.refund_id, 5450, "order_cancelled")
    assert refund.payment_id is not None and refund.created_by == "agent.demo"
    order = call("get_order", {"order_id": "W1000003"})
    assert (order.status, order.amount_refunded, order.refundable_amount) == ("cancelled", Decimal("54.50"), 0)
    [entry] = _audit(seeded, entity="order:W1000003")
    assert entry.details == {
        "reason": "Ordered twice",
        "previous_status": "processing",
        "refund_id": cancelled.refund_id,
        "refunded_amount": "54.50",
    }
    assert started - timedelta(seconds=5) <= entry.created_at.replace(tzinfo=UTC) <= datetime.now(UTC)


def test_cancelling_an_unpaid_order_refunds_nothing(call: Call, seeded: Engine) -> None:
    cancelled = call("cancel_order", {"order_id": "W1000007", "reason": "Changed my mind"})
    assert (cancelled.refund_id, cancelled.refunded_amount) == (None, Decimal("0.00"))
    assert cancelled.summary == "Order W1000007 is cancelled; nothing had been paid, so no refund was needed."
    assert _refunds(seeded, "W1000007") == []


def test_shipped_orders_cannot_be_cancelled(call: Call, seeded: Engine) -> None:
    broken = _broken_rule(call, "cancel_order", {"order_id": "W1000002", "reason": "Too slow"})
    assert broken.rule == "order_already_shipped"
    assert broken.message == (
        "Order W1000002 has shipped (status: shipped) and can no longer be cancelled; "
        "offer a return after delivery instead."
    )
    assert call("get_order", {"order_id": "W1000002"}).status == "shipped"
    assert _audit(seeded) == []


def test_delivered_orders_cannot_be_cancelled(call: Call) -> None:
    broken = _broken_rule(call, "cancel_order", {"order_id": "W1000001", "reason": "Too late"})
    assert broken.rule == "order_already_shipped" and "issue_refund" in broken.message


def test_an_order_is_cancelled_once(call: Call) -> None:
    broken = _broken_rule(call, "cancel_order", {"order_id": "W1000005", "reason": "Again"})
    assert (broken.rule, broken.message) == (
        "order_already_cancelled",
        "Order W1000005 is already cancelled; nothing to do.",
    )
    call("cancel_order", {"order_id": "W1000003", "reason": "First time"})
    assert (
        _broken_rule(call, "cancel_order", {"order_id": "W1000003", "reason": "Twice"}).rule
        == "order_already_cancelled"
    )


# --- issue_refund --------------------------------------------------------------------------


def test_full_refund_of_a_delivered_order(call: Call, seeded: Engine) -> None:
    refunded = call("issue_refund", {"order_id": "W1000001", "amount": "129.99", "reason": "damaged"})
    assert (refunded.amount, refunded.refundable_amount_after, refunded.reason) == (
        Decimal("129.99"),
        Decimal("0.00"),
        "damaged",
    )
    assert refunded.summary == (
        f"Refunded $129.99 on order W1000001 to the Visa card ending 4242 (refund {refunded.refund_id}, "
        "reason: damaged); $0.00 remains refundable."
    )
    [row] = _refunds(seeded, "W1000001")
    assert (row.public_id, row.amount_cents, row.reason, row.status) == (
        refunded.refund_id,
        12999,
        "damaged",
        "succeeded",
    )
    [entry] = _audit(seeded, entity="order:W1000001")
    assert (entry.action, entry.tenant_id) == ("issue_refund", "acme")
    assert entry.details == {
        "refund_id": refunded.refund_id,
        "amount": "129.99",
        "reason": "damaged",
        "refundable_before": "129.99",
        "refundable_after": "0.00",
    }
    again = _broken_rule(call, "issue_refund", {"order_id": "W1000001", "amount": "0.01", "reason": "damaged"})
    assert again.rule == "refund_exceeds_balance" and "$0.00" in again.message


def test_partial_refunds_add_up(call: Call, seeded: Engine) -> None:
    first = call("issue_refund", {"order_id": "W1000004", "amount": 20, "reason": "wrong_item"})
    second = call("issue_refund", {"order_id": "W1000004", "amount": "129.99", "reason": "other"})
    assert first.refundable_amount_after == Decimal("130.00")
    assert second.refundable_amount_after == Decimal("0.01")
    assert int(second.refund_id[1:]) == int(first.refund_id[1:]) + 1
    order = call("get_order", {"order_id": "W1000004"})
    assert (order.amount_refunded, order.refundable_amount) == (Decimal("199.99"), Decimal("0.01"))
    assert sum(r.amount_cents for r in _refunds(seeded, "W1000004")) == 19999


def test_a_refund_cannot_exceed_the_balance(call: Call, seeded: Engine) -> None:
    broken = _broken_rule(call, "issue_refund", {"order_id": "W1000004", "amount": "150.01", "reason": "damaged"})
    assert broken.rule == "refund_exceeds_balance"
    assert broken.message == (
        "A refund of $150.01 exceeds the refundable balance of order W1000004, which is $150.00 "
        "(paid $200.00, already refunded $50.00); refund at most $150.00."
    )
    assert len(_refunds(seeded, "W1000004")) == 1  # the seeded one only
    assert call("issue_refund", {"order_id": "W1000004", "amount": "150.00", "reason": "damaged"}).refund_id


def test_a_fully_refunded_order_has_nothing_left(call: Call) -> None:
    broken = _broken_rule(call, "issue_refund", {"order_id": "W1000006", "amount": 1, "reason": "damaged"})
    assert broken.rule == "refund_exceeds_balance"
    assert "refundable balance is $0.00" in broken.message and "fully refunded" in broken.message


@pytest.mark.parametrize(
    ("order_id", "status", "advice"),
    [
        ("W1000002", "shipped", "create_ticket"),
        ("W1000003", "processing", "cancel_order"),
        ("W1000005", "cancelled", "already handled"),
        ("W1000007", "pending_payment", "cancel_order"),
    ],
)
def test_only_delivered_orders_are_refunded(
    call: Call, seeded: Engine, order_id: str, status: str, advice: str
) -> None:
    broken = _broken_rule(call, "issue_refund", {"order_id": order_id, "amount": 1, "reason": "changed_mind"})
    assert broken.rule == "order_not_delivered"
    assert broken.message.startswith(f"Order {order_id} has not been delivered (status: {status}), so it cannot")
    assert advice in broken.message
    assert _audit(seeded) == []


# --- tenant isolation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "raw", "stranger"),
    [
        ("issue_refund", {"order_id": "W9000001", "amount": "75.00", "reason": "damaged"}, "acme"),
        ("cancel_order", {"order_id": "W1000003", "reason": "Not mine"}, "globex"),
        ("update_shipping_address", {"order_id": "W1000007", **NEW_ADDRESS}, "globex"),
        ("create_ticket", {"subject": "Hello", "body": "x", "order_id": "W1000001"}, "globex"),
    ],
)
def test_writes_cannot_reach_another_tenant(
    call: Call, seeded: Engine, tool: str, raw: dict[str, Any], stranger: str
) -> None:
    owner = "globex" if stranger == "acme" else "acme"
    before = call("get_order", {"order_id": raw["order_id"]}, tenant=owner)
    with pytest.raises(NotFound, match=f"No order {raw['order_id']} exists"):
        call(tool, raw, tenant=stranger)
    assert call("get_order", {"order_id": raw["order_id"]}, tenant=owner) == before
    assert _audit(seeded) == []


def test_concurrent_refunds_cannot_overdraw(
    backend: str, factory: sessionmaker[Session], call: Call, seeded: Engine
) -> None:
    if backend != "postgres":
        pytest.skip("row locks are PostgreSQL's concern; SQLite lets one writer at a time in")
    spec = next(s for s in commerce_tools() if s.name == "issue_refund")
    raw = {"order_id": "W1000001", "amount": "100.00", "reason": "damaged"}
    outcome: dict[str, Exception] = {}

    def second_refund() -> None:
        try:
            call("issue_refund", raw, tool_call_id="b")
        except BusinessRuleViolation as exc:
            outcome["b"] = exc

    with transaction(factory) as session:
        ctx = ToolContext(tenant_id="acme", user_id="agent.a", thread_id="a", session=session, tool_call_id="a")
        spec.func(ctx, validate_args(spec, raw))  # holds the order's row lock until this block commits
        racer = threading.Thread(target=second_refund)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second refund should wait for the first one's lock"
    racer.join(timeout=10)
    assert isinstance(outcome.get("b"), BusinessRuleViolation)
    assert "which is $29.99" in str(outcome["b"])
    assert [r.amount_cents for r in _refunds(seeded, "W1000001")] == [10000]
