"""Resume a thread, then die (``os._exit(17)``) right after the first effect's transaction
commits — before LangGraph checkpoints the step: a kill between effect and checkpoint.

    python -m tests.agent.runtime.crashing_resume THREAD_ID [--scripted]

Settings come from the environment; ``--scripted`` plays ``LOOKUP_THEN_REFUND`` instead of the
configured model.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from agent.config import Settings
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from agent.runtime.execution import ToolExecutor

EXIT_CODE = 17


def _die_after_the_effect() -> None:
    original = ToolExecutor._run_effect

    def run_effect_then_die(self: ToolExecutor, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        os._exit(EXIT_CODE)

    ToolExecutor._run_effect = run_effect_then_die  # type: ignore[method-assign]


def main(thread_id: str, scripted: bool) -> None:
    from tests.agent.runtime.test_runtime import LOOKUP_THEN_REFUND

    _die_after_the_effect()
    model = ScriptedChatModel(LOOKUP_THEN_REFUND) if scripted else None
    with Tiller(Settings(), model=model) as tiller:
        tiller.resume(thread_id)
    sys.exit("the resume should have died after the effect")


if __name__ == "__main__":
    main(sys.argv[1], "--scripted" in sys.argv[2:])
