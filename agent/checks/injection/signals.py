"""What a signal is, and the vocabulary the signal families share.

A :class:`Signal` is a named pattern with a weight (0–1): how strongly one hit alone suggests text
aimed at the system rather than a support request. :mod:`agent.checks.injection.detector`
combines the signals found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IGNORECASE = re.IGNORECASE
IM = re.IGNORECASE | re.MULTILINE


@dataclass(frozen=True)
class Signal:
    """A named, weighted pattern."""

    name: str
    weight: float
    pattern: re.Pattern[str]


def signal(name: str, weight: float, pattern: str, flags: int = IGNORECASE) -> Signal:
    """A :class:`Signal`, its pattern compiled (case-insensitive unless ``flags`` say otherwise)."""
    return Signal(name, weight, re.compile(pattern, flags))


OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|overrule|bypass|drop|abandon|nevermind|never mind"
    r"|do not follow|don't follow|stop following)"
)
PRIOR = (
    r"(?:previous|prior|preceding|above|earlier|former|original|initial|old|existing"
    r"|all|any|your|system|the|these|those|my)"
)
RULES = (
    r"(?:instructions?|rules?|prompts?|guidelines?|directives?|constraints?|programming|guardrails?"
    r"|restrictions?|commands?|system message|training|context|consignes?)"
)
AI = r"(?:ai|a\.i\.|assistant|assistants|agent|agents|model|llm|bot|bots|chatbot|gpt|language model)"
SYSTEM_ROLES = r"(?:system|assistant|developer|admin|administrator|tool|function|root)"
