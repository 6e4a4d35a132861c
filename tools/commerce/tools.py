"""The commerce tool set, in the order a model should read it: lookups first, then actions."""

from __future__ import annotations

from tools.commerce.actions import cancel_order, create_ticket, issue_refund, update_shipping_address
from tools.commerce.lookups import find_customer, get_order, list_orders
from tools.contract import ToolSpec


def commerce_tools() -> list[ToolSpec]:
    """Every commerce tool: three reads, two writes and two high-risk actions."""
    return [
        find_customer,
        get_order,
        list_orders,
        create_ticket,
        update_shipping_address,
        cancel_order,
        issue_refund,
    ]
