"""Setting a database up for a domain: schema, seed data, reset.

Used by ``tiller db …``; each returns a one-line report for the terminal. The domain is the one
the settings name (``TILLER_DOMAIN``); its tables are created beside the runtime's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, text
from sqlalchemy.exc import OperationalError

from agent.config import Settings, domain_of
from agent.errors import ConfigError, DatabaseUnavailable
from agent.persistence.database import check_sqlite_file, connect_engine, redacted_url
from agent.persistence.storage import home_fix, require_writable
from agent.persistence.tables import create_store_schema, drop_store_schema
from tools import ledger
from tools.db import Base
from tools.domain import AlreadySeeded, Domain, Fixtures

_PG_CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints", "checkpoint_migrations")


def _engine(settings: Settings) -> Engine:
    if not settings.uses_postgres:
        require_writable(settings.home, "the Tiller home", home_fix(settings.home, settings.database_url is None))
        if settings.db_url.startswith("sqlite:///"):
            check_sqlite_file(Path(settings.db_url.removeprefix("sqlite:///")), must_exist=False)
    return connect_engine(settings.db_url)


def init_database(settings: Settings) -> str:
    """Create the runtime's tables, the ledger and the domain's tables (those that are missing)."""
    domain = domain_of(settings)
    engine = _engine(settings)
    try:
        create_store_schema(engine)
        Base.metadata.create_all(engine, tables=[cast(Table, ledger.ToolEffect.__table__)])
        if domain.metadata is not None:
            domain.metadata.create_all(engine)
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot create tables in {redacted_url(settings.db_url)}: {exc.orig}") from None
    finally:
        engine.dispose()
    return f"database ready for {domain.name}: {redacted_url(settings.db_url)}"


def fixtures_of(domain: Domain, values: Mapping[str, Any] | None = None, size: str | None = None) -> Fixtures:
    """The domain's seed fixtures for a named ``size`` and ``values``; a bad one is a ``ConfigError``."""
    try:
        return domain.seed.parse(values, size)
    except ValueError as exc:
        raise ConfigError(f"{domain.name} seed: {exc}") from None


def seed_database(settings: Settings, fixtures: Fixtures | None = None, *, if_empty: bool = False) -> str:
    """Seed the domain's data; with ``if_empty`` an already seeded database is left as it is."""
    domain = domain_of(settings)
    if domain.seed.run is None:
        return f"{domain.name} has nothing to seed"
    init_database(settings)
    engine = _engine(settings)
    try:
        report = domain.seed.run(engine, fixtures or fixtures_of(domain))
    except AlreadySeeded as exc:
        if if_empty:
            where = redacted_url(settings.db_url)
            return f"{domain.name} data already present in {where}; kept as is (`tiller db reset` starts over)"
        raise DatabaseUnavailable(f"{exc}; run `tiller db reset` to start over") from None
    finally:
        engine.dispose()
    return f"seeded {redacted_url(settings.db_url)}: {report}"


def reset_database(settings: Settings, fixtures: Fixtures | None = None) -> str:
    """Drop every table (the domain's, the runtime's, checkpoints) and seed afresh."""
    domain = domain_of(settings)
    engine = _engine(settings)
    try:
        if domain.metadata is not None:
            domain.metadata.drop_all(engine)
        drop_store_schema(engine)
        Base.metadata.drop_all(engine, tables=[cast(Table, ledger.ToolEffect.__table__)])
        if settings.uses_postgres:  # LangGraph's checkpoint tables live in the same database
            with engine.begin() as conn:
                for table in _PG_CHECKPOINT_TABLES:
                    conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()
    for path in (settings.checkpoint_path, *settings.checkpoint_path.parent.glob("checkpoints.db-*")):
        path.unlink(missing_ok=True)
    return seed_database(settings, fixtures)
