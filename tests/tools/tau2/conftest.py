"""τ²-bench's tests need the tau2 extra (``make test`` installs it); without it they are skipped
with the reason, never failed. Fixtures: the tau2-retail domain and a database seeded with it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tools.domain import Domain

HAS_TAU2 = importlib.util.find_spec("tau2") is not None
needs_tau2 = pytest.mark.skipif(
    not HAS_TAU2, reason="the tau2 extra is not installed (pip install -e '.[tau2]'; make test installs it)"
)


@pytest.fixture(scope="module")
def retail() -> Domain:
    from tools.tau2.domain import tau2_domain

    return tau2_domain("retail")


@pytest.fixture
def retail_engine(retail: Domain, tmp_path: object) -> Iterator[Engine]:
    from sqlalchemy import create_engine

    from tools.db import Base

    engine = create_engine(f"sqlite:///{tmp_path}/tau2.db")
    Base.metadata.create_all(engine)  # the ledger's table beside the domain's
    assert retail.metadata is not None
    retail.metadata.create_all(engine)
    assert retail.seed.run is not None
    retail.seed.run(engine, retail.seed.parse())
    yield engine
    engine.dispose()
