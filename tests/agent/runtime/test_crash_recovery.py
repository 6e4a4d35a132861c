"""A process killed right after an approved refund commits must not refund twice on resume
(the child runs ``tests/agent/runtime/crashing_resume.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tests.agent.runtime.crashing_resume import EXIT_CODE
from tests.agent.runtime.test_runtime import LOOKUP_THEN_REFUND


def test_kill_after_effect_then_resume_does_not_duplicate(
    settings: Settings, refunds: Callable[[str], tuple[int, int]]
) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        paused = tiller.ask("refund W1000001, damaged", thread_id="t-crash")
        tiller.decide(paused.pending_approvals[0].id, decision="approve", decided_by="rita")

    env = {**os.environ, "TILLER_HOME": str(settings.home), "PYTHONPATH": os.getcwd()}
    command = [sys.executable, "-m", "tests.agent.runtime.crashing_resume", "t-crash", "--scripted"]
    child = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert child.returncode == EXIT_CODE, child.stderr.decode()[-2000:]
    assert refunds("W1000001") == (1, 12999)  # the effect committed before the crash

    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        done = tiller.resume("t-crash")
        assert done.status is RunStatus.COMPLETED
        assert tiller.resume("t-crash").status is RunStatus.COMPLETED
    assert refunds("W1000001") == (1, 12999)  # resumed twice more: still one refund
    refund = next(c for c in done.trajectory if c.tool == "issue_refund")
    assert refund.status is CallStatus.REPLAYED  # the ledger returned the recorded result
