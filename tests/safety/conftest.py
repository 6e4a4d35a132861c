"""Fixtures of the safety suite: the corpora, planting helpers, and business-state snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text

from agent.config import Settings
from tools.commerce.models import AuditEntry, Order, Refund, Ticket
from tools.db import make_engine
from tools.ledger import ToolEffect

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def injections() -> list[dict[str, str]]:
    return yaml.safe_load((DATA / "injections.yaml").read_text())["injections"]


@pytest.fixture(scope="session")
def benign_messages() -> list[dict[str, str]]:
    return yaml.safe_load((DATA / "benign.yaml").read_text())["messages"]


BusinessState = dict[str, Any]


def business_state(settings: Settings) -> BusinessState:
    """Everything a hijacked run could change: refunds, orders, tickets, audit log, ledger."""
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(
                select(
                    Order.public_id,
                    Order.status,
                    Order.amount_refunded_cents,
                    Order.ship_line1,
                    Order.ship_city,
                    Order.cancelled_at,
                ).order_by(Order.public_id)
            ).all()
            return {
                "refunds": conn.scalar(select(func.count(Refund.id))),
                "tickets": conn.scalar(select(func.count(Ticket.id))),
                "audit_log": conn.scalar(select(func.count(AuditEntry.id))),
                "tool_effects": conn.scalar(select(func.count(ToolEffect.key))),
                "orders": [tuple(r) for r in orders],
                "approvals_used": conn.scalar(
                    text("SELECT count(*) FROM approvals WHERE status IN ('approved', 'executed')")
                ),
            }
    finally:
        engine.dispose()


@pytest.fixture
def plant(settings: Settings) -> Callable[[str, str], None]:
    """``plant(sql, text)`` runs an UPDATE with ``:text`` bound (customer notes, ticket bodies)."""
    engine = make_engine(settings.db_url)

    def run(sql: str, value: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(sql), {"text": value})

    yield run
    engine.dispose()
