"""Tables of the demo business domain: a multi-tenant back office of an outdoor-gear shop.

Conventions, the same on SQLite and PostgreSQL:

- every business row carries ``tenant_id`` (indexed); tools always filter by it;
- integer surrogate keys join the tables; models see only the public ids (``C000001``,
  ``W1000001``, ``T100001``, ``R1000001``), unique per tenant;
- money is integer cents (``*_cents``), converted to ``Decimal`` at the tool API;
- timestamps are timezone-aware UTC (:class:`UTCDateTime`; SQLite itself keeps no zone).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Engine,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tools.db import UTCDateTime


class CommerceBase(DeclarativeBase):
    """Declarative base of the commerce tables (the domain's own metadata)."""


class OrderStatus(StrEnum):
    """Lifecycle of an order: pending_payment, processing, shipped, delivered; or cancelled before shipping."""

    PENDING_PAYMENT = "pending_payment"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Not shipped yet: the address may change and the order may be cancelled."""
        return self in (OrderStatus.PENDING_PAYMENT, OrderStatus.PROCESSING)


def _enum_values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def _tenant_column() -> Mapped[str]:
    return mapped_column(ForeignKey("tenants.id"), index=True)


class Tenant(CommerceBase):
    """A business using the service; ``id`` is its slug (``acme``)."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Customer(CommerceBase):
    """A shopper of one tenant. Emails are stored lower-case."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id", name="uq_customers_public_id"),
        UniqueConstraint("tenant_id", "email", name="uq_customers_email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    public_id: Mapped[str] = mapped_column(String(7))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    addresses: Mapped[list[Address]] = relationship(back_populates="customer", order_by="Address.id")


# Name search compares lower-cased names (PostgreSQL's LIKE is case-sensitive, SQLite's is not).
Index("ix_customers_tenant_name", Customer.tenant_id, func.lower(Customer.name))


class Address(CommerceBase):
    """A saved address of a customer; at most one is the default."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    is_default: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="addresses")


class Product(CommerceBase):
    """A catalogue item of one tenant."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("tenant_id", "sku", name="uq_products_sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    price_cents: Mapped[int] = mapped_column(Integer)


class Order(CommerceBase):
    """An order. The shipping address is copied at order time; the totals are kept current.

    ``amount_paid_cents`` is what payments captured; ``amount_refunded_cents`` the sum of its
    refunds. Their difference is what can still be refunded.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id", name="uq_orders_public_id"),
        Index("ix_orders_tenant_customer_placed", "tenant_id", "customer_id", "placed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    public_id: Mapped[str] = mapped_column(String(8))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[OrderStatus] = mapped_column(
        Enum(
            OrderStatus,
            native_enum=False,
            length=20,
            values_callable=_enum_values,
            create_constraint=True,
            name="ck_orders_status",
        )
    )
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    shipping_cents: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(Integer)
    amount_paid_cents: Mapped[int] = mapped_column(Integer)
    amount_refunded_cents: Mapped[int] = mapped_column(Integer)
    ship_name: Mapped[str] = mapped_column(String(200))
    ship_line1: Mapped[str] = mapped_column(String(200))
    ship_line2: Mapped[str | None] = mapped_column(String(200))
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_region: Mapped[str] = mapped_column(String(100))
    ship_postal_code: Mapped[str] = mapped_column(String(20))
    ship_country: Mapped[str] = mapped_column(String(2))
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    estimated_delivery: Mapped[date | None] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    # Free text typed by the shopper: untrusted data, never instructions.
    customer_note: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship()
    items: Mapped[list[OrderItem]] = relationship(order_by="OrderItem.id")
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id")

    @property
    def refundable_cents(self) -> int:
        """What can still be refunded: paid minus refunded, in cents."""
        return self.amount_paid_cents - self.amount_refunded_cents


class OrderItem(CommerceBase):
    """One line of an order; name and price are copied from the product at order time."""

    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)


class Payment(CommerceBase):
    """A captured payment. Only the last four card digits are ever stored."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    card_brand: Mapped[str | None] = mapped_column(String(16))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Refund(CommerceBase):
    """Money returned on an order, against one of its payments.

    ``reason`` is one of the refund reasons of ``issue_refund`` or ``order_cancelled``.
    """

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("tenant_id", "public_id", name="uq_refunds_public_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    public_id: Mapped[str] = mapped_column(String(8))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Ticket(CommerceBase):
    """A support ticket, optionally about an order (and then about its customer)."""

    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("tenant_id", "public_id", name="uq_tickets_public_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    public_id: Mapped[str] = mapped_column(String(7))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(CommerceBase):
    """Append-only record of every business write made through a tool.

    ``entity`` is ``<kind>:<public id>`` (``order:W1000001``, ``ticket:T100001``); ``details``
    holds JSON-able values only (money as decimal strings).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_entity", "tenant_id", "entity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant_column()
    actor: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str] = mapped_column(String(128))
    tool_call_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Parents before children: the order to create and fill them in.
COMMERCE_TABLES = [
    CommerceBase.metadata.tables[model.__tablename__]
    for model in (Tenant, Customer, Address, Product, Order, OrderItem, Payment, Refund, Ticket, AuditEntry)
]


def create_schema(engine: Engine) -> None:
    """Create the commerce tables that are missing."""
    CommerceBase.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    """Drop the commerce tables (children first); other tables are left alone."""
    CommerceBase.metadata.drop_all(engine, tables=COMMERCE_TABLES)
