"""The ``tiller`` command line, one module per command group (``app`` holds the root app and
``main``). Heavy modules are imported inside commands so that ``tiller --help`` stays fast."""

from agent.interfaces.cli.app import main

__all__ = ["main"]
