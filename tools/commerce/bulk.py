"""Random but deterministic bulk data: customers, orders with a plausible history, tickets.

Everything is drawn from the ``random.Random`` passed in, relative to ``BASE_DATE``. Orders get
increasing ids in order of placement; an order's status follows from its age (recent orders are
unpaid or processing, older ones shipped, most delivered, a few cancelled).
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from tools.commerce.fixtures import (
    BASE_DATE,
    FREE_SHIPPING_FROM_CENTS,
    SHIPPING_CENTS,
    AddressPlan,
    CustomerPlan,
    OrderPlan,
    RefundPlan,
    TicketPlan,
)
from tools.commerce.models import OrderStatus

# First public number and the first number that belongs to someone else, per tenant and kind.
ID_BLOCKS: dict[str, dict[str, tuple[int, int]]] = {
    "acme": {"C": (100000, 900000), "W": (1100000, 9000000), "R": (1000004, 9000000), "T": (100002, 900000)},
    "globex": {"C": (900100, 1000000), "W": (9000100, 10000000), "R": (9000001, 10000000), "T": (900002, 1000000)},
}
_WIDTH = {"C": 6, "W": 7, "R": 7, "T": 6}

HOUR = 3600
DAY = 24 * HOUR

_FIRST = (
    "Maria", "Ana", "Sofia", "Emma", "Olivia", "Ava", "Mia", "Chloe", "Grace", "Nora", "Priya", "Aisha",
    "Yuki", "Elena", "Lucia", "Hannah", "Sara", "Leila", "James", "Noah", "Liam", "Lucas", "Mateo", "Ethan",
    "Daniel", "Samuel", "David", "Kenji", "Arjun", "Diego", "Tomas", "Felix", "Hugo", "Ivan", "Marcus", "Raj",
)  # fmt: skip
_LAST = (
    "Garcia", "Smith", "Johnson", "Brown", "Martinez", "Lopez", "Nguyen", "Kim", "Patel", "Chen", "Rossi",
    "Muller", "Silva", "Cohen", "Novak", "Tanaka", "Okafor", "Andersen", "Dubois", "Kowalski", "Murphy",
    "Singh", "Ali", "Costa", "Jensen", "Moreau", "Schmidt", "Rivera", "Walker", "Young",
)  # fmt: skip
_STREETS = (
    "Oak", "Maple", "Pine", "Cedar", "Elm", "Lake", "Hill", "River", "Park", "Forest", "Ridge", "Summit",
    "Canyon", "Meadow", "Willow", "Aspen",
)  # fmt: skip
_STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Way", "Dr")
_CITIES = (
    ("Portland", "OR", "972"), ("Seattle", "WA", "981"), ("Boise", "ID", "837"), ("Denver", "CO", "802"),
    ("Salt Lake City", "UT", "841"), ("Sacramento", "CA", "958"), ("Bend", "OR", "977"), ("Spokane", "WA", "992"),
    ("Missoula", "MT", "598"), ("Flagstaff", "AZ", "860"), ("Santa Fe", "NM", "875"), ("Reno", "NV", "895"),
    ("Anchorage", "AK", "995"), ("Burlington", "VT", "054"), ("Asheville", "NC", "288"), ("Madison", "WI", "537"),
)  # fmt: skip
_NOTES = (
    "Please leave the package at the side door.",
    "Gift order: please do not include the invoice.",
    "Ring the bell twice, the buzzer is broken.",
    "Deliver to the front desk of the building.",
    "Birthday present, thank you for hurrying!",
    "No signature needed.",
)
_TICKETS = (
    ("Where is my order?", "Customer asks for a delivery update.", "normal"),
    ("Item arrived damaged", "Customer reports the item arrived damaged and sent photos.", "high"),
    ("Wrong size received", "Customer received the wrong size and wants an exchange.", "normal"),
    ("Change of delivery address", "Customer moved and asks to change the delivery address.", "normal"),
    ("Missing item in package", "One item of the order was not in the box.", "high"),
    ("Question about warranty", "Customer asks how long the warranty lasts.", "low"),
)
_AGENTS = ("support.alex", "support.sam", "support.kim")
_REFUND_REASONS = ("damaged", "not_received", "wrong_item", "changed_mind", "other")
_CARDS = ("visa", "visa", "mastercard", "amex")
_CARRIERS = ("UPS", "FedEx", "USPS")


def public_ids(tenant: str, kind: str, count: int) -> list[str]:
    """``count`` consecutive public ids of ``kind`` (C, W, R, T) from the tenant's bulk block."""
    start, stop = ID_BLOCKS[tenant][kind]
    if start + count > stop:
        raise ValueError(f"{count} {kind}-ids do not fit {tenant}'s id block {start}..{stop - 1}")
    return [f"{kind}{n:0{_WIDTH[kind]}d}" for n in range(start, start + count)]


