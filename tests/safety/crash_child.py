"""The child side of the crash-consistency harness: run one phase of a refund and die (SIGKILL)
at a chosen point of its life.

Imported by a multiprocessing fork server (preloaded), so each trial's process starts with
Tiller already imported. ``crash`` never returns normally when the point is reached.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from agent.config import Settings
from agent.models.scripted import ScriptedChatModel
from agent.persistence.approvals import ApprovalStore
from agent.runtime import Tiller
from agent.runtime.execution import ToolExecutor
from tools.commerce import actions

ORDER, AMOUNT_CENTS = "W1000001", 100
REFUND_TURNS: list[Any] = [
    {"tool_calls": [{"name": "get_order", "args": {"order_id": ORDER}}]},
    {"tool_calls": [{"name": "issue_refund", "args": {"order_id": ORDER, "amount": "1.00", "reason": "damaged"}}]},
    "Refunded $1.00.",
]
REVIEWER = "rita.reviewer"
POINTS = ("before_interrupt", "after_approval_stored", "inside_tool_before_commit", "after_commit_before_checkpoint")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _then_die(owner: Any, name: str) -> None:
    """Make ``owner.name`` run as usual, then kill the process."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        _die()

    setattr(owner, name, wrapped)


def _before_die(owner: Any, name: str) -> None:
    setattr(owner, name, lambda *args, **kwargs: _die())


def settings_for(home: str, database_url: str | None) -> Settings:
    return Settings(home=home, database_url=database_url, retrieval_mode="bm25", model_retry_initial_s=0.01)


def runtime(settings: Settings) -> Tiller:
    return Tiller(settings, model=ScriptedChatModel(REFUND_TURNS))


def crash(home: str, database_url: str | None, point: str, thread_id: str, approval_id: str | None) -> None:
    """Do this point's phase of the refund and die there (the parent did the phases before it)."""
    if point == "before_interrupt":  # the approval row is stored, the step is not checkpointed
        _then_die(ApprovalStore, "request")
    elif point == "after_approval_stored":  # decided and applied; the tool has not started
        _before_die(ToolExecutor, "execute")
    elif point == "inside_tool_before_commit":  # the refund row is written, not committed
        _then_die(actions, "_refund")
    else:  # committed with its ledger key and the approval's consumption, not checkpointed
        _then_die(ToolExecutor, "_run_effect")
    with runtime(settings_for(home, database_url)) as tiller:
        if point == "before_interrupt":
            tiller.ask("refund $1 on W1000001, it arrived damaged", thread_id=thread_id)
        else:
            if point == "after_approval_stored":
                assert approval_id is not None
                tiller.decide(approval_id, decision="approve", decided_by=REVIEWER)
            tiller.resume(thread_id)
    raise SystemExit(f"{point}: the process should have been killed")
