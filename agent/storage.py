"""Opening the database the runtime works on, with errors that say what to run."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.checkpoint import SCHEMA_LOCK
from agent.errors import DatabaseUnavailable
from agent.store import create_store_schema
from tools import ledger
from tools.db import Base, make_engine, make_session_factory, normalize_url

DEMO_TABLES = ("customers", "orders", "refunds")


def redacted_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def connect_engine(url: str) -> Engine:
    """An engine for ``url``; an unsupported or malformed URL says what is accepted."""
    try:
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseUnavailable(
            f"unsupported database URL {redacted_url(url)} ({exc}); use sqlite:///path/to/file.db or postgresql://…"
        ) from None


def open_database(url: str, *, require_demo_schema: bool) -> tuple[Engine, sessionmaker[Session]]:
    """Connect, create the runtime's own tables if missing, and check the demo schema exists."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        path = Path(url.removeprefix("sqlite:///"))
        if require_demo_schema and not path.exists():
            raise DatabaseUnavailable(
                f"no Tiller database at {path}. Create it with `tiller db init && tiller db seed` "
                "(or `make chat`, which does both)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = connect_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # concurrent starts would race on CREATE TABLE
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            create_store_schema(conn)
            Base.metadata.create_all(conn, tables=[ledger.ToolEffect.__table__])  # type: ignore[list-item]
        missing = [t for t in DEMO_TABLES if not inspect(engine).has_table(t)]
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseUnavailable(
            f"cannot open the database {redacted_url(url)}: {exc.orig}. "
            "Check TILLER_DATABASE_URL and that the database server is running."
        ) from None
    if require_demo_schema and missing:
        engine.dispose()
        raise DatabaseUnavailable(
            f"the database {redacted_url(url)} has no demo tables ({', '.join(missing)}). "
            "Run `tiller db init && tiller db seed`."
        )
    return engine, make_session_factory(engine)
