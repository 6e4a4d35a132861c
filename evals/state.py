"""State checks: assertions on the business database after a trial, with a field-level diff.

Each assertion selects rows of one table (``where``, in the friendly column names of
:mod:`tools.rows`) in the scenario's tenant, then checks their ``count``, the ``fields``
every selected row must have, or that they are ``unchanged`` from the seeded database. A
failure names the row and the field: ``bookings[B1000003].status: expected cancelled, got
processing``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.arg_matching import describe_expected, describe_value, value_matches
from evals.scenario import CountRange, StateAssertion
from tools.rows import Row, RowReader

DEFAULT_IGNORED = frozenset({"id"})


def check_state(
    assertions: Sequence[StateAssertion], after: RowReader, before: RowReader | None, tenant: str
) -> list[str]:
    """Explanations of every failed assertion (empty: all hold)."""
    problems: list[str] = []
    for number, assertion in enumerate(assertions, start=1):
        problems += [f"state[{number}] {line}" for line in _check_one(assertion, after, before, tenant)]
    return problems


def _check_one(assertion: StateAssertion, after: RowReader, before: RowReader | None, tenant: str) -> list[str]:
    if assertion.table not in after.tables:
        return [f"unknown table {assertion.table!r} (tables: {', '.join(after.table_names())})"]
    scope = None if assertion.tenant == "*" else (assertion.tenant or tenant)
    rows = after.rows(assertion.table, scope)
    unknown = _unknown_columns(assertion, after.columns(assertion.table))
    if unknown:
        return unknown
    selected = [row for row in rows if _selected(row, assertion.where)]
    where = _describe_where(assertion)
    problems: list[str] = []
    if assertion.count is not None and not _count_ok(assertion.count, len(selected)):
        problems.append(
            f"{assertion.table}{where}: expected {_describe_count(assertion.count)} row(s), got {len(selected)}"
        )
    if assertion.fields:
        if not selected:
            problems.append(f"{assertion.table}{where}: no row matches, so fields cannot be checked")
        for row in selected:
            problems += _field_diffs(after.label(assertion.table, row), row, assertion.fields)
    if assertion.unchanged and before is not None:
        seeded = [row for row in before.rows(assertion.table, scope) if _selected(row, assertion.where)]
        ignored = DEFAULT_IGNORED | set(assertion.ignore)
        problems += diff_rows(after, assertion.table, seeded, selected, ignored)
    return problems


def _unknown_columns(assertion: StateAssertion, columns: list[str]) -> list[str]:
    known = set(columns)
    names = [*assertion.where, *assertion.fields, *assertion.ignore]
    return [
        f"{assertion.table} has no column {name!r} (columns: {', '.join(sorted(known))})"
        for name in dict.fromkeys(names)
        if name not in known
    ]


def _selected(row: Row, where: Mapping[str, Any]) -> bool:
    return all(name in row and value_matches(want, row[name]) for name, want in where.items())


def _count_ok(count: int | CountRange, actual: int) -> bool:
    if isinstance(count, int):
        return actual == count
    return (count.min is None or actual >= count.min) and (count.max is None or actual <= count.max)


def _describe_count(count: int | CountRange) -> str:
    if isinstance(count, int):
        return str(count)
    if count.min is not None and count.max is not None:
        return f"{count.min} to {count.max}"
    return f"at least {count.min}" if count.min is not None else f"at most {count.max}"


def _describe_where(assertion: StateAssertion) -> str:
    if not assertion.where:
        return ""
    return " where " + ", ".join(f"{k}={describe_expected(v)}" for k, v in assertion.where.items())


def _field_diffs(label: str, row: Row, fields: Mapping[str, Any]) -> list[str]:
    return [
        f"{label}.{name}: expected {describe_expected(want)}, got {describe_value(row.get(name), want)}"
        for name, want in fields.items()
        if not value_matches(want, row.get(name))
    ]


def diff_rows(
    reader: RowReader, table: str, before: list[Row], after: list[Row], ignored: frozenset[str] | set[str]
) -> list[str]:
    """Rows added, removed and changed between two reads of a table, field by field (by key)."""
    key = reader.primary_key(table)
    row_label = reader.label
    old = {tuple(row[k] for k in key): row for row in before}
    new = {tuple(row[k] for k in key): row for row in after}
    lines = [f"{row_label(table, new[k])}: new row ({_brief(new[k], ignored)})" for k in new if k not in old]
    lines += [f"{row_label(table, old[k])}: row removed" for k in old if k not in new]
    for k in sorted(old.keys() & new.keys()):
        for name, value in new[k].items():
            if name in ignored or _cents_twin(name, new[k]):
                continue
            if value != old[k].get(name):
                seeded = describe_value(old[k].get(name), value)
                lines.append(f"{row_label(table, new[k])}.{name}: seeded {seeded}, now {describe_value(value)}")
    return lines


def _cents_twin(name: str, row: Row) -> bool:
    """``amount_cents`` when the row also reads as ``amount`` (in dollars): diff that one only."""
    return name.endswith("_cents") and name.removesuffix("_cents") in row


def _brief(row: Row, ignored: frozenset[str] | set[str], limit: int = 6) -> str:
    """A new row's telling fields: no keys, tenants, cents twins or long texts."""
    shown = []
    for name, value in row.items():
        if name in ignored or name in ("public_id", "tenant_id") or value is None or name.endswith("_cents"):
            continue
        text = describe_value(value)
        shown.append(f"{name}={text if len(text) <= 40 else text[:37] + '...'}")
    return ", ".join(shown[:limit])


def database_changes(after: RowReader, before: RowReader) -> dict[str, list[str]]:
    """Every change a trial made to the database, per table (all tenants): the report's diff."""
    changes: dict[str, list[str]] = {}
    changed = after.changed_keys(before)
    for table in after.table_names():
        if changed is None:  # not two SQLite files: compare every row
            lines = diff_rows(after, table, before.rows(table, None), after.rows(table, None), DEFAULT_IGNORED)
        else:
            keys = changed[table]
            lines = diff_rows(
                after, table, before.rows_with_keys(table, keys), after.rows_with_keys(table, keys), DEFAULT_IGNORED
            )
        if lines:
            changes[table] = lines
    return changes
