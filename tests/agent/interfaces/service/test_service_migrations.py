"""``tiller db upgrade``: the migrations create exactly the tables the models declare."""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from agent.config import Settings, with_domain_defaults
from agent.interfaces.cli.app import app as cli
from agent.persistence.migrations import target_metadata, upgrade
from agent.persistence.setup import init_database
from tools.commerce.models import CommerceBase
from tools.db import make_engine
from tools.domain import load_domain


def differences(engine: Engine, metadata: Any = None) -> list[object]:
    """What the tables of ``metadata`` (default: the runtime's) differ in from the database."""
    metadata = metadata if metadata is not None else target_metadata()
    names = {t for m in (metadata if isinstance(metadata, list) else [metadata]) for t in m.tables}
    opts = {"include_name": lambda name, kind, _parent: kind != "table" or name in names}
    with engine.connect() as conn, warnings.catch_warnings():
        # Alembic cannot reflect expression indexes on SQLite; the baseline creates it by hand.
        warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression-based index")
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), metadata))


def test_upgrade_creates_every_table_of_the_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLER_HOME", str(tmp_path / ".tiller"))
    first = CliRunner().invoke(cli, ["db", "upgrade"], catch_exceptions=False)
    assert first.exit_code == 0 and "database at revision" in first.output, first.output
    engine = make_engine(f"sqlite:///{tmp_path / '.tiller' / 'tiller.db'}")
    # A model changed without a revision? `python -m agent.persistence.migrations revision -m …`
    assert differences(engine) == []
    assert differences(engine, CommerceBase.metadata) == []  # the domain's own migrations (tools/commerce/migrations)
    assert "commerce at revision c0001" in first.output
    assert {"threads", "approvals", "api_keys", "workflow_tasks", "orders"} <= set(inspect(engine).get_table_names())
    again = CliRunner().invoke(cli, ["db", "upgrade"], catch_exceptions=False)
    assert again.exit_code == 0 and "recognised" not in again.output
    engine.dispose()


def test_a_database_made_by_db_init_is_adopted(tmp_path: Path) -> None:
    settings = with_domain_defaults(Settings(home=tmp_path / ".tiller"))
    init_database(settings)
    engine = make_engine(settings.db_url)
    report = upgrade(engine, load_domain("commerce"))
    assert report.startswith("existing tables recognised as revision 0001")
    assert "existing commerce tables recognised; commerce at revision c0001" in report
    engine.dispose()


@pytest.mark.postgres
def test_upgrade_on_postgresql_matches_the_models() -> None:
    url = os.environ.get("TILLER_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TILLER_TEST_POSTGRES_URL is not set (CI sets it)")
    schema = f"tiller_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{url}?options=-csearch_path%3D{schema}")
    try:
        assert upgrade(engine, load_domain("commerce")) == "database at revision 0005; commerce at revision c0001"
        assert differences(engine) == [] and differences(engine, CommerceBase.metadata) == []
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
