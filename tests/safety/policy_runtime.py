"""Running ``Tiller`` with one guard policy for every tenant (the safety suite's runtimes)."""

from __future__ import annotations

from typing import Any

from agent.checks import GuardPolicies, GuardPolicy
from agent.runtime import Tiller

# Detection off: nothing is blocked, redacted or neutralised, only reported.
DETECTION_OFF = GuardPolicy(injection="flag", tool_output="flag", output_checks="flag")


class PolicyTiller(Tiller):
    """A ``Tiller`` whose runs use ``guard_policy``, whatever the tenant."""

    def __init__(self, *args: Any, guard_policy: GuardPolicy, **kwargs: Any) -> None:
        super().__init__(*args, guard_policies=GuardPolicies(default=guard_policy), **kwargs)
