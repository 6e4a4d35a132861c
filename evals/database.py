"""Reading a trial's business database, read-only, as friendly rows.

Rows are read the way a support person talks about them, so assertions map onto the commerce
tables naturally:

- ``public_id`` is also readable as ``<entity>_id`` (``order_id`` on orders, ``refund_id`` on
  refunds);
- a foreign key to a table with public ids reads as that public id (``order_id`` on refunds is
  ``W1000001``, not the integer key);
- money columns ``*_cents`` read in dollars without the suffix (``amount`` = ``amount_cents``/100);
- timestamps read as ISO 8601 text, enums as their value.

Every table registered on ``tools.db.Base`` can be read (business tables and the ledger).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, select

import tools.commerce.models
import tools.ledger  # noqa: F401  (registers the ledger table on Base)
from tools.db import Base

Row = dict[str, Any]


@contextmanager
def read_only(database: Path) -> Iterator[Engine]:
    """An engine that can only read the SQLite file ``database``."""
    engine = create_engine(f"sqlite:///file:{database}?mode=ro&uri=true")
    try:
        yield engine
    finally:
        engine.dispose()


def table_names() -> list[str]:
    return sorted(Base.metadata.tables)


def primary_key(table: str) -> list[str]:
    """Names of the table's primary-key columns."""
    return [c.name for c in Base.metadata.tables[table].primary_key.columns]


def singular(table: str) -> str:
    return table[:-1] if table.endswith("s") else table


class RowReader:
    """Reads friendly rows of any business table from one database (public ids cached)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._public_ids: dict[str, dict[int, str]] = {}

    def rows(self, table_name: str, tenant: str | None) -> list[Row]:
        """All rows of the table (of ``tenant`` when given and the table has tenants), by key."""
        table = Base.metadata.tables[table_name]
        query = select(table).order_by(*table.primary_key.columns)
        if tenant is not None and "tenant_id" in table.c:
            query = query.where(table.c.tenant_id == tenant)
        with self.engine.connect() as conn:
            raw = [dict(r._mapping) for r in conn.execute(query)]
        return [self._friendly(table, row) for row in raw]

    def _friendly(self, table: Table, row: Row) -> Row:
        out: Row = {}
        for column in table.c:
            value = _plain(row[column.name])
            out[column.name] = value
            if column.name.endswith("_cents") and isinstance(value, int):
                out[column.name.removesuffix("_cents")] = Decimal(value).scaleb(-2)  # cents → dollars, two places
            elif column.name == "public_id":
                out.setdefault(f"{singular(table.name)}_id", value)
        for fk in table.foreign_keys:
            target = fk.column.table
            if "public_id" in target.c and fk.parent.name != "id" and row[fk.parent.name] is not None:
                out[fk.parent.name] = self._public_id(target, row[fk.parent.name])
        return out

    def _public_id(self, table: Table, key: int) -> str | None:
        if table.name not in self._public_ids:
            with self.engine.connect() as conn:
                self._public_ids[table.name] = dict(conn.execute(select(table.c.id, table.c.public_id)).all())
        return self._public_ids[table.name].get(key)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_label(table: str, row: Row) -> str:
    """``orders[W1000003]`` (public id) or ``audit_log[#12]`` (key)."""
    key = row.get("public_id") or "#" + ",".join(str(row[k])[:12] for k in primary_key(table))
    return f"{table}[{key}]"
