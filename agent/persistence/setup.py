"""Setting up the demo: database schema, seed data, the knowledge-base index.

Used by ``tiller db …`` and ``tiller index``; each returns a one-line report for the terminal.
"""

from __future__ import annotations

import shutil
import time

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from agent.config import Settings
from agent.errors import ConfigError, DatabaseUnavailable
from agent.persistence.database import connect_engine, redacted_url
from agent.persistence.tables import create_store_schema, drop_store_schema
from tools import ledger
from tools.db import Base

_PG_CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints", "checkpoint_migrations")


def _engine(settings: Settings):
    if not settings.uses_postgres:
        settings.home.mkdir(parents=True, exist_ok=True)
    return connect_engine(settings.db_url)


def init_database(settings: Settings) -> str:
    from tools.commerce.models import create_schema

    engine = _engine(settings)
    try:
        create_schema(engine)  # business tables and the ledger (both on tools.db.Base)
        create_store_schema(engine)
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot create tables in {redacted_url(settings.db_url)}: {exc.orig}") from None
    finally:
        engine.dispose()
    assert ledger.ToolEffect.__tablename__  # the ledger module registers its table on import
    return f"database ready: {redacted_url(settings.db_url)}"


def seed_database(settings: Settings, *, customers: int, orders: int, seed: int = 7, if_empty: bool = False) -> str:
    """Seed the demo data; with ``if_empty`` an already seeded database is left as it is."""
    from tools.commerce.seed import AlreadySeeded
    from tools.commerce.seed import seed as run_seed

    init_database(settings)
    engine = _engine(settings)
    try:
        report = run_seed(engine, customers=customers, orders=orders, seed=seed)
    except AlreadySeeded as exc:
        if if_empty:
            where = redacted_url(settings.db_url)
            return f"demo data already present in {where}; kept as is (`tiller db reset` starts over)"
        raise DatabaseUnavailable(f"{exc}; run `tiller db reset` to start over") from None
    finally:
        engine.dispose()
    return f"seeded {redacted_url(settings.db_url)}: {report}"


def reset_database(settings: Settings, *, customers: int, orders: int) -> str:
    from tools.commerce.models import drop_schema

    engine = _engine(settings)
    try:
        drop_schema(engine)
        drop_store_schema(engine)
        Base.metadata.drop_all(engine, tables=[ledger.ToolEffect.__table__])  # type: ignore[list-item]
        if settings.uses_postgres:  # LangGraph's checkpoint tables live in the same database
            with engine.begin() as conn:
                for table in _PG_CHECKPOINT_TABLES:
                    conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()
    for path in (settings.checkpoint_path, *settings.checkpoint_path.parent.glob("checkpoints.db-*")):
        path.unlink(missing_ok=True)
    return seed_database(settings, customers=customers, orders=orders)


def build_index(settings: Settings, *, force: bool = False) -> str:
    from tools.retrieval import build_or_load

    if not settings.kb_dir.is_dir():
        raise ConfigError(f"knowledge base folder {settings.kb_dir} does not exist; set TILLER_KB_DIR")
    started = time.perf_counter()
    if force:
        shutil.rmtree(settings.index_dir, ignore_errors=True)
    index = build_or_load(settings.kb_dir, settings.index_dir, mode=settings.retrieval_mode)
    took = time.perf_counter() - started
    verb = f"rebuilt ({index.rebuild_reason})" if index.rebuilt else "up to date"
    return f"index {verb}: {len(index)} chunks from {settings.kb_dir} in {took:.2f}s → {settings.index_dir}"
