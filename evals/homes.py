"""Seeded homes: one template per fixture set, seeded once per run, copied for every trial.

Seeding the demo database and building the BM25 index take well under a second with the
default sizes; copying the template directory is faster still, so every trial gets a fresh,
identical database and index without paying for either again.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.config import DEFAULT_KB_DIR, Limits, Settings
from agent.persistence.setup import build_index, init_database, seed_database
from evals.scenario import Fixtures, LimitsOverride
from tools.rows import RowReader, read_only_engine

if TYPE_CHECKING:
    from sqlalchemy import Engine

RetrievalMode = Literal["auto", "bm25", "hybrid"]
_READY = ".seeded"


def hermetic_settings(**overrides: Any) -> Settings:
    """Settings from the defaults and ``overrides`` only: no ``TILLER_*`` variable leaks into
    an eval (a developer's database URL or policy file must not change what a scenario sees).
    Validated without ``BaseSettings.__init__``, which would read the environment only for every
    value to be overridden (a few ms per trial)."""
    values = {name: f.get_default(call_default_factory=True) for name, f in Settings.model_fields.items()}
    return Settings.model_validate({**values, **overrides})


def hermetic_limits(override: LimitsOverride | None) -> Limits:
    """The runtime's default limits, with the scenario's overrides, ignoring the environment."""
    values = {name: f.get_default(call_default_factory=True) for name, f in Limits.model_fields.items()}
    if override is not None:
        values.update(override.model_dump(exclude_none=True))
    return Limits.model_validate(values)


class SeededHomes:
    """Template homes under ``root`` (built on first use, thread-safe) and their copies."""

    def __init__(self, root: Path, *, retrieval_mode: RetrievalMode = "bm25", kb_dir: Path = DEFAULT_KB_DIR) -> None:
        self.root = root
        self.retrieval_mode: RetrievalMode = retrieval_mode
        self.kb_dir = kb_dir
        self._lock = threading.Lock()
        self._templates: dict[Fixtures, Path] = {}
        self._readers: dict[Fixtures, tuple[Engine, RowReader]] = {}

    def settings(self, home: Path, **overrides: Any) -> Settings:
        return hermetic_settings(home=home, retrieval_mode=self.retrieval_mode, kb_dir=self.kb_dir, **overrides)

    def template(self, fixtures: Fixtures) -> Path:
        """The seeded template for ``fixtures`` (built once)."""
        with self._lock:
            if fixtures not in self._templates:
                name = f"c{fixtures.customers}-o{fixtures.orders}-s{fixtures.seed}-{self.retrieval_mode}"
                home = self.root / "templates" / name
                if not (home / _READY).exists():  # a template from an earlier run in this work dir is reused
                    shutil.rmtree(home, ignore_errors=True)
                    settings = self.settings(home)
                    init_database(settings)
                    seed_database(settings, customers=fixtures.customers, orders=fixtures.orders, seed=fixtures.seed)
                    build_index(settings)
                    (home / _READY).touch()
                self._templates[fixtures] = home
            return self._templates[fixtures]

    def reader(self, fixtures: Fixtures) -> RowReader:
        """A read-only reader of the seeded template's database, shared by every trial of the
        run (its engine, compiled statements and whole-table reads are made once)."""
        template = self.template(fixtures)
        with self._lock:
            if fixtures not in self._readers:
                engine = read_only_engine(template / "tiller.db")
                self._readers[fixtures] = (engine, RowReader(engine, frozen=True))
            return self._readers[fixtures][1]

    def close(self) -> None:
        """Close the template readers' engines."""
        with self._lock:
            for engine, _ in self._readers.values():
                engine.dispose()
            self._readers.clear()

    def fresh(self, fixtures: Fixtures, name: str) -> Path:
        """A new copy of the template for ``fixtures`` at ``root/trials/name``."""
        target = self.root / "trials" / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.template(fixtures), target, ignore=shutil.ignore_patterns(_READY))
        return target
