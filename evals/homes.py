"""Seeded homes: one template per domain and fixture set, seeded once per run, copied for every
trial.

Seeding a domain's database and building its BM25 index take well under a second with small
sizes; copying the template directory is faster still, so every trial gets a fresh, identical
database and index without paying for either again.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.config import Limits, Settings, with_domain_defaults
from agent.persistence.setup import fixtures_of, init_database, seed_database
from agent.runtime.toolset import build_index
from evals.scenario import LimitsOverride, Scenario
from tools.canonical import canonical_json, digest
from tools.domain import load_domain
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
    values["stream_tokens"] = False  # nobody watches a trial's tokens: whole replies are cheaper
    return with_domain_defaults(Settings.model_validate({**values, **overrides}))


def hermetic_limits(override: LimitsOverride | None) -> Limits:
    """The runtime's default limits, with the scenario's overrides, ignoring the environment."""
    values = {name: f.get_default(call_default_factory=True) for name, f in Limits.model_fields.items()}
    if override is not None:
        values.update(override.model_dump(exclude_none=True))
    return Limits.model_validate(values)


TemplateKey = tuple[str, str]
"""``(domain spec, canonical fixtures)``: what a seeded template is."""


def template_key(scenario: Scenario) -> TemplateKey:
    """The template a (resolved) scenario's trials are copied from."""
    return scenario.domain, canonical_json(scenario.fixtures)


class SeededHomes:
    """Template homes under ``root`` (built on first use, thread-safe) and their copies."""

    def __init__(self, root: Path, *, retrieval_mode: RetrievalMode = "bm25") -> None:
        self.root = root
        self.retrieval_mode: RetrievalMode = retrieval_mode
        self._lock = threading.Lock()
        self._templates: dict[TemplateKey, Path] = {}
        self._readers: dict[TemplateKey, tuple[Engine, RowReader]] = {}

    def settings(self, home: Path, domain: str, **overrides: Any) -> Settings:
        """Hermetic settings of a trial's home (the environment never leaks in)."""
        return hermetic_settings(home=home, domain=domain, retrieval_mode=self.retrieval_mode, **overrides)

    def template(self, key: TemplateKey) -> Path:
        """The seeded template for ``key`` (built once)."""
        with self._lock:
            if key not in self._templates:
                spec, fixtures = key
                name = f"{load_domain(spec).name}-{digest(spec, fixtures)[:12]}-{self.retrieval_mode}"
                home = self.root / "templates" / name
                if not (home / _READY).exists():  # a template from an earlier run in this work dir is reused
                    shutil.rmtree(home, ignore_errors=True)
                    self._seed(home, spec, json.loads(fixtures))
                self._templates[key] = home
            return self._templates[key]

    def _seed(self, home: Path, spec: str, fixtures: dict[str, Any]) -> None:
        settings = self.settings(home, spec)
        init_database(settings)
        seed_database(settings, fixtures_of(load_domain(spec), fixtures))
        build_index(settings)
        (home / _READY).touch()

    def reader(self, key: TemplateKey) -> RowReader:
        """A read-only reader of the seeded template's database, shared by every trial of the
        run (its engine, compiled statements and whole-table reads are made once)."""
        template = self.template(key)
        with self._lock:
            if key not in self._readers:
                engine = read_only_engine(template / "tiller.db")
                metadata = load_domain(key[0]).metadata
                self._readers[key] = (engine, RowReader(engine, metadata, frozen=True))
            return self._readers[key][1]

    def close(self) -> None:
        """Close the template readers' engines."""
        with self._lock:
            for engine, _ in self._readers.values():
                engine.dispose()
            self._readers.clear()

    def fresh(self, key: TemplateKey, name: str) -> Path:
        """A new copy of the template for ``key`` at ``root/trials/name``."""
        target = self.root / "trials" / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.template(key), target, ignore=shutil.ignore_patterns(_READY))
        return target
