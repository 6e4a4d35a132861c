"""Scenarios as pytest items: ``pytest scenarios/`` runs each scenario file as a test.

Each scenario YAML (a mapping with a top-level ``id``; ``cassettes/`` and ``kb/`` are skipped)
becomes one item, run through the real graph on a fresh seeded home, with the replayed model
by default. A failure shows the same explanations as ``tiller eval run``; an invalid file fails
with its loader errors (file, line, field). Options:

- ``--tiller-model``: ``replay`` (default), ``offline`` or any model spec;
- ``--tiller-k``: trials per scenario (all must pass);
- ``--tiller-judge``: the LLM judge's model spec (default ``TILLER_EVAL_JUDGE``; none: rubrics
  are skipped, and listed in the item's report);
- ``--tiller-simulator``: the simulated user's model spec (default ``TILLER_EVAL_SIMULATOR``;
  none: ``user_simulator`` scenarios are skipped, with the reason).

Enable it with ``-p evals.pytest_plugin``, or from a ``conftest.py`` that imports its hooks
(``scenarios/conftest.py`` does).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.errors import ScenarioError
from evals.loader import SKIPPED_DIRS, load_scenario, looks_like_scenario
from evals.results import ScenarioResult
from evals.runner import NO_SIMULATOR, RunOptions, run_scenarios
from evals.scenario import Scenario

_WORK_DIR = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``--tiller-*`` options of the scenario plugin."""
    group = parser.getgroup("tiller", "Tiller scenarios")
    group.addoption("--tiller-model", default="replay", help="model for scenarios: replay | offline | a spec")
    group.addoption("--tiller-k", type=int, default=1, help="trials per scenario")
    group.addoption(
        "--tiller-judge",
        default=os.environ.get("TILLER_EVAL_JUDGE") or None,
        help="model spec of the LLM judge for rubrics (default: $TILLER_EVAL_JUDGE; none: rubrics skipped)",
    )
    group.addoption(
        "--tiller-simulator",
        default=os.environ.get("TILLER_EVAL_SIMULATOR") or None,
        help="model spec of the simulated user (default: $TILLER_EVAL_SIMULATOR; none: those scenarios skipped)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``scenario`` marker and make the work directory of the session's trials."""
    config.addinivalue_line("markers", "scenario: a Tiller scenario file run through the real graph")
    config.stash[_WORK_DIR] = Path(tempfile.mkdtemp(prefix="tiller-pytest-scenarios-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's work directory."""
    work_dir = config.stash.get(_WORK_DIR, None)
    if work_dir is not None:
        shutil.rmtree(work_dir, ignore_errors=True)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect scenario files: YAML that looks like a scenario, outside cassettes and kb folders."""
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    try:
        folders = file_path.relative_to(parent.config.rootpath).parts[:-1]
    except ValueError:
        folders = file_path.parts[:-1]
    if SKIPPED_DIRS.intersection(folders) or not looks_like_scenario(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    """One scenario file: one item (or one failing item when the file is invalid)."""

    def collect(self) -> Iterator[pytest.Item]:
        """The file's scenario item, or an item that fails with the file's problems."""
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            yield InvalidScenario.from_parent(self, name=self.path.stem, error=exc)
            return
        yield ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)


class InvalidScenarioFailure(Exception):
    """The scenario file does not load (its message lists every problem)."""


class InvalidScenario(pytest.Item):
    """A scenario file that does not load: collected as an item that fails with its problems."""

    def __init__(self, *, error: ScenarioError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        """Fail with the file's problems."""
        raise InvalidScenarioFailure(str(self.error))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The problems alone, without a traceback."""
        return str(self.error)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where pytest reports the item: the file itself."""
        return self.path, 0, f"invalid scenario {self.path.name}"


class ScenarioFailed(Exception):
    """A scenario's expectations were not met (the message explains each failure)."""


class ScenarioItem(pytest.Item):
    """Runs one scenario k times; passes when every trial passes."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.add_marker(pytest.mark.scenario)
        if scenario.user_simulator and not self.config.getoption("--tiller-simulator"):
            self.add_marker(pytest.mark.skip(reason=NO_SIMULATOR))  # reported at the scenario file
        for tag in scenario.tags:
            self.user_properties.append(("tag", tag))

    def runtest(self) -> None:
        """Run the scenario's trials with the session's options; ``ScenarioFailed`` explains each failing trial."""
        config = self.config
        options = RunOptions(
            model=config.getoption("--tiller-model"),
            k=config.getoption("--tiller-k"),
            work_dir=config.stash[_WORK_DIR],
            judge=config.getoption("--tiller-judge"),
            simulator=config.getoption("--tiller-simulator"),
        )
        [result] = run_scenarios([self.scenario], options).scenarios
        if result.status == "skipped":
            pytest.skip(result.skip_reason or "skipped")
        for name, checks in result.rubric_checks().items():
            for detail in dict.fromkeys(d for c in checks if c.skipped for d in c.details):
                self.add_report_section("call", "rubric", f"{name}: {detail}")
        if result.status != "passed":
            raise ScenarioFailed(_explain(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """A failed scenario's explanations alone; anything else as pytest shows it."""
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where pytest reports the item: the scenario's file and id."""
        return self.path, 0, f"scenario: {self.scenario.id}"


def _explain(result: ScenarioResult) -> str:
    lines = [f"scenario {result.id} failed ({result.passes}/{len(result.trials)} trials passed)"]
    for trial in result.trials:
        if not trial.passed:
            lines.append(f"trial {trial.trial}:")
            lines += [f"  {line}" for line in trial.explanations]
    return "\n".join(lines)
