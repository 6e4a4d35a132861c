"""τ²-bench itself, reached through its own registry — the one place that imports ``tau2``.

τ² is an optional extra (``pip install 'tiller[tau2]'``): importing it is deferred to the first
use and a missing install is a :class:`Tau2Unavailable` saying how to get it. Every τ² domain is
looked up by name in ``tau2.registry.registry`` (its environment constructor and its task
loader); nothing here knows one τ² domain from another.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from tools.errors import ToolDefinitionError

if TYPE_CHECKING:
    from tau2.data_model.tasks import Task
    from tau2.environment.environment import Environment

INSTALL_HINT = "install the tau2 extra: pip install 'tiller[tau2]'"


class Tau2Unavailable(ToolDefinitionError):
    """τ²-bench is not installed, or has no such domain or task; the message says what to do."""


@functools.cache
def registry() -> Any:
    """τ²'s registry of domains and task sets (imported once, quietly, offline)."""
    # τ² imports LiteLLM, which otherwise fetches a price list from the network at import time
    # (retrying for seconds when offline); its bundled copy is the same list.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        from loguru import logger  # noqa: PLC0415  # the tau2 extra: optional

        logger.disable("tau2")  # τ² logs its registry at DEBUG to stderr on import
        from tau2.registry import registry as tau2_registry  # noqa: PLC0415  # the tau2 extra: optional
    except ImportError as exc:
        raise Tau2Unavailable(f"τ²-bench is not installed ({exc.name or exc}): {INSTALL_HINT}") from None
    return tau2_registry


def domain_names() -> list[str]:
    """The τ² domains the registry knows."""
    return list(registry().get_domains())


def environment(name: str, **kwargs: Any) -> Environment:
    """A fresh τ² environment of domain ``name`` (its toolkit on a fresh copy of its db.json)."""
    try:
        constructor = registry().get_env_constructor(name)
    except KeyError:
        known = ", ".join(domain_names())
        raise Tau2Unavailable(f"τ²-bench has no domain {name!r} (domains: {known})") from None
    return constructor(**kwargs)


@functools.cache
def seed_environment(name: str) -> Environment:
    """One pristine environment per domain and process: its policy, tool signatures and db.json
    (loaded once; never handed to a tool, which works on a copy built from Tiller's tables)."""
    return environment(name)


def tasks(name: str) -> list[Task]:
    """Every task of τ² domain ``name`` (all splits)."""
    environment_exists = name in domain_names()
    try:
        loader = registry().get_tasks_loader(name)
    except KeyError:
        known = ", ".join(registry().get_task_sets())
        what = "tasks" if environment_exists else "domain"
        raise Tau2Unavailable(f"τ²-bench has no {what} {name!r} (task sets: {known})") from None
    try:
        return list(loader(None))
    except TypeError:  # a loader without a split argument
        return list(loader())
