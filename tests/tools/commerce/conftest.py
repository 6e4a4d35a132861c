"""Commerce fixtures: seeded databases on SQLite, and on PostgreSQL when one is configured.

``TILLER_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) adds a
PostgreSQL variant of every backend test; each module gets its own schema, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from tools.commerce import commerce_tools
from tools.commerce.seed import reset, seed
from tools.contract import ToolContext
from tools.db import make_engine, make_session_factory, transaction
from tools.validation import validate_args

POSTGRES_URL = os.environ.get("TILLER_TEST_POSTGRES_URL")
SIZES = {"customers": 50, "orders": 200}
SPECS = {spec.name: spec for spec in commerce_tools()}

MakeEngine = Callable[[], Engine]
CallTool = Callable[..., Any]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("PostgreSQL variant skipped: set TILLER_TEST_POSTGRES_URL to run it")
    return str(request.param)


@pytest.fixture(scope="module")
def new_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeEngine]:
    """Makes empty databases on the backend: SQLite files, or fresh PostgreSQL schemas."""
    engines: list[Engine] = []
    schemas: list[str] = []

    def make() -> Engine:
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('commerce') / 'commerce.db'}")
        else:
            assert POSTGRES_URL is not None
            schema = f"tiller_test_{uuid.uuid4().hex[:12]}"
            admin = make_engine(POSTGRES_URL)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            schemas.append(schema)
            engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    if schemas:
        assert POSTGRES_URL is not None
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def seeded(new_engine: MakeEngine) -> Engine:
    """One seeded database per module (50 customers / 200 orders); keep it pristine."""
    engine = new_engine()
    seed(engine, **SIZES)
    return engine


@pytest.fixture(scope="module")
def factory(seeded: Engine) -> sessionmaker[Session]:
    return make_session_factory(seeded)


@pytest.fixture
def writable(seeded: Engine) -> Iterator[None]:
    """For tests that change data: the module's database is re-seeded afterwards."""
    yield
    reset(seeded, **SIZES)


@pytest.fixture
def call(factory: sessionmaker[Session]) -> CallTool:
    """``call(tool, raw_args, tenant="acme")``: validate like the runtime, run in one transaction."""

    def run(name: str, raw: dict[str, Any], *, tenant: str = "acme", tool_call_id: str = "call-1") -> BaseModel:
        spec = SPECS[name]
        args = validate_args(spec, raw)
        with transaction(factory) as session:
            ctx = ToolContext(
                tenant_id=tenant, user_id="agent.demo", thread_id="t1", session=session, tool_call_id=tool_call_id
            )
            return spec.func(ctx, args)

    return run
