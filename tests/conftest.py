"""Shared fixtures: a seeded demo database copied per test, settings isolated from the env."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.config import Settings, with_domain_defaults
from agent.persistence.setup import fixtures_of, init_database, seed_database
from agent.runtime.toolset import build_index
from bench.load_server import scratch_schema
from tools.commerce.models import Order, Refund
from tools.db import make_engine
from tools.domain import load_domain


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's TILLER_* or OPENAI_* variables must not change what tests see."""
    for name in list(os.environ):
        if (name.startswith("TILLER_") and not name.startswith("TILLER_TEST_")) or name.startswith("OPENAI_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded SQLite database + index, built once; tests get copies."""
    home = tmp_path_factory.mktemp("seeded") / ".tiller"
    settings = Settings(home=home, retrieval_mode="bm25")
    init_database(settings)
    seed_database(settings, fixtures_of(load_domain("commerce"), size="test"))
    build_index(settings)
    return home


@pytest.fixture
def settings(seeded_home: Path, tmp_path: Path) -> Settings:
    home = tmp_path / ".tiller"
    shutil.copytree(seeded_home, home)
    # BM25 keeps agent tests fast; hybrid retrieval has its own tests under tests/tools/retrieval.
    return with_domain_defaults(Settings(home=home, model="offline", retrieval_mode="bm25", model_retry_initial_s=0.01))


@pytest.fixture
def refunds(settings: Settings) -> Iterator[object]:
    """``refunds(order_id)`` → (count, total cents) of refunds issued on an order."""
    engine = make_engine(settings.db_url)

    def count(order_id: str) -> tuple[int, int]:
        with engine.connect() as conn:
            row = conn.execute(
                select(func.count(Refund.id), func.coalesce(func.sum(Refund.amount_cents), 0))
                .join(Order, Refund.order_id == Order.id)
                .where(Order.public_id == order_id)
            ).one()
            return int(row[0]), int(row[1])

    yield count
    engine.dispose()


POSTGRES_URL = os.environ.get("TILLER_TEST_POSTGRES_URL")


@contextmanager
def postgres_schema(prefix: str = "tiller_test") -> Iterator[str]:
    """The URL of a fresh schema on the test PostgreSQL (chosen through the search_path), dropped
    after; skips the test when no PostgreSQL is configured."""
    if not POSTGRES_URL:
        pytest.skip("TILLER_TEST_POSTGRES_URL is not set (CI sets it)")
    with scratch_schema(POSTGRES_URL, prefix) as url:  # the load benchmark's helper: one implementation
        yield url


@contextmanager
def seeded_postgres(home: Path, prefix: str = "tiller_test") -> Iterator[Settings]:
    """Settings on a fresh, seeded PostgreSQL schema (``postgres_schema``), dropped after."""
    with postgres_schema(prefix) as url:
        settings = with_domain_defaults(
            Settings(home=home, database_url=url, retrieval_mode="bm25", model_retry_initial_s=0.01)
        )
        init_database(settings)
        seed_database(settings, fixtures_of(load_domain("commerce"), {"customers": 20, "orders": 40}))
        build_index(settings)
        yield settings


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    """The demo data on a fresh PostgreSQL schema; skipped (visibly) without a test database."""
    with seeded_postgres(tmp_path / ".tiller") as settings:
        yield settings
