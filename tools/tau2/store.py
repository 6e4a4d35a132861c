"""A τ² database held in Tiller's SQL database, one table per collection, one row per record.

τ²'s database is a pydantic model whose fields are collections (``orders: dict[str, Order]``,
or a list of records); each collection becomes a table ``tau2_<domain>_<collection>`` with the
tenant, the record's key and one JSON column per field of the record model — so the eval
harness's state checks read and diff τ² records field by field, and a tool's effect commits in
the transaction that records its idempotency key. A call loads the tenant's rows into τ²'s own
model, runs τ²'s tool on it, and writes back only the records that changed.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, MetaData, String, Table, delete, select, update
from sqlalchemy.orm import Session

from tools.errors import ToolDefinitionError

KEY = "key"
TENANT = "tenant_id"


@dataclass(frozen=True)
class Collection:
    """One collection of a τ² database and its table."""

    name: str
    record: type[BaseModel]
    keyed: bool
    """``dict[str, Record]`` (the key is the dict's); else a list, keyed by position."""
    table: Table

    def rows(self, tenant: str, records: Any) -> Iterator[dict[str, Any]]:
        """The table rows of a collection's records (dumped as τ² dumps them)."""
        items = records.items() if self.keyed else ((f"{i:06d}", r) for i, r in enumerate(records))
        for key, record in items:
            yield {TENANT: tenant, KEY: key, **record.model_dump(mode="json")}


def _collection_shape(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(args) == 2 and _is_model(args[1]):
        return args[1], True
    if origin is list and len(args) == 1 and _is_model(args[0]):
        return args[0], False
    return None


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def table_prefix(domain: str) -> str:
    """The prefix of the tables of a τ² domain (``tau2_retail``)."""
    return "tau2_" + domain.replace("-", "_")


class Tau2Store:
    """The tables of one τ² database model, and loading / saving a tenant's copy of it."""

    def __init__(self, domain: str, db_model: type[BaseModel]) -> None:
        self.db_model = db_model
        self.metadata = MetaData()
        self.collections: list[Collection] = []
        for name, field in db_model.model_fields.items():
            shape = _collection_shape(field.annotation)
            if shape is None:
                raise ToolDefinitionError(
                    f"τ² domain {domain!r}: {db_model.__name__}.{name} is not a dict or list of records"
                )
            record, keyed = shape
            if {KEY, TENANT} & set(record.model_fields):
                raise ToolDefinitionError(f"τ² domain {domain!r}: {record.__name__} has a field named {KEY}/{TENANT}")
            columns = [Column(f, JSON(none_as_null=True), nullable=True) for f in record.model_fields]
            table = Table(
                f"{table_prefix(domain)}_{name}",
                self.metadata,
                Column(TENANT, String(64), primary_key=True),
                Column(KEY, String(128), primary_key=True),
                *columns,
            )
            self.collections.append(Collection(name, record, keyed, table))

    def seed_rows(self, tenant: str, db: BaseModel) -> dict[Table, list[dict[str, Any]]]:
        """Every row of ``db`` for ``tenant``, per table."""
        return {c.table: list(c.rows(tenant, getattr(db, c.name))) for c in self.collections}

    def load(self, session: Session, tenant: str) -> Loaded:
        """The tenant's τ² database as τ²'s model, and the rows it was built from."""
        raw: dict[str, dict[str, dict[str, Any]]] = {}
        data: dict[str, Any] = {}
        for c in self.collections:
            query = select(c.table).where(c.table.c[TENANT] == tenant).order_by(c.table.c[KEY])
            rows = {r[KEY]: {k: v for k, v in r.items()} for r in session.execute(query).mappings()}
            raw[c.name] = rows
            records = {key: _record_data(row) for key, row in rows.items()}
            data[c.name] = records if c.keyed else list(records.values())
        return Loaded(self.db_model.model_validate(data), raw)

    def save(self, session: Session, tenant: str, loaded: Loaded) -> int:
        """Write back the records a call changed, added or removed; returns how many."""
        changes = 0
        for c in self.collections:
            before = loaded.rows[c.name]
            after = {row[KEY]: row for row in c.rows(tenant, getattr(loaded.db, c.name))}
            for key, row in after.items():
                old = before.get(key)
                if old is None:
                    session.execute(c.table.insert().values(**row))
                elif _record_data(old) != _record_data(row):
                    where = (c.table.c[TENANT] == tenant) & (c.table.c[KEY] == key)
                    session.execute(update(c.table).where(where).values(**_record_data(row)))
                else:
                    continue
                changes += 1
            for key in before.keys() - after.keys():
                session.execute(delete(c.table).where((c.table.c[TENANT] == tenant) & (c.table.c[KEY] == key)))
                changes += 1
        session.flush()
        return changes


def _record_data(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in (KEY, TENANT)}


@dataclass
class Loaded:
    """A tenant's τ² database for one call: τ²'s model (tools mutate it) and the rows it came from."""

    db: BaseModel
    rows: dict[str, dict[str, dict[str, Any]]]
