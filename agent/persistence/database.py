"""Opening the database the runtime works on, with errors that say what to run."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from inspect import iscoroutinefunction
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import Engine, Table, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import DatabaseUnavailable, StorageUnwritable
from agent.persistence.checkpoint import SCHEMA_LOCK
from agent.persistence.storage import directory_problem, exists, require_writable
from agent.persistence.tables import StoreBase, create_store_schema
from tools import ledger
from tools.db import Base, make_engine, make_session_factory, normalize_url
from tools.domain import Domain

P = ParamSpec("P")
R = TypeVar("R")


def redacted_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def connect_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url``; an unsupported or malformed URL says what is accepted."""
    try:
        return make_engine(url, busy_timeout_s=busy_timeout_s)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseUnavailable(
            f"unsupported database URL {redacted_url(url)} ({exc}); use sqlite:///path/to/file.db or postgresql://…"
        ) from None


def open_database(
    url: str, *, require: Domain | None = None, busy_timeout_s: float = 30.0
) -> tuple[Engine, sessionmaker[Session]]:
    """Connect, create the runtime's own tables if missing, and check that the tables of the
    domain ``require`` names exist (``None``: the business tables are not needed)."""
    if url.startswith("sqlite:///"):
        check_sqlite_file(Path(url.removeprefix("sqlite:///")), must_exist=require is not None)
    engine = connect_engine(url, busy_timeout_s=busy_timeout_s)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # concurrent starts would race on CREATE TABLE
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            create_store_schema(conn)
            Base.metadata.create_all(conn, tables=[cast(Table, ledger.ToolEffect.__table__)])
        missing = missing_tables(engine, require)
    except DatabaseError as exc:  # unreachable, locked, or a file that is not a database
        engine.dispose()
        hint = (
            "Check TILLER_HOME and TILLER_DATABASE_URL: the file must be a Tiller database no other process "
            "holds locked (`tiller db init` creates one)."
            if engine.dialect.name == "sqlite"
            else "Check TILLER_DATABASE_URL and that the database server is running."
        )
        raise DatabaseUnavailable(f"cannot open the database {redacted_url(url)}: {exc.orig}. {hint}") from None
    if outdated := _outdated_columns(engine):
        engine.dispose()
        raise DatabaseUnavailable(
            f"the database {redacted_url(url)} was created by an older Tiller ({outdated}). "
            "Run `tiller db upgrade`: it migrates the schema and keeps every row."
        )
    if missing:
        engine.dispose()
        raise DatabaseUnavailable(no_tables_message(url, require, missing))
    return engine, make_session_factory(engine)


def check_sqlite_file(path: Path, *, must_exist: bool) -> None:
    """A SQLite database file can be opened for writing where it is (its directory holds its
    journal too); the message names the directory and the fix."""
    if must_exist and not exists(path):
        if problem := directory_problem(path.parent):  # say why, rather than "create it"
            raise StorageUnwritable(f"the database directory {path.parent} {problem}. {_sqlite_fix(path)}")
        raise DatabaseUnavailable(
            f"no Tiller database at {path}. Create it with `tiller db upgrade && tiller db seed`, "
            "run with this command's domain (--domain or TILLER_DOMAIN) and home (TILLER_HOME); "
            "for the demo shop in this repository, `make data` does both and builds its search index."
        )
    require_writable(path.parent, "the database directory", _sqlite_fix(path))
    if exists(path) and not os.access(path, os.R_OK | os.W_OK):
        raise StorageUnwritable(
            f"the database file {path} is not readable and writable by this user. {_sqlite_fix(path)}"
        )


def _sqlite_fix(path: Path) -> str:
    return (
        f"Give this user write access to it (e.g. `chmod u+rw {path}` and `chmod u+rwx {path.parent}`), or set "
        "TILLER_HOME (or TILLER_DATABASE_URL) to a writable place."
    )


def missing_tables(engine: Engine, domain: Domain | None) -> list[str]:
    """The tables of ``domain`` the database does not have (none when no domain is given)."""
    if domain is None or domain.metadata is None:
        return []
    inspector = inspect(engine)
    return [t.name for t in domain.metadata.sorted_tables if not inspector.has_table(t.name)]


def no_tables_message(url: str, domain: Domain | None, missing: list[str]) -> str:
    """The error message for a database without the domain's tables: which are missing and what to run."""
    name = domain.name if domain is not None else "?"
    shown = ", ".join(missing[:6]) + (", …" if len(missing) > 6 else "")
    return (
        f"the database {redacted_url(url)} has no tables of the domain {name!r} ({shown}). "
        f"Run `tiller db init && tiller db seed` (with TILLER_DOMAIN={name})."
    )


def ping(engine: Engine) -> None:
    """Raise unless the database answers a query on the runtime's tables (readiness checks)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1 FROM threads LIMIT 1"))


def database_error(exc: OperationalError) -> DatabaseUnavailable:
    """A database's refusal during a runtime call — a lock another process held past the busy
    timeout (``TILLER_DB_BUSY_TIMEOUT_S``), a lost connection — as a message saying what happened."""
    detail = str(exc.orig)
    if "locked" in detail or "busy" in detail:
        return DatabaseUnavailable(
            "the database is locked by another process (a long write or a backup) and stayed locked "
            "past TILLER_DB_BUSY_TIMEOUT_S; try again in a moment"
        )
    return DatabaseUnavailable(f"the database is unavailable ({detail}); check TILLER_DATABASE_URL and try again")


def translate_database_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Raise :func:`database_error` instead of a driver traceback from a runtime call (sync or
    async). A tool's own database errors never get here: they become tool errors the model reads."""
    if iscoroutinefunction(method):

        @functools.wraps(method)
        async def acall(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                return await method(*args, **kwargs)
            except OperationalError as exc:
                raise database_error(exc) from None

        return cast(Callable[P, R], acall)  # R is the coroutine acall returns

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except OperationalError as exc:
            raise database_error(exc) from None

    return call


def _outdated_columns(engine: Engine) -> str:
    """Runtime tables that exist but lack a column the models declare (``create_all`` adds
    missing tables, never missing columns), as ``table: col, col``; empty when up to date."""
    inspector = inspect(engine)
    existing = set(inspector.get_table_names())
    gaps = []
    for table in StoreBase.metadata.sorted_tables:
        if table.name in existing:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            if lacking := [c.name for c in table.columns if c.name not in have]:
                gaps.append(f"{table.name}: {', '.join(lacking)}")
    return "; ".join(gaps)