def id_sequence(tenant: str, kind: str) -> Iterator[str]:
    """The tenant's bulk ids of ``kind`` one by one, for rows only some orders get (R, T)."""
    start, stop = ID_BLOCKS[tenant][kind]
    for n in range(start, stop):
        yield f"{kind}{n:0{_WIDTH[kind]}d}"
    raise ValueError(f"{tenant}'s {kind}-id block {start}..{stop - 1} is used up")


def customers(rng: random.Random, tenant: str, count: int) -> list[CustomerPlan]:
    """Random customers of ``tenant`` with unique emails and one default address each."""
    domain = "globex.example" if tenant == "globex" else "example.com"
    plans = []
    for public_id in public_ids(tenant, "C", count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, region, zip_prefix = rng.choice(_CITIES)
        address = AddressPlan(
            line1=f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}",
            line2=f"Apt {rng.randint(1, 40)}" if rng.random() < 0.2 else None,
            city=city,
            region=region,
            postal_code=f"{zip_prefix}{rng.randint(0, 99):02d}",
            country="US",
        )
        plans.append(
            CustomerPlan(
                tenant=tenant,
                customer_id=public_id,
                name=f"{first} {last}",
                email=f"{first}.{last}.{public_id[1:]}@{domain}".lower(),
                phone=f"+1-{rng.randint(201, 989)}-555-{rng.randint(100, 199):04d}",
                address=address,
                created_at=BASE_DATE - timedelta(days=rng.randint(366, 1000), seconds=rng.randrange(DAY)),
            )
        )
    return plans


def orders(
    rng: random.Random,
    tenant: str,
    buyers: list[CustomerPlan],
    catalogue: tuple[tuple[str, str, str, int], ...],
    count: int,
) -> tuple[list[OrderPlan], list[TicketPlan]]:
    """Random orders placed over the year before ``BASE_DATE``, and the tickets some of them got."""
    if not count:
        return [], []
    ages = sorted((rng.randrange(HOUR, 365 * DAY) for _ in range(count)), reverse=True)
    refund_ids = id_sequence(tenant, "R")
    ticket_ids = id_sequence(tenant, "T")
    skus = [sku for sku, *_ in catalogue]
    plans: list[OrderPlan] = []
    tickets: list[TicketPlan] = []
    for order_id, age in zip(public_ids(tenant, "W", count), ages, strict=True):
        buyer = rng.choice(buyers)
        placed_at = BASE_DATE - timedelta(seconds=age)
        plan = OrderPlan(
            tenant=tenant,
            order_id=order_id,
            customer_id=buyer.customer_id,
            status=OrderStatus.PROCESSING,
            placed_at=placed_at,
            lines=tuple((sku, rng.choice((1, 1, 1, 1, 2, 3))) for sku in rng.sample(skus, _line_count(rng))),
            card=(rng.choice(_CARDS), f"{rng.randrange(10000):04d}"),
            customer_note=rng.choice(_NOTES) if rng.random() < 0.06 else None,
        )
        plan = _with_history(rng, plan, age, refund_ids, _total_cents(plan, catalogue))
        plans.append(plan)
        if rng.random() < 0.03:
            tickets.append(_ticket(rng, plan, next(ticket_ids)))
    return plans, tickets


def _line_count(rng: random.Random) -> int:
    return rng.choices((1, 2, 3, 4), weights=(55, 30, 10, 5))[0]


def _total_cents(plan: OrderPlan, catalogue: tuple[tuple[str, str, str, int], ...]) -> int:
    # The seed prices orders the same way; refunds of cancelled orders need the total up front.
    prices = {sku: price for sku, _, _, price in catalogue}
    subtotal = sum(prices[sku] * quantity for sku, quantity in plan.lines)
    return subtotal if subtotal >= FREE_SHIPPING_FROM_CENTS else subtotal + SHIPPING_CENTS


