"""What a guard decides: an action, the text to pass on, and the findings behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class GuardAction(StrEnum):
    """What a guard did with a text, from least to most intrusive."""

    ALLOW = "allow"
    FLAG = "flag"  # passed on unchanged, reported
    REDACT = "redact"  # passed on with secrets (or neutralised instructions) replaced by markers
    BLOCK = "block"  # not passed on; the run ends ``blocked`` with a clear message


@dataclass(frozen=True)
class Finding:
    """One thing a guard found: ``kind`` like ``secret:card_number``, ``pii:email``, ``injection``.

    ``excerpt`` is safe to log: secrets are cut to their first four characters.
    """

    kind: str
    excerpt: str
    score: float = 1.0


@dataclass(frozen=True)
class GuardVerdict:
    """The outcome of screening one text."""

    action: GuardAction
    text: str
    """The text to pass on (redacted or neutralised when the action says so)."""
    findings: tuple[Finding, ...] = field(default=())
    message: str = ""
    """For ``block``: what to tell the user, in plain words."""

    @property
    def kinds(self) -> list[str]:
        """The kinds of the findings, each once, sorted."""
        return sorted({f.kind for f in self.findings})

    @property
    def summary(self) -> str:
        """``action (kind, kind)`` for events and traces, e.g. ``redact (secret:card_number)``."""
        kinds = self.kinds
        return f"{self.action.value}" + (f" ({', '.join(kinds)})" if kinds else "")
