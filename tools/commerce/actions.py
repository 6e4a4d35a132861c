"""Write tools of the commerce domain: tickets, address changes, cancellations and refunds.

Each runs inside the caller's transaction (``ctx.db``): it never commits or rolls back, so
its effect, the audit row, the idempotency key and the consumed approval commit together.
Orders are read ``FOR UPDATE`` before a change so concurrent refunds cannot both pass the
balance check on PostgreSQL; SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tools.canonical import to_jsonable
from tools.commerce.models import AuditEntry, Order, OrderStatus, Refund, Ticket
from tools.commerce.queries import (
    find_order,
    next_public_id,
    resolve_customer,
    shipping_address,
    translate_db_errors,
)
from tools.commerce.rules import cancel_checks, first_failure, refund_checks
from tools.commerce.schema import (
    CancelOrderArgs,
    CancelOrderResult,
    CreateTicketArgs,
    CreateTicketResult,
    IssueRefundArgs,
    IssueRefundResult,
    UpdateShippingAddressArgs,
    UpdateShippingAddressResult,
    from_cents,
    money,
    to_cents,
)
from tools.contract import Risk, ToolContext, tool
from tools.errors import BusinessRuleViolation


def record_audit(ctx: ToolContext, action: str, entity: str, details: dict[str, Any]) -> None:
    """Append an audit row for a business write made by ``ctx.user_id``.

    Pass money as strings with two places ("54.50"): generic JSON conversion would normalise
    Decimals ("54.5").
    """
    ctx.db.add(
        AuditEntry(
            tenant_id=ctx.tenant_id,
            actor=ctx.user_id,
            thread_id=ctx.thread_id,
            tool_call_id=ctx.tool_call_id,
            action=action,
            entity=entity,
            details=to_jsonable(details),
            created_at=datetime.now(UTC),
        )
    )


def _subject_id(ctx: ToolContext) -> int | None:
    """The row id of the customer a customer-bound caller acts for (their ticket is theirs)."""
    if ctx.subject is None:
        return None
    return resolve_customer(ctx.db, ctx.tenant_id, customer_id=ctx.subject, email=None, subject=ctx.subject).id


@tool(
    risk=Risk.WRITE,
    untrusted=(),
    examples=(
        "Open a ticket: my order W1000002 hasn't arrived",
        "I want to file a complaint about order W1000008",
        "Please escalate this to a human",
        "Create an urgent ticket, the tent from W1000001 is broken",
    ),
)
@translate_db_errors
def create_ticket(ctx: ToolContext, args: CreateTicketArgs) -> CreateTicketResult:
    """Open a support ticket so a human colleague follows up, optionally about one order.

    Use it to file a complaint, when a request needs a person (a lost parcel, something no other
    tool can do) or when the user asks to escalate. Write the subject and body so a colleague understands
    the issue without reading the conversation.
    """
    order = find_order(ctx.db, ctx.tenant_id, args.order_id, subject=ctx.subject) if args.order_id else None
    ticket = Ticket(
        tenant_id=ctx.tenant_id,
        public_id=next_public_id(ctx.db, Ticket, ctx.tenant_id, "T", digits=6),
        customer_id=order.customer_id if order else _subject_id(ctx),
        order_id=order.id if order else None,
        subject=args.subject,
        body=args.body,
        priority=args.priority.value,
        status="open",
        created_by=ctx.user_id,
        created_at=datetime.now(UTC),
    )
    ctx.db.add(ticket)
    ctx.db.flush()
    details = {"order_id": args.order_id, "priority": args.priority, "subject": args.subject}
    record_audit(ctx, "create_ticket", f"ticket:{ticket.public_id}", details)
    about = f" about order {args.order_id}" if args.order_id else ""
    return CreateTicketResult(
        ticket_id=ticket.public_id,
        order_id=args.order_id,
        priority=args.priority,
        summary=f"Opened ticket {ticket.public_id} ({args.priority.value} priority){about}; a colleague follows up.",
    )


@tool(
    risk=Risk.WRITE,
    untrusted=(),
    examples=(
        "Change the delivery address of W1000003 to 500 Pine St, Portland, OR 97201, US",
        "Ship order W1000003 to my new address instead",
        "I moved, please update the shipping address on order W1000007",
        "Can you send W1000003 to my office at 12 Main St, Seattle, WA 98101?",
    ),
)
@translate_db_errors
def update_shipping_address(ctx: ToolContext, args: UpdateShippingAddressArgs) -> UpdateShippingAddressResult:
    """Change where an order ships to, while it has not shipped yet (pending_payment or processing).

    Shipped, delivered and cancelled orders cannot be changed; for a parcel in transit the customer
    can ask the carrier to redirect it.
    """
    order = find_order(ctx.db, ctx.tenant_id, args.order_id, for_update=True, subject=ctx.subject)
    if order.status is OrderStatus.CANCELLED:
        raise BusinessRuleViolation(
            "order_already_cancelled",
            f"Order {order.public_id} is cancelled (status: cancelled); there is no shipment to redirect.",
        )
    if not order.status.is_open:
        raise BusinessRuleViolation(
            "order_already_shipped",
            f"Order {order.public_id} has already shipped (status: {order.status.value}) and its shipping address "
            f"can no longer be changed; the customer can ask the carrier ({order.carrier}, tracking "
            f"{order.tracking_number}) to redirect the parcel.",
        )
    before = shipping_address(order)
    order.ship_line1, order.ship_line2, order.ship_city = args.line1, args.line2, args.city
    order.ship_region, order.ship_postal_code, order.ship_country = args.region, args.postal_code, args.country
    after = shipping_address(order)
    record_audit(ctx, "update_shipping_address", f"order:{order.public_id}", {"before": before, "after": after})
    return UpdateShippingAddressResult(
        order_id=order.public_id,
        status=order.status,
        shipping_address=after,
        summary=f"Order {order.public_id} ({order.status.value}) will now ship to {after.one_line()}.",
    )


def _refund(ctx: ToolContext, order: Order, cents: int, reason: str) -> Refund:
    """Refund ``cents`` against the order's payment and keep the order's totals current."""
    refund = Refund(
        tenant_id=ctx.tenant_id,
        public_id=next_public_id(ctx.db, Refund, ctx.tenant_id, "R", digits=7),
        order_id=order.id,
        payment_id=order.payments[0].id if order.payments else None,
        amount_cents=cents,
        reason=reason,
        status="succeeded",
        created_by=ctx.user_id,
        created_at=datetime.now(UTC),
    )
    order.amount_refunded_cents += cents
    ctx.db.add(refund)
    ctx.db.flush()
    return refund


_CARD_NAMES = {"visa": "Visa card", "mastercard": "Mastercard", "amex": "American Express card"}


def _paid_with(order: Order) -> str:
    payment = order.payments[0] if order.payments else None
    if payment is None or not payment.card_brand:
        return "the original payment method"
    return f"the {_CARD_NAMES.get(payment.card_brand, 'card')} ending {payment.card_last4}"


@tool(
    risk=Risk.HIGH_RISK,
    untrusted=(),
    lookup_first="get_order",
    examples=(
        "Cancel order W1000003",
        "I don't want W1000003 anymore, please cancel it",
        "Please cancel my order W1000007, I ordered it by mistake",
        "Stop order W1000003 before it ships",
    ),
)
@translate_db_errors
def cancel_order(ctx: ToolContext, args: CancelOrderArgs) -> CancelOrderResult:
    """Cancel (stop) an order before it ships: status pending_payment or processing.

    A captured payment is refunded in full automatically. Shipped or delivered orders cannot be
    cancelled: offer a return, or a refund with issue_refund once delivered. Needs a reviewer's
    approval; look the order up with get_order first.
    """
    order = find_order(ctx.db, ctx.tenant_id, args.order_id, for_update=True, subject=ctx.subject)
    _check_cancellable(order)
    previous = order.status
    refund = _refund(ctx, order, order.refundable_cents, "order_cancelled") if order.refundable_cents > 0 else None
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = datetime.now(UTC)
    order.cancellation_reason = args.reason
    refunded = refund.amount_cents if refund else 0
    details = {
        "reason": args.reason,
        "previous_status": previous,
        "refund_id": refund.public_id if refund else None,
        "refunded_amount": str(from_cents(refunded)),
    }
    record_audit(ctx, "cancel_order", f"order:{order.public_id}", details)
    if refund:
        money_note = f"its payment of {money(refunded)} was refunded to {_paid_with(order)} (refund {refund.public_id})"
    else:
        money_note = "nothing had been paid, so no refund was needed"
    return CancelOrderResult(
        order_id=order.public_id,
        status=order.status,
        refund_id=refund.public_id if refund else None,
        refunded_amount=from_cents(refunded),
        summary=f"Order {order.public_id} is cancelled; {money_note}.",
    )


def _check_cancellable(order: Order) -> None:
    if failed := first_failure(cancel_checks(order)):
        raise BusinessRuleViolation(failed.rule, failed.message)


@tool(
    risk=Risk.HIGH_RISK,
    untrusted=(),
    lookup_first="get_order",
    examples=(
        "Refund order W1000001, the tent arrived damaged",
        "I want my money back for W1000004",
        "Please refund $20 on order W1000001, it was the wrong item",
        "The poles from W1000008 broke, please refund them",
        "Give a full refund for W1000001, I changed my mind",
    ),
)
@translate_db_errors
def issue_refund(ctx: ToolContext, args: IssueRefundArgs) -> IssueRefundResult:
    """Refund money on a delivered order, up to its refundable amount.

    The refundable amount is what was paid minus earlier refunds (get_order shows it as
    refundable_amount; refund that unless the user asks for less). Use it for damaged, missing,
    wrong or unwanted items after delivery. Orders not delivered yet cannot be refunded: cancel
    them instead. Needs a reviewer's approval; look the order up with get_order first.
    """
    order = find_order(ctx.db, ctx.tenant_id, args.order_id, for_update=True, subject=ctx.subject)
    cents = to_cents(args.amount)
    _check_refundable(order, cents)
    before = order.refundable_cents
    refund = _refund(ctx, order, cents, args.reason.value)
    details = {
        "refund_id": refund.public_id,
        "amount": str(from_cents(cents)),
        "reason": args.reason,
        "refundable_before": str(from_cents(before)),
        "refundable_after": str(from_cents(order.refundable_cents)),
    }
    record_audit(ctx, "issue_refund", f"order:{order.public_id}", details)
    return IssueRefundResult(
        refund_id=refund.public_id,
        order_id=order.public_id,
        amount=from_cents(refund.amount_cents),
        reason=args.reason,
        refundable_amount_after=from_cents(order.refundable_cents),
        summary=(
            f"Refunded {money(refund.amount_cents)} on order {order.public_id} to {_paid_with(order)} (refund "
            f"{refund.public_id}, reason: {args.reason.value}); {money(order.refundable_cents)} remains refundable."
        ),
    )


def _check_refundable(order: Order, cents: int) -> None:
    if failed := first_failure(refund_checks(order, cents)):
        raise BusinessRuleViolation(failed.rule, failed.message)
