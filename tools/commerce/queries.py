"""Tenant-scoped reads shared by the commerce tools, and the database-error boundary.

Every query here filters by the caller's tenant — and, for a caller bound to one customer
(``ToolContext.subject``), by that customer — so another tenant's or another customer's rows look
exactly like rows that do not exist: the same ``NotFound``, the same message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tools.commerce.models import Customer, Order, Refund, Ticket
from tools.commerce.schema import ShippingAddress
from tools.contract import ToolContext
from tools.errors import BusinessRuleViolation, NotFound, ToolUnavailable, database_unavailable

ArgsT = TypeVar("ArgsT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)

# Name searches report at most this many candidates.
MAX_NAME_MATCHES = 5


def translate_db_errors(fn: Callable[[ToolContext, ArgsT], ResultT]) -> Callable[[ToolContext, ArgsT], ResultT]:
    """Turn transient database failures into :class:`ToolUnavailable`, the retryable tool error."""

    @functools.wraps(fn)
    def call(ctx: ToolContext, args: ArgsT) -> ResultT:
        try:
            return fn(ctx, args)
        except OperationalError as exc:
            # Locked SQLite file, lost connection, PostgreSQL serialization failure…
            raise database_unavailable(str(exc.orig)) from exc
        except IntegrityError as exc:
            # Two writers picked the same new public id at once; the retry picks the next one.
            raise ToolUnavailable("Another change to the same records happened at the same time; try again.") from exc

    return call


def find_order(
    session: Session, tenant_id: str, order_id: str, *, for_update: bool = False, subject: str | None = None
) -> Order:
    """The tenant's order ``order_id`` (of customer ``subject`` only, when given); ``for_update``
    locks it (PostgreSQL) for a write."""
    stmt = select(Order).where(Order.tenant_id == tenant_id, Order.public_id == order_id)
    if subject is not None:
        stmt = stmt.where(Order.customer.has(Customer.public_id == subject))
    if for_update:
        stmt = stmt.with_for_update()
    order = session.scalars(stmt).one_or_none()
    if order is None:
        raise NotFound(
            f"No order {order_id} exists. Check the order id with the customer, or find it with "
            "list_orders using their email address."
        )
    return order


def resolve_customer(
    session: Session,
    tenant_id: str,
    *,
    customer_id: str | None,
    email: str | None,
    name: str | None = None,
    subject: str | None = None,
) -> Customer:
    """The one customer matching the most specific key given: customer id, then email, then name
    (among customer ``subject`` alone, when given)."""
    scoped = select(Customer).where(Customer.tenant_id == tenant_id)
    if subject is not None:
        scoped = scoped.where(Customer.public_id == subject)
    if customer_id:
        found = session.scalars(scoped.where(Customer.public_id == customer_id)).one_or_none()
        what = f"customer id {customer_id}"
    elif email:
        found = session.scalars(scoped.where(Customer.email == email.lower())).one_or_none()
        what = f"email address {email}"
    elif name:
        return _customer_by_name(session, tenant_id, name, subject)
    else:
        raise ValueError("resolve_customer needs customer_id, email or name")
    if found is None:
        raise NotFound(f"No customer with {what} exists. Ask the customer to double-check it.")
    return found


def _customer_by_name(session: Session, tenant_id: str, name: str, subject: str | None) -> Customer:
    """Exact (case-insensitive) full-name matches first; otherwise names containing ``name``."""
    key = " ".join(name.split()).lower()
    scoped = select(Customer).where(Customer.tenant_id == tenant_id).order_by(Customer.public_id)
    if subject is not None:
        scoped = scoped.where(Customer.public_id == subject)
    limit = MAX_NAME_MATCHES + 1
    matches = session.scalars(scoped.where(func.lower(Customer.name) == key).limit(limit)).all()
    if not matches:
        pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = session.scalars(scoped.where(func.lower(Customer.name).like(pattern, escape="\\")).limit(limit)).all()
    if not matches:
        raise NotFound(f"No customer named {name!r} exists. Ask for their email address or customer id.")
    if len(matches) > 1:
        shown = ", ".join(c.public_id for c in matches[:MAX_NAME_MATCHES])
        more = " and more" if len(matches) > MAX_NAME_MATCHES else ""
        raise BusinessRuleViolation(
            "ambiguous_customer",
            f"Several customers match the name {name!r} ({shown}{more}). Ask for their email address or "
            "customer id and search again.",
        )
    return matches[0]


def next_public_id(
    session: Session, model: type[Refund] | type[Ticket], tenant_id: str, prefix: str, digits: int
) -> str:
    """The tenant's next public id after its highest one (ids are fixed-width, so text order works).

    Two concurrent writers may pick the same id; the unique constraint stops the second one.
    """
    last = session.scalar(select(func.max(model.public_id)).where(model.tenant_id == tenant_id))
    number = int(last[1:]) + 1 if last else 1
    return f"{prefix}{number:0{digits}d}"


def shipping_address(order: Order) -> ShippingAddress:
    """The address an order ships to."""
    return ShippingAddress(
        line1=order.ship_line1,
        line2=order.ship_line2,
        city=order.ship_city,
        region=order.ship_region,
        postal_code=order.ship_postal_code,
        country=order.ship_country,
    )
