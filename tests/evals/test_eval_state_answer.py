"""State checks read the business database the friendly way and explain failures field by
field; answer checks explain what the answer lacked."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from agent.config import Settings
from evals.answer import check_answer
from evals.arg_matching import describe_value
from evals.scenario import AnswerExpectation, StateAssertion
from evals.state import check_state, database_changes
from tools.commerce.models import CommerceBase, Order
from tools.db import make_engine
from tools.rows import RowReader, read_only


@pytest.fixture
def readers(settings: Settings, seeded_home: Path) -> Iterator[tuple[RowReader, RowReader]]:
    """(after, before): the test's copy of the seeded database, changed by the test, and the seed."""
    engine = make_engine(settings.db_url)
    with engine.begin() as conn:
        conn.execute(
            update(Order).where(Order.public_id == "W1000003").values(status="cancelled", amount_refunded_cents=5450)
        )
    engine.dispose()
    with read_only(settings.home / "tiller.db") as after, read_only(seeded_home / "tiller.db") as before:
        yield RowReader(after, CommerceBase.metadata), RowReader(before, CommerceBase.metadata)


def check(readers: tuple[RowReader, RowReader], *assertions: dict[str, Any]) -> list[str]:
    after, before = readers
    return check_state([StateAssertion.model_validate(a) for a in assertions], after, before, "acme")


def test_friendly_columns_public_ids_and_dollars(readers: tuple[RowReader, RowReader]) -> None:
    [order] = [r for r in readers[0].rows("orders", "acme") if r["order_id"] == "W1000004"]
    assert order["customer_id"] == "C000002" and order["total"] == Decimal("200")
    [refund] = [r for r in readers[0].rows("refunds", "acme") if r["order_id"] == "W1000004"]
    assert (refund["refund_id"], refund["amount"], refund["reason"]) == ("R1000001", Decimal("50"), "damaged")


def test_passing_assertions(readers: tuple[RowReader, RowReader]) -> None:
    assert (
        check(
            readers,
            {
                "table": "orders",
                "where": {"order_id": "W1000003"},
                "fields": {"status": "cancelled", "amount_refunded": Decimal("54.50")},
            },
            {"table": "refunds", "where": {"order_id": "W1000004"}, "count": 1},
            {"table": "refunds", "where": {"order_id": {"regex": "^W100000[1-8]$"}}, "count": {"min": 3, "max": 3}},
            {"table": "orders", "where": {"order_id": "W1000001"}, "unchanged": True},
        )
        == []
    )


def test_field_level_diff_on_failure(readers: tuple[RowReader, RowReader]) -> None:
    assert check(
        readers,
        {
            "table": "orders",
            "where": {"order_id": "W1000003"},
            "fields": {"status": "processing", "amount_refunded": Decimal("0.00")},
        },
    ) == [
        "state[1] orders[W1000003].status: expected processing, got cancelled",
        "state[1] orders[W1000003].amount_refunded: expected 0.00, got 54.50",
    ]


def test_count_and_unchanged_failures_say_what_differs(readers: tuple[RowReader, RowReader]) -> None:
    assert check(
        readers,
        {"table": "refunds", "where": {"order_id": "W1000001"}, "count": 1},
        {"table": "orders", "where": {"order_id": "W1000003"}, "unchanged": True, "ignore": ["amount_refunded"]},
    ) == [
        "state[1] refunds where order_id=W1000001: expected 1 row(s), got 0",
        "state[2] orders[W1000003].status: seeded processing, now cancelled",
    ]


def test_tenant_scoping(readers: tuple[RowReader, RowReader]) -> None:
    globex = {"table": "orders", "where": {"order_id": "W9000001"}, "count": 1}
    assert check(readers, globex) == ["state[1] orders where order_id=W9000001: expected 1 row(s), got 0"]
    assert check(readers, {**globex, "tenant": "globex"}) == []


def test_unknown_tables_and_columns_are_explained(readers: tuple[RowReader, RowReader]) -> None:
    [table] = check(readers, {"table": "order", "count": 0})
    assert table.startswith("state[1] unknown table 'order' (tables: addresses, audit_log,")
    [column] = check(readers, {"table": "orders", "where": {"number": "W1"}, "count": 0})
    assert column.startswith("state[1] orders has no column 'number' (columns:")


def test_database_changes_list_every_changed_field(readers: tuple[RowReader, RowReader]) -> None:
    assert database_changes(*readers) == {
        "orders": [
            "orders[W1000003].status: seeded processing, now cancelled",
            "orders[W1000003].amount_refunded: seeded 0.00, now 54.50",
        ]
    }


def test_answer_checks_explain_and_quote_the_answer() -> None:
    expectation = AnswerExpectation(
        contains=["W1000002", "FedEx"],
        not_contains=["Gina"],
        regex=[r"\[returns-policy#\d+\]"],
        contains_any=["ups", "dhl"],
    )
    verdict = check_answer(expectation, "Order W1000002 shipped with UPS; Gina says hi.")
    assert verdict.problems == [
        "answer does not contain 'FedEx'",
        "answer contains 'Gina', which it must not",
        r"answer does not match /\[returns-policy#\d+\]/",
        "answer was: 'Order W1000002 shipped with UPS; Gina says hi.'",
    ]
    assert (
        check_answer(AnswerExpectation(contains=["ups"], case_sensitive=True), "UPS").problems[0]
        == "answer does not contain 'ups'"
    )


@pytest.mark.parametrize(("actual", "shown"), [(40, "40.00"), (float("nan"), "nan"), ("inf", "inf")])
def test_a_value_reads_in_the_places_of_the_expected_number_unless_it_is_not_finite(actual: Any, shown: str) -> None:
    assert describe_value(actual, Decimal("40.00")) == shown
