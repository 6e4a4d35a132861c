"""The loop's side of executing a tool call: who asks (``CallIdentity``), what came back
(``Outcome``) and what runs it (``ToolRunner``, implemented by ``agent.runtime.execution``).

The loop decides *whether* a call runs; a ``ToolRunner`` decides *how*: timeout, retries, the
idempotency ledger and the consumption of an approval in the effect's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from tools.contract import ToolSpec


@dataclass(frozen=True)
class CallIdentity:
    """Who a call acts for, and the runtime's identity of the call (``agent.loop.identity``)."""

    tenant_id: str
    user_id: str
    thread_id: str
    tool_call_id: str
    history: tuple[str, ...] = ()
    """The user's earlier messages in the thread (trusted text, never the model's), for
    ``ToolSpec.contextualize``."""


@dataclass(frozen=True)
class Outcome:
    """Result of one execution: ``data`` on success, else ``error_kind`` and ``message``."""

    ok: bool
    data: dict[str, Any] | None = None
    error_kind: str | None = None
    message: str | None = None
    replayed: bool = False
    cache_hit: bool = False
    latency_ms: float = 0.0


class ToolRunner(Protocol):
    """Runs one validated, allowed call; never raises for a failure of the tool."""

    def execute(self, spec: ToolSpec, args: BaseModel, who: CallIdentity, approval_id: str | None) -> Outcome: ...
