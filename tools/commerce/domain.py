"""The demo shop as a Tiller domain: *Acme Outdoor Supply*'s back office.

Registered as the ``commerce`` entry point of ``tiller.domains`` (the default ``TILLER_DOMAIN``).
Everything the runtime needs about the shop is here — the core names none of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from tools.commerce.models import CommerceBase
from tools.commerce.review import review_cancellation, review_refund
from tools.commerce.tools import commerce_tools
from tools.domain import Domain, Entity, Fixtures, KnowledgeBase, Seed, Vocabulary
from tools.policy import ApprovalPolicy

if TYPE_CHECKING:
    from sqlalchemy import Engine


HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parents[1] / "scenarios" / "commerce"  # present in a checkout, not in a wheel
KB_DIR = HERE / "kb"


class CommerceFixtures(Fixtures):
    """Sizes of the seeded data; the named fixtures (Jane Doe's W1000001…) are always present."""

    customers: int = Field(500, ge=1, le=1_000_000, description="customers of the demo tenant")
    orders: int = Field(2000, ge=0, le=10_000_000, description="orders of the demo tenant")
    seed: int = Field(7, description="random seed: same seed, same data")


def _seed(engine: Engine, fixtures: CommerceFixtures) -> str:
    # Imported when seeding: the seed's data tables are large and most runs never seed.
    from tools.commerce.seed import seed  # noqa: PLC0415

    return str(seed(engine, customers=fixtures.customers, orders=fixtures.orders, seed=fixtures.seed))


ORDER_STATUS_WORDS = {
    "delivered": "delivered",
    "shipped": "shipped",
    "in transit": "shipped",
    "processing": "processing",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "pending payment": "pending_payment",
    "awaiting payment": "pending_payment",
}

KB_DESCRIPTION = """Search Acme Outdoor Supply's policy and FAQ documents and return passages to cite.

Use it for general questions about how things work: returns and exchanges, refunds,
shipping (domestic and international), delivery times, tracking, lost or damaged
packages, order cancellation, address changes, warranty and repairs, payment methods,
gift cards, promo codes, price matching, loyalty rewards, taxes and duties, privacy
and account security, product care, bulk orders and how to contact support.
It does not look up a specific customer's order or account, and it changes nothing.
Answer only from the returned passages and cite them by chunk id, e.g. [returns-policy#2]."""

KB_EXAMPLES = (
    "What is your return policy?",
    "How long does a refund take to reach my card?",
    "Do you ship to Canada, and how much does it cost?",
    "Is my tent still under warranty?",
    "Can I return headphones I already opened?",
    "What do you do with my personal data?",
)

domain = Domain(
    name="commerce",
    title="Acme Outdoor Supply",
    tools=commerce_tools,
    metadata=CommerceBase.metadata,
    migrations=HERE / "migrations",
    seed=Seed(
        fixtures=CommerceFixtures,
        run=_seed,
        sizes={"demo": {}, "test": {"customers": 40, "orders": 120}, "bench": {"customers": 20_000, "orders": 100_000}},
        scenario_size="test",
    ),
    knowledge=KnowledgeBase(
        documents=KB_DIR,
        tool_description=KB_DESCRIPTION,
        tool_examples=KB_EXAMPLES,
        questions=SCENARIOS / "kb_questions.yaml",
    ),
    system_prompt=(HERE / "prompt.md").read_text(encoding="utf-8"),
    approval_policy=ApprovalPolicy(),
    vocabulary=Vocabulary(
        entities=(
            Entity(
                "order",
                r"W\d{7}",
                id_fields=("order_id",),
                status_field="status",
                status_words=ORDER_STATUS_WORDS,
                owner_field="customer_id",
            ),
            Entity("customer", r"C\d{6}", id_fields=("customer_id",), owner_field="customer_id"),
            Entity("refund", r"R\d{7}", id_fields=("refund_id",), owner_field="customer_id"),
            Entity("ticket", r"T\d{6}", id_fields=("ticket_id",), owner_field="customer_id"),
        )
    ),
    review={"issue_refund": review_refund, "cancel_order": review_cancellation},
    welcome="Ask about orders, returns, refunds and shipping.",
    examples=(
        "where is my order W1000002?",
        "what is the return policy for electronics?",
        "refund order W1000001, it arrived damaged",
    ),
    scenarios=SCENARIOS if SCENARIOS.is_dir() else None,
    tenant="acme",
    user="agent.demo",
    role="support_agent",
)
