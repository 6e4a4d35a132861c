"""Signals of an attempt to take over an agent's task (the styles of public agent benchmarks)."""

from __future__ import annotations

from agent.checks.injection.signals import Signal

HIJACK: tuple[Signal, ...] = ()
