"""The business rules of the shop's high-risk tools, as data: one :class:`RuleCheck` per rule.

The tools enforce them (``issue_refund`` raises the first failing blocking rule as a
``BusinessRuleViolation`` with its code and message), and the review context shows the same
checks to a reviewer before a decision, and pre-checks an edit with them — one definition, so a
reviewer never approves what the tool then refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tools.commerce.models import Order, OrderStatus
from tools.commerce.schema import money
from tools.domain import RuleCheck

RETURN_WINDOW_DAYS = 30
"""The returns policy's window (kb/returns-policy.md): an exception a reviewer may grant, so the
window is advisory, not a rule the tool enforces."""

_NOT_DELIVERED_ADVICE = {
    OrderStatus.PENDING_PAYMENT: "nothing has been paid; cancel it with cancel_order instead",
    OrderStatus.PROCESSING: "cancel it with cancel_order instead, which refunds the payment in full",
    OrderStatus.SHIPPED: "it is in transit; if it never arrives, open a ticket with create_ticket",
    OrderStatus.CANCELLED: "its payment was already handled when it was cancelled",
}


_WITHIN = "within the refundable balance"


def days_since_delivery(order: Order, now: datetime | None = None) -> int | None:
    """Whole days since the order was delivered (``None`` if it was not)."""
    if order.delivered_at is None:
        return None
    return ((now or datetime.now(UTC)) - order.delivered_at).days


def refund_checks(order: Order, cents: int, now: datetime | None = None) -> list[RuleCheck]:
    """Every rule of a refund of ``cents`` on ``order``, passed or not, blocking ones first."""
    oid, status = order.public_id, order.status
    delivered = status is OrderStatus.DELIVERED
    checks = [
        RuleCheck(
            "order_not_delivered",
            delivered,
            ""
            if delivered
            else f"Order {oid} has not been delivered (status: {status.value}), so it cannot be refunded; "
            f"{_NOT_DELIVERED_ADVICE[status]}.",
            label="order delivered",
        )
    ]
    balance = order.refundable_cents
    if delivered and balance == 0:
        message = (
            f"Order {oid} has been fully refunded already (paid {money(order.amount_paid_cents)}, refunded "
            f"{money(order.amount_refunded_cents)}); the refundable balance is $0.00, so nothing more can be refunded."
        )
        checks.append(RuleCheck("refund_exceeds_balance", False, message, label=_WITHIN))
    else:
        over = cents > balance
        message = (
            f"A refund of {money(cents)} exceeds the refundable balance of order {oid}, which is {money(balance)} "
            f"(paid {money(order.amount_paid_cents)}, already refunded {money(order.amount_refunded_cents)}); "
            f"refund at most {money(balance)}."
        )
        checks.append(RuleCheck("refund_exceeds_balance", not over, message if over else "", label=_WITHIN))
    days = days_since_delivery(order, now)
    if days is not None:
        late = days > RETURN_WINDOW_DAYS
        message = (
            f"Delivered {days} days ago: outside the {RETURN_WINDOW_DAYS}-day return window of the returns policy; "
            "approve only as an exception (e.g. a defect under warranty)."
        )
        window = f"within the {RETURN_WINDOW_DAYS}-day return window"
        checks.append(RuleCheck("return_window", not late, message if late else "", label=window, blocking=False))
    return checks


_OPEN = "not shipped or cancelled yet"


def cancel_checks(order: Order) -> list[RuleCheck]:
    """The rules of cancelling ``order``: it must not be cancelled, shipped or delivered yet."""
    oid, status = order.public_id, order.status
    if status is OrderStatus.CANCELLED:
        cancelled = f"Order {oid} is already cancelled; nothing to do."
        return [RuleCheck("order_already_cancelled", False, cancelled, label=_OPEN)]
    if status is OrderStatus.SHIPPED:
        message = (
            f"Order {oid} has shipped (status: shipped) and can no longer be cancelled; offer a return after "
            "delivery instead."
        )
        return [RuleCheck("order_already_shipped", False, message, label=_OPEN)]
    if status is OrderStatus.DELIVERED:
        message = (
            f"Order {oid} was delivered (status: delivered) and can no longer be cancelled; offer a return or a "
            "refund with issue_refund instead."
        )
        return [RuleCheck("order_already_shipped", False, message, label=_OPEN)]
    return [RuleCheck("order_already_shipped", True, label=_OPEN)]


def first_failure(checks: list[RuleCheck]) -> RuleCheck | None:
    """The first failing blocking rule (what the tool refuses with), if any."""
    return next((c for c in checks if c.blocking and not c.passed), None)
