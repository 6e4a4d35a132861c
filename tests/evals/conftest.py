"""Fixtures of the eval tests: one work dir per session so seeded templates are built once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evals.loader import load_scenario
from evals.runner import RunOptions
from evals.scenario import Scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios" / "commerce"


@pytest.fixture(scope="session")
def eval_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every runner call of the session: templates are seeded once, copied per trial."""
    return tmp_path_factory.mktemp("eval-work")


@pytest.fixture
def options(eval_work_dir: Path) -> RunOptions:
    return RunOptions(model="offline", work_dir=eval_work_dir)


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str, str], Scenario]:
    """``write_scenario(name, yaml_text)`` → the loaded scenario (file under tmp_path)."""

    def write(name: str, text: str) -> Scenario:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path)

    return write
