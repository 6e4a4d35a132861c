"""The tool-output guard: results and retrieved passages are untrusted data.

Every string in a tool result is screened before the model reads it: secrets are redacted and
instruction-like text is neutralised (or only reported, per the tenant's policy). The result
keeps its shape, so the facts the model needs — ids, statuses, amounts, dates — are untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.checks.injection.neutralize import Detector, neutralize
from agent.checks.policy import GuardPolicy
from agent.checks.secrets import redact

_MIN_CHARS = 12  # shorter strings (ids, statuses, amounts) cannot carry an instruction
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?")
"""An ISO-8601 date or timestamp, whole: digits in a fixed shape, no words — neither an
instruction nor a secret can be written in it, so it is not screened (a tool result's dates were
a third of the detector's work under load; docs/BENCHMARKS.md §9)."""


@dataclass
class OutputScreen:
    """What screening one tool result found: the fields touched and the finding kinds."""

    injections: list[str] = field(default_factory=list)
    """Paths of fields with instruction-like text, e.g. ``passages[0].text``."""
    secrets: list[str] = field(default_factory=list)
    score: float = 0.0

    @property
    def clean(self) -> bool:
        """Nothing was found: the result goes to the model unchanged."""
        return not self.injections and not self.secrets

    def verdict(self, policy: GuardPolicy) -> str:
        """The guard's verdict for the trace: ``allow``, or the action and what it acted on, e.g.
        ``neutralize (injection)``, ``flag (injection)``, ``redact (secret)``."""
        if self.clean:
            return "allow"
        kinds = (["injection"] if self.injections else []) + (["secret"] if self.secrets else [])
        action = "redact"
        if self.injections:
            action = "neutralize" if policy.tool_output == "neutralize" else "flag"
        return f"{action} ({', '.join(kinds)})"


def _screen_text(text: str, path: str, detector: Detector, policy: GuardPolicy, found: OutputScreen) -> str:
    if _TIMESTAMP.fullmatch(text):
        return text
    clean, secrets = redact(text, policy.secret_rules())
    if secrets:
        found.secrets.append(path)
    if len(clean) < _MIN_CHARS:
        return clean
    neutral, report = neutralize(clean, detector)
    if report.detected(detector.threshold):
        found.injections.append(path)
        found.score = max(found.score, report.score)
        if policy.tool_output == "neutralize":
            return neutral
    return clean


def _walk(value: Any, path: str, detector: Detector, policy: GuardPolicy, found: OutputScreen) -> Any:
    if isinstance(value, str):
        return _screen_text(value, path, detector, policy, found)
    if isinstance(value, dict):
        return {k: _walk(v, f"{path}.{k}" if path else str(k), detector, policy, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, f"{path}[{i}]", detector, policy, found) for i, v in enumerate(value)]
    return value


def screen_tool_output(data: dict[str, Any], policy: GuardPolicy) -> tuple[dict[str, Any], OutputScreen]:
    """``data`` with secrets redacted and injections neutralised (per policy), and what was found."""
    detector = Detector(policy.injection_threshold, policy.classifier)
    found = OutputScreen()
    return _walk(data, "", detector, policy, found), found
