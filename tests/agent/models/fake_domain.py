"""A small fake commerce domain declared with the real tool contract, for the model adapter tests.

The tool bodies never run here: the models only see ``ToolSpec.model_schema()``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from tools.contract import Risk, ToolContext, tool

ORDER_ID = Field(pattern=r"^W\d{7}$", description="Order number, e.g. W1000001")
CUSTOMER_ID = Field(pattern=r"^C\d{6}$", description="Customer id, e.g. C100001")


class OrderRef(BaseModel):
    order_id: str = ORDER_ID


class CustomerRef(BaseModel):
    customer_id: str = CUSTOMER_ID


class RefundReason(StrEnum):
    DAMAGED = "damaged"
    NOT_RECEIVED = "not_received"
    WRONG_ITEM = "wrong_item"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"


class RefundArgs(BaseModel):
    order_id: str = ORDER_ID
    reason: RefundReason = Field(
        description="Why the customer wants the refund",
        json_schema_extra={"x-aliases": {"not_received": ["never arrived", "lost"], "damaged": ["broken"]}},
    )
    amount: Decimal | None = Field(
        default=None,
        gt=0,
        description="Amount to refund; defaults to the refundable amount",
        json_schema_extra={"x-default-from": "refundable_amount"},
    )


class CancelArgs(BaseModel):
    order_id: str = ORDER_ID
    reason: str = Field(default="", max_length=200, description="Why the order is cancelled")


class AddressArgs(BaseModel):
    order_id: str = ORDER_ID
    line1: str = Field(description="Street and number")
    city: str
    postal_code: str = Field(pattern=r"^\d{5}$")


class SearchArgs(BaseModel):
    query: str = Field(description="What to look for, in the user's words")
    top_k: int = Field(default=3, ge=1, le=10)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    URGENT = "urgent"


class TicketArgs(BaseModel):
    subject: str = Field(max_length=120)
    description: str
    order_id: str | None = Field(default=None, pattern=r"^W\d{7}$")
    priority: Priority = Priority.NORMAL


class Anything(BaseModel):
    data: dict[str, Any] = {}


@tool(
    risk=Risk.READ,
    examples=(
        "where is my order W1000001",
        "what's the status of order W1000002",
        "give me the details of order W1000003",
        "has my order shipped yet",
    ),
)
def get_order(ctx: ToolContext, args: OrderRef) -> Anything:
    """Look up one order: its status (placed, shipped, delivered), items, total and refundable amount."""
    return Anything()


@tool(
    risk=Risk.READ,
    examples=(
        "list the orders of customer C100001",
        "what orders has C100002 placed",
        "show my order history",
        "all my recent purchases",
    ),
)
def list_orders(ctx: ToolContext, args: CustomerRef) -> Anything:
    """List a customer's orders (order history, recent purchases), newest first."""
    return Anything()


@tool(
    risk=Risk.WRITE,
    examples=(
        "cancel my order W1000001",
        "I don't want order W1000002 anymore, please cancel it",
        "cancel order W1000003 before it ships",
    ),
)
def cancel_order(ctx: ToolContext, args: CancelArgs) -> Anything:
    """Cancel an order that has not shipped yet."""
    return Anything()


@tool(
    risk=Risk.HIGH_RISK,
    lookup_first="get_order",
    examples=(
        "refund order W1000001",
        "I want my money back for W1000002",
        "my order W1000003 arrived damaged, please refund it",
        "refund $20 on order W1000004, wrong item",
    ),
)
def issue_refund(ctx: ToolContext, args: RefundArgs) -> Anything:
    """Refund a delivered order, fully or partly, back to the original payment."""
    return Anything()


@tool(
    risk=Risk.WRITE,
    lookup_first="get_order",
    examples=(
        "change the shipping address of W1000001",
        "ship order W1000002 to a different address",
        "update my delivery address",
    ),
)
def update_shipping_address(ctx: ToolContext, args: AddressArgs) -> Anything:
    """Change where an order that has not shipped will be delivered."""
    return Anything()


@tool(
    risk=Risk.READ,
    examples=(
        "what is your return policy",
        "how long does shipping take",
        "do you ship internationally",
        "how does the warranty work",
    ),
)
def search_knowledge_base(ctx: ToolContext, args: SearchArgs) -> Anything:
    """Search the help-centre policies and FAQ (returns, shipping, warranty, privacy)."""
    return Anything()


@tool(
    risk=Risk.WRITE,
    examples=(
        "I want to talk to a human",
        "open a support ticket",
        "escalate this to an agent",
        "I want to file a complaint",
    ),
)
def create_ticket(ctx: ToolContext, args: TicketArgs) -> Anything:
    """Open a support ticket (a complaint, a problem) so a human agent follows up."""
    return Anything()


SPECS = (
    get_order,
    list_orders,
    cancel_order,
    issue_refund,
    update_shipping_address,
    search_knowledge_base,
    create_ticket,
)
