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


def test_numbers_by_value_in_the_answer_and_the_checks() -> None:
    answer = "Your refund of $1,093.34 is on its way; the new total is 481.50 and 100 items ship."
    by_value = AnswerExpectation(contains=["1093.34", "481.5", "$1093.340"], numbers="by_value")
    assert check_answer(by_value, answer).passed
    as_written = AnswerExpectation(contains=["1093.34"])
    assert not check_answer(as_written, answer).passed
    # a number alone is one of the answer's numbers, not a piece of one
    assert not check_answer(AnswerExpectation(contains=["10"], numbers="by_value"), answer).passed
    assert check_answer(AnswerExpectation(contains=["100 items"], numbers="by_value"), answer).passed


def _transcript(*turns: tuple[str, list[str], str]) -> Any:
    from evals.transcript import Transcript, TurnRecord

    return Transcript(
        turns=[TurnRecord(message="hi", status=status, answer=a[-1], answers=a) for _, a, status in turns]
    )


def test_messages_all_reads_every_answer_of_the_conversation() -> None:
    from evals.scenario import Scenario
    from evals.scoring import score_trial

    transcript = _transcript(("t1", ["Waiting for approval: 46.66 back.", "Refunded."], "completed"))
    final = Scenario.model_validate({"id": "x", "turns": ["hi"], "expect": {"answer": {"contains": ["46.66"]}}})
    every = final.model_copy(
        update={
            "expect": final.expect.model_copy(update={"answer": AnswerExpectation(contains=["46.66"], messages="all")})
        }
    )
    checks = {c.name: c.passed for c in score_trial(final, transcript, None, None).checks}
    assert checks["answer"] is False
    checks = {c.name: c.passed for c in score_trial(every, transcript, None, None).checks}
    assert checks["answer"] is True


def test_a_run_stopped_at_a_limit_fails_a_check_of_its_own() -> None:
    from evals.scenario import Scenario
    from evals.scoring import score_trial

    transcript = _transcript(("t1", ["Best effort."], "limit_reached"))
    transcript.turns[0].stop_reason = "max_steps"
    loose = Scenario.model_validate({"id": "x", "turns": ["hi"]})
    [limit] = [c for c in score_trial(loose, transcript, None, None).checks if c.name == "limit"]
    assert not limit.passed and limit.details == ["turn 1 stopped at a limit: max_steps"]
    expected = Scenario.model_validate({"id": "x", "turns": ["hi"], "expect": {"status": "limit_reached"}})
    assert all(c.name != "limit" for c in score_trial(expected, transcript, None, None).checks)


def test_dollar_columns_come_from_the_schema_not_the_first_row() -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

    metadata = MetaData()
    table = Table(
        "gifts",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("value_cents", Integer),
        Column("note", String),
    )
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "value_cents": None}, {"id": 2, "value_cents": 1250}])
    reader = RowReader(engine, metadata)
    rows = reader.rows("gifts", None)
    assert "value" in reader.columns("gifts")
    assert [r["value"] for r in rows] == [None, Decimal("12.50")]
