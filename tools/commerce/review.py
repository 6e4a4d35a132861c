"""What a reviewer sees next to the shop's high-risk calls: facts read fresh from the back
office, the tools' own rules evaluated on the arguments, and what to search in the policies."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tools.commerce.models import Order, Refund
from tools.commerce.queries import find_order
from tools.commerce.rules import cancel_checks, days_since_delivery, refund_checks
from tools.commerce.schema import CancelOrderArgs, IssueRefundArgs, from_cents, to_cents
from tools.domain import ReviewContext, ReviewFact

CURRENCY = "USD"


def priced(cents: int) -> str:
    """Money as a reviewer reads it: ``$74.97 USD``."""
    return f"${from_cents(cents):,} {CURRENCY}"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "not yet"


def _order_facts(session: Session, tenant_id: str, order: Order) -> list[ReviewFact]:
    customer = order.customer
    days = days_since_delivery(order)
    facts = [
        ReviewFact("Customer", f"{customer.name} ({customer.public_id}, {customer.email})"),
        ReviewFact("Order", f"{order.public_id} · {order.status.value} · placed {_when(order.placed_at)}"),
        ReviewFact("Order total", priced(order.total_cents)),
        ReviewFact("Paid", priced(order.amount_paid_cents)),
        ReviewFact("Already refunded", priced(order.amount_refunded_cents)),
        ReviewFact("Refundable balance", priced(order.refundable_cents)),
        ReviewFact("Delivered", _when(order.delivered_at) + (f" ({days} days ago)" if days is not None else "")),
    ]
    earlier = session.execute(
        select(func.count(Refund.id), func.coalesce(func.sum(Refund.amount_cents), 0))
        .join(Order, Refund.order_id == Order.id)
        .where(Refund.tenant_id == tenant_id, Order.customer_id == order.customer_id)
    ).one()
    count, cents = int(earlier[0]), int(earlier[1])
    facts.append(
        ReviewFact("Earlier refunds of this customer", f"{count}, {priced(cents)} in total" if count else "none")
    )
    return facts


def review_refund(session: Session, tenant_id: str, args: BaseModel) -> ReviewContext:
    """What a reviewer of ``issue_refund`` sees: the order's facts, the refund rules checked, the return policy."""
    assert isinstance(args, IssueRefundArgs)
    order = find_order(session, tenant_id, args.order_id)
    cents = to_cents(args.amount)
    return ReviewContext(
        facts=tuple(_order_facts(session, tenant_id, order)),
        checks=tuple(refund_checks(order, cents, datetime.now(UTC))),
        policy_query=f"return window days of delivery refund {args.reason.value.replace('_', ' ')} item",
        arguments=(ReviewFact("amount", priced(cents)),),
    )


def review_cancellation(session: Session, tenant_id: str, args: BaseModel) -> ReviewContext:
    """What a reviewer of ``cancel_order`` sees: the order's facts, the refund it triggers, the cancellation rules."""
    assert isinstance(args, CancelOrderArgs)
    order = find_order(session, tenant_id, args.order_id)
    refund = ReviewFact("Refunded on cancellation", priced(order.refundable_cents))
    return ReviewContext(
        facts=(*_order_facts(session, tenant_id, order), refund),
        checks=tuple(cancel_checks(order)),
        policy_query="order cancellation before it ships refund of the payment",
    )
