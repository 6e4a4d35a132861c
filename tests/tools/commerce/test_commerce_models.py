"""The commerce tables: money as cents, tenant scoping, UTC timestamps, unique public ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, Integer, Numeric, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from tools import ledger  # noqa: F401  (registers the ledger table on Base)
from tools.commerce.models import COMMERCE_TABLES, CommerceBase, Order, OrderStatus, Tenant, create_schema, drop_schema
from tools.db import Base, make_session_factory, transaction

MakeEngine = Callable[[], Engine]


def test_money_is_integer_cents_everywhere() -> None:
    for table in COMMERCE_TABLES:
        for column in table.columns:
            assert not isinstance(column.type, Numeric), f"{table.name}.{column.name} must not be Numeric"
            if column.name.endswith("_cents"):
                assert isinstance(column.type, Integer), f"{table.name}.{column.name}"


def test_every_business_table_has_an_indexed_tenant_id() -> None:
    for table in COMMERCE_TABLES:
        if table.name == "tenants":
            continue
        column = table.c.tenant_id
        assert column.index, f"{table.name}.tenant_id is not indexed"
        assert [fk.column.table.name for fk in column.foreign_keys] == ["tenants"]


def test_order_status_values() -> None:
    assert [s.value for s in OrderStatus] == ["pending_payment", "processing", "shipped", "delivered", "cancelled"]
    assert {s for s in OrderStatus if s.is_open} == {OrderStatus.PENDING_PAYMENT, OrderStatus.PROCESSING}


def test_create_and_drop_schema_touch_only_what_they_should(new_engine: MakeEngine) -> None:
    engine = new_engine()
    Base.metadata.create_all(engine)  # the idempotency ledger, created by the runtime
    create_schema(engine)
    names = set(inspect(engine).get_table_names())
    assert {t.name for t in COMMERCE_TABLES} <= names
    assert set(CommerceBase.metadata.tables) == {t.name for t in COMMERCE_TABLES}  # the domain's own metadata
    others = {t.name for t in Base.metadata.sorted_tables}
    assert others and not others & {t.name for t in COMMERCE_TABLES}
    drop_schema(engine)
    left = set(inspect(engine).get_table_names())
    assert not left & {t.name for t in COMMERCE_TABLES}
    assert others <= left  # e.g. the idempotency ledger survives a commerce reset


def test_timestamps_come_back_as_aware_utc(seeded: Engine) -> None:
    factory = make_session_factory(seeded)
    pacific = timezone(timedelta(hours=-7))
    with transaction(factory) as session:
        session.add(Tenant(id="initech", name="Initech", created_at=datetime(2026, 5, 1, 17, 30, tzinfo=pacific)))
    with transaction(factory) as session:
        created = session.scalars(select(Tenant.created_at).where(Tenant.id == "initech")).one()
        session.delete(session.get(Tenant, "initech"))
    assert created == datetime(2026, 5, 2, 0, 30, tzinfo=UTC)
    assert created.tzinfo is UTC


def test_naive_timestamps_are_refused(seeded: Engine) -> None:
    factory = make_session_factory(seeded)
    with pytest.raises(StatementError, match="naive datetime"), transaction(factory) as session:
        session.add(Tenant(id="naive", name="Naive", created_at=datetime(2026, 5, 1)))
        session.flush()


def test_public_ids_are_unique_per_tenant(seeded: Engine) -> None:
    factory = make_session_factory(seeded)
    with transaction(factory) as session:
        original = session.scalars(select(Order).where(Order.public_id == "W1000001")).one()
        values = {c.key: getattr(original, c.key) for c in inspect(Order).column_attrs if c.key != "id"}
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.add(Order(**values))
        session.flush()
