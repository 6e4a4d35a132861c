"""The ``tiller`` command line: the root app, its command modules and ``main``.

Each command group is a module (``conversation``, ``approvals``, ``data``, ``service``,
``workflows``, ``traces``, ``audit``) registering on the root app of ``_common``; other packages
add groups through the ``tiller.cli`` entry-point group (``tiller eval``).
"""

from __future__ import annotations

import sys

from agent.interfaces.cli import (  # noqa: F401 - importing a command module registers its commands
    approvals,
    audit,
    conversation,
    data,
    domains,
    service,
    traces,
    workflows,
)
from agent.interfaces.cli._common import app


def _add_plugins() -> None:
    """Sub-commands from other packages (e.g. ``tiller eval`` from ``evals``), found through the
    ``tiller.cli`` entry-point group so that ``agent`` never imports them."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="tiller.cli"):
        try:
            app.add_typer(ep.load(), name=ep.name)
        except ImportError as exc:  # a broken plugin must not take the core CLI down
            print(f"warning: tiller plugin {ep.name!r} could not load: {exc}", file=sys.stderr)


def main() -> None:
    """The ``tiller`` command: the built-in command groups plus those installed as ``tiller.cli`` entry points."""
    _add_plugins()
    app()