def _with_history(rng: random.Random, plan: OrderPlan, age: int, refund_ids: Iterator[str], total: int) -> OrderPlan:
    """Pick a status that fits the order's age and fill in its shipping, payment and refunds."""
    days = age / DAY
    if days < 1:
        status = OrderStatus.PENDING_PAYMENT if rng.random() < 0.3 else OrderStatus.PROCESSING
    elif days < 3:
        status = OrderStatus.PROCESSING if rng.random() < 0.3 else OrderStatus.SHIPPED
    elif days < 9:
        status = OrderStatus.SHIPPED if rng.random() < 0.5 else OrderStatus.DELIVERED
    else:
        status = OrderStatus.CANCELLED if rng.random() < 0.07 else OrderStatus.DELIVERED
    if status is OrderStatus.PENDING_PAYMENT:
        return replace(plan, status=status, paid=False)
    if status is OrderStatus.PROCESSING:
        return plan
    if status is OrderStatus.CANCELLED:
        return _cancelled(rng, plan, total, refund_ids)
    return _shipped(rng, plan, age, status, total, refund_ids)


def _cancelled(rng: random.Random, plan: OrderPlan, total: int, refund_ids: Iterator[str]) -> OrderPlan:
    # Half were cancelled after payment was captured, so the cancellation refunded it.
    cancelled_at = plan.placed_at + timedelta(seconds=rng.randint(HOUR, 20 * HOUR))
    paid = rng.random() < 0.5
    refunds = (RefundPlan(next(refund_ids), total, "order_cancelled", cancelled_at),) if paid else ()
    reason = rng.choice(("Ordered by mistake", "Found it cheaper elsewhere", "No longer needed"))
    return replace(
        plan,
        status=OrderStatus.CANCELLED,
        paid=paid,
        cancelled_at=cancelled_at,
        cancellation_reason=reason,
        refunds=refunds,
    )


def _shipped(
    rng: random.Random, plan: OrderPlan, age: int, status: OrderStatus, total: int, refund_ids: Iterator[str]
) -> OrderPlan:
    carrier = rng.choice(_CARRIERS)
    ship_delay = rng.randint(2 * HOUR, min(36 * HOUR, age // 3))
    shipped_at = plan.placed_at + timedelta(seconds=ship_delay)
    plan = replace(plan, status=status, carrier=carrier, tracking_number=_tracking(rng, carrier), shipped_at=shipped_at)
    if status is OrderStatus.SHIPPED:
        return replace(plan, estimated_delivery=(shipped_at + timedelta(days=rng.randint(3, 7))).date())
    window = age - ship_delay - HOUR  # delivered at least an hour before BASE_DATE
    delivered_at = shipped_at + timedelta(seconds=rng.randint(min(window, 2 * DAY), min(window, 6 * DAY)))
    if rng.random() >= 0.06:
        return replace(plan, delivered_at=delivered_at)
    full = rng.random() < 0.4
    amount = total if full else max(1, total * rng.randint(10, 90) // 100)
    refunded_at = _some_time_after(rng, delivered_at, 10 * DAY)
    refund = RefundPlan(next(refund_ids), amount, rng.choice(_REFUND_REASONS), refunded_at)
    return replace(plan, delivered_at=delivered_at, refunds=(refund,))


def _some_time_after(rng: random.Random, start: datetime, at_most: int) -> datetime:
    """A moment after ``start``, within ``at_most`` seconds, and before ``BASE_DATE``."""
    room = int((BASE_DATE - start).total_seconds())
    return start + timedelta(seconds=rng.randint(0, max(0, min(room - 1, at_most))))


def _tracking(rng: random.Random, carrier: str) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choices(string.digits, k=n))

    if carrier == "UPS":
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=6)) + "03" + digits(8)
    if carrier == "FedEx":
        return digits(12)
    return "9400" + digits(18)


def _ticket(rng: random.Random, plan: OrderPlan, ticket_id: str) -> TicketPlan:
    subject, body, priority = rng.choice(_TICKETS)
    return TicketPlan(
        tenant=plan.tenant,
        ticket_id=ticket_id,
        customer_id=plan.customer_id,
        order_id=plan.order_id,
        subject=subject,
        body=body,
        priority=priority,
        status="open" if rng.random() < 0.4 else "resolved",
        created_by=rng.choice(_AGENTS),
        created_at=_some_time_after(rng, plan.placed_at, 5 * DAY),
    )
