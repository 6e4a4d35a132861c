"""What every installed domain must do, whoever wrote it: the same tests for the demo shop and for
τ²-bench's domains (skipped, with the reason, when the tau2 extra is not installed)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tools.contract import Risk
from tools.db import Base
from tools.domain import AlreadySeeded, Domain, installed_domains, load_domain

pytestmark = pytest.mark.timeout(600)  # τ²'s first import takes seconds on a busy machine


def _domain(name: str) -> Domain:
    if name.startswith("tau2-") and importlib.util.find_spec("tau2") is None:
        pytest.skip("the tau2 extra is not installed (pip install -e '.[tau2]')")
    return load_domain(name)


DOMAINS = sorted(installed_domains())


@pytest.mark.parametrize("name", DOMAINS)
def test_tools_are_declared_once_with_a_risk_and_a_schema(name: str) -> None:
    domain = _domain(name)
    specs = domain.tool_specs()
    assert specs and len({s.name for s in specs}) == len(specs)
    for spec in specs:
        assert spec.risk in Risk and spec.description.strip()
        assert spec.args_schema()["type"] == "object"
        assert spec.idempotent or spec.risk.has_side_effects
    assert domain.prompt().strip() and domain.title.strip()


@pytest.mark.parametrize("name", DOMAINS)
def test_tables_seed_once_and_ids_have_patterns(name: str, tmp_path: Path) -> None:
    domain = _domain(name)
    assert domain.metadata is not None and domain.seed.run is not None
    engine = create_engine(f"sqlite:///{tmp_path / 'domain.db'}")
    try:
        Base.metadata.create_all(engine)
        domain.metadata.create_all(engine)
        fixtures = domain.seed.parse(None, domain.seed.scenario_size)
        assert domain.seed.run(engine, fixtures)
        with pytest.raises(AlreadySeeded):
            domain.seed.run(engine, fixtures)
    finally:
        engine.dispose()
    for entity in domain.vocabulary.entities:
        assert re.compile(entity.id_pattern).pattern and entity.name
