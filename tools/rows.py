"""Reading a business database, read-only, as friendly rows (the eval harness's state checks).

Rows are read the way a person talks about them, whatever the domain:

- ``public_id`` is also readable as ``<entity>_id`` (``order_id`` on ``orders``);
- a foreign key to a table with public ids reads as that public id (``order_id`` on a child
  table is the order's public id, not the integer key);
- money columns ``*_cents`` read in dollars without the suffix (``amount`` = ``amount_cents``/100),
  decided by the column's name, so a null in the first row changes nothing;
- timestamps read as ISO 8601 text, enums as their value.

The tables are the domain's (its ``metadata``) and the idempotency ledger's.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, MetaData, Table, create_engine, select, tuple_

from tools.ledger import ToolEffect

Row = dict[str, Any]


def read_only_engine(database: Path) -> Engine:
    """An engine that can only read the SQLite file ``database`` (the caller disposes of it)."""
    return create_engine(f"sqlite:///file:{database}?mode=ro&uri=true")


@contextmanager
def read_only(database: Path) -> Iterator[Engine]:
    """An engine that can only read the SQLite file ``database``, disposed of afterwards."""
    engine = read_only_engine(database)
    try:
        yield engine
    finally:
        engine.dispose()


def business_tables(metadata: MetaData | Sequence[MetaData] | None) -> dict[str, Table]:
    """The tables a reader serves: those of ``metadata`` and the ledger's."""
    metadatas = [] if metadata is None else [metadata] if isinstance(metadata, MetaData) else list(metadata)
    tables: dict[str, Table] = {t.name: t for m in metadatas for t in m.sorted_tables}
    ledger = cast(Table, ToolEffect.__table__)  # a declarative class's table is a Table
    tables.setdefault(ledger.name, ledger)
    return tables


def friendly_columns(table: Table) -> list[str]:
    """The column names a friendly row of ``table`` has (from its schema, not from its rows)."""
    names = [c.name for c in table.c]
    names += [c.name.removesuffix("_cents") for c in table.c if c.name.endswith("_cents")]
    if "public_id" in table.c:
        names.append(f"{singular(table.name)}_id")
    return list(dict.fromkeys(names))


def singular(table: str) -> str:
    """A table's name in the singular (``orders`` → ``order``), for column names like ``order_id``."""
    return table[:-1] if table.endswith("s") else table


class RowReader:
    """Reads friendly rows of any business table from one database (public ids cached).

    ``frozen``: the database never changes while the reader lives (a seeded template shared by
    every trial of a run), so whole-table reads are cached too; the rows returned are shared
    and must not be modified."""

    def __init__(
        self, engine: Engine, metadata: MetaData | Sequence[MetaData] | None = None, *, frozen: bool = False
    ) -> None:
        self.engine = engine
        self.tables = business_tables(metadata)
        self._public_ids: dict[str, dict[int, str]] = {}
        self._rows: dict[tuple[str, str | None], list[Row]] | None = {} if frozen else None

    def rows(self, table_name: str, tenant: str | None) -> list[Row]:
        """All rows of the table (of ``tenant`` when given and the table has tenants), by key."""
        if self._rows is None:
            return self._read(table_name, tenant)
        key = (table_name, tenant)
        if key not in self._rows:
            self._rows[key] = self._read(table_name, tenant)
        return self._rows[key]

    def _read(self, table_name: str, tenant: str | None) -> list[Row]:
        table = self.tables[table_name]
        query = select(table).order_by(*table.primary_key.columns)
        if tenant is not None and "tenant_id" in table.c:
            query = query.where(table.c.tenant_id == tenant)
        with self.engine.connect() as conn:
            raw = [dict(r._mapping) for r in conn.execute(query)]
        return [self._friendly(table, row) for row in raw]

    def rows_with_keys(self, table_name: str, keys: set[tuple[Any, ...]]) -> list[Row]:
        """The rows of the table whose primary key is one of ``keys``, by key."""
        table = self.tables[table_name]
        if not keys:
            return []
        columns = list(table.primary_key.columns)
        key = columns[0] if len(columns) == 1 else tuple_(*columns)
        values = [k[0] for k in keys] if len(columns) == 1 else list(keys)
        query = select(table).where(key.in_(values)).order_by(*columns)
        with self.engine.connect() as conn:
            raw = [dict(r._mapping) for r in conn.execute(query)]
        return [self._friendly(table, row) for row in raw]

    def changed_keys(self, seeded: RowReader) -> dict[str, set[tuple[Any, ...]]] | None:
        """Per table, the primary keys of rows added, removed or changed since ``seeded`` (another
        SQLite file with the same schema), computed by SQLite (``EXCEPT`` both ways, the seeded
        file attached once) so an unchanged table costs one scan in C, not a Python row each;
        ``None`` when either side is not SQLite."""
        path = _sqlite_file(seeded.engine)
        if path is None or _sqlite_file(self.engine) is None:
            return None
        quote = self.engine.dialect.identifier_preparer.quote
        changed: dict[str, set[tuple[Any, ...]]] = {}
        with self.engine.connect() as conn:
            conn.exec_driver_sql("ATTACH DATABASE ? AS seeded", (f"file:{path}?mode=ro",))
            try:
                for table in self.tables.values():
                    name, key = quote(table.name), ", ".join(quote(c.name) for c in table.primary_key.columns)
                    query = (
                        f"SELECT {key} FROM (SELECT * FROM main.{name} EXCEPT SELECT * FROM seeded.{name}) "
                        f"UNION SELECT {key} FROM (SELECT * FROM seeded.{name} EXCEPT SELECT * FROM main.{name})"
                    )
                    changed[table.name] = {tuple(row) for row in conn.exec_driver_sql(query)}
            finally:
                conn.exec_driver_sql("DETACH DATABASE seeded")
        return changed

    def table_names(self) -> list[str]:
        """The database's tables, sorted."""
        return sorted(self.tables)

    def primary_key(self, table: str) -> list[str]:
        """Names of the table's primary-key columns."""
        return [c.name for c in self.tables[table].primary_key.columns]

    def columns(self, table_name: str) -> list[str]:
        """The friendly column names of a table's rows, from its schema."""
        return friendly_columns(self.tables[table_name])

    def label(self, table: str, row: Row) -> str:
        """``orders[W1000003]`` (public id) or ``audit_log[#12]`` (key)."""
        key = row.get("public_id") or "#" + ",".join(str(row[k])[:12] for k in self.primary_key(table))
        return f"{table}[{key}]"

    def _friendly(self, table: Table, row: Row) -> Row:
        out: Row = {}
        for column in table.c:
            value = _plain(row[column.name])
            out[column.name] = value
            if column.name.endswith("_cents"):  # cents → dollars, two places (the name decides, not the value)
                out[column.name.removesuffix("_cents")] = Decimal(value).scaleb(-2) if isinstance(value, int) else value
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


def _sqlite_file(engine: Engine) -> str | None:
    """The file behind a SQLite engine (``read_only`` URIs included), else ``None``."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return engine.url.database.removeprefix("file:")


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
