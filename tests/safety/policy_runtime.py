"""Running ``Tiller`` with a given guard policy, until the runtime takes one itself.

``agent.checks.policy_for`` reads ``guard_policy`` from the run context; the runtime's
``RunContext`` does not carry that field yet (see the report to the lead), so these tests use a
context subclass that does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from agent.checks import GuardPolicy
from agent.loop.context import RunContext
from agent.runtime import Tiller

# Detection off: nothing is blocked, redacted or neutralised, only reported.
DETECTION_OFF = GuardPolicy(injection="flag", tool_output="flag", output_checks="flag")


@dataclass(frozen=True)
class GuardedContext(RunContext):
    guard_policy: GuardPolicy | None = None


class PolicyTiller(Tiller):
    """A ``Tiller`` whose runs use ``guard_policy``."""

    def __init__(self, *args: Any, guard_policy: GuardPolicy, **kwargs: Any) -> None:
        self._guard_policy = guard_policy
        super().__init__(*args, **kwargs)

    def _context(self, *args: Any, **kwargs: Any) -> RunContext:
        ctx = super()._context(*args, **kwargs)
        if "guard_policy" in {f.name for f in fields(ctx)}:  # the runtime carries it already
            return ctx.__class__(
                **{**{f.name: getattr(ctx, f.name) for f in fields(ctx)}, "guard_policy": self._guard_policy}
            )
        values = {f.name: getattr(ctx, f.name) for f in fields(ctx)}
        return GuardedContext(**values, guard_policy=self._guard_policy)
