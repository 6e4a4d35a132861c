"""Personal data in text: email addresses, phone numbers, labelled dates of birth.

Support conversations need some of it (a customer gives their email so the agent can find
their orders), so by default personal data is reported, not removed; a tenant's guard policy
can redact or block it instead (see :mod:`agent.checks.policy`). Government ids are secrets
(:mod:`agent.checks.secrets`) and are always redacted.
"""

from __future__ import annotations

import re

from agent.checks.secrets import Span, replace_spans
from agent.checks.verdicts import Finding

_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "phone": re.compile(r"(?<![\w-])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])"),
    "date_of_birth": re.compile(
        r"\b(?:dob|date of birth|born on|birthday)\s*(?:is|:)?\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", re.IGNORECASE
    ),
}


def find_personal(text: str) -> list[Span]:
    """Spans ``(start, end, kind)`` of personal data in ``text``, sorted."""
    return sorted((m.start(), m.end(), kind) for kind, rx in _PATTERNS.items() for m in rx.finditer(text))


def personal_findings(text: str) -> list[Finding]:
    """Findings (``pii:<kind>``) without changing the text."""
    return [Finding(f"pii:{kind}", text[start : start + 4] + "…") for start, end, kind in find_personal(text)]


def redact_personal(text: str) -> tuple[str, list[Finding]]:
    """Replace personal data with ``[REDACTED:<kind>]``."""
    return replace_spans(text, find_personal(text), "pii")
