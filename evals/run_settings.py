"""What decides a run's results besides the agent under test, recorded in ``run.json``
(``RunRecord.settings``) so that ``tiller eval compare`` can warn — before anything else — when
two runs differ in any of it (``evals.compare.setting_differences``): a "regression" between a
replayed and a live run, or between two scenario sets, is not one.

Recorded: the model, judge and simulator specs and k (on the record itself); the domains, the
retrieval mode, ``--all``, skipped checks, the runtime's default limits, the endpoint of
``openai:`` models (``OPENAI_BASE_URL`` without credentials), the ``TILLER_LLAMACPP_*`` settings of
``llamacpp:`` models, a digest of every scenario as it ran, and with ``--model replay`` of every
cassette replayed. Tiller's version is recorded but not warned about: comparing
two versions of the code is what ``compare`` is for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from evals.homes import hermetic_limits
from evals.options import RunOptions
from evals.results import RunSettings
from evals.scenario import Scenario
from tools.canonical import canonical_json, digest

_LOCAL_MODEL_PREFIX = "TILLER_LLAMACPP_"


def run_settings(scenarios: Sequence[Scenario], options: RunOptions) -> RunSettings:
    """The settings of a run of ``scenarios`` with ``options``, as ``run.json`` records them."""
    specs = " ".join(s for s in (options.model, options.judge or "", options.simulator or "") if s)
    return RunSettings(
        tiller_version=_version(),
        domains=sorted({s.domain for s in scenarios}),
        retrieval_mode=options.retrieval_mode,
        include_unsupported=options.include_unsupported,
        skip_checks=sorted(options.skip_checks),
        limits=hermetic_limits(None).model_dump(mode="json"),
        endpoint=_endpoint(os.environ.get("OPENAI_BASE_URL")) if "openai:" in specs else None,
        local_model={k: v for k, v in sorted(os.environ.items()) if k.startswith(_LOCAL_MODEL_PREFIX)}
        if "llamacpp:" in specs
        else {},
        scenarios={s.id: digest(canonical_json(s.model_dump(mode="json")))[:16] for s in scenarios},
        cassettes={s.id: _file_digest(s.cassette_path) for s in scenarios} if options.model == "replay" else {},
    )


def _file_digest(path: Path) -> str:
    return digest(path.read_text(encoding="utf-8"))[:16] if path.is_file() else "missing"


def _version() -> str:
    try:
        return metadata.version("tiller")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _endpoint(url: str | None) -> str | None:
    """The base URL without user, password, query or fragment (those may hold secrets)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
