"""Input and output guards: secret redaction and prompt-injection screening.

A first, deliberately simple layer: regexes with checksums (Luhn for cards, mod-97 for IBANs)
for secrets, phrase heuristics for injection. Detection is a signal, not the protection: the
structural rules (approvals bound to exact args, policy deny, tenant scoping, limits) hold
whatever the model is told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class GuardAction(StrEnum):
    ALLOW = "allow"
    REDACT = "redact"
    FLAG = "flag"
    BLOCK = "block"


@dataclass(frozen=True)
class Finding:
    kind: str  # e.g. "secret:card_number", "injection"
    excerpt: str


@dataclass(frozen=True)
class GuardVerdict:
    action: GuardAction
    text: str  # the text to pass on (redacted when secrets were found)
    findings: tuple[Finding, ...] = field(default=())

    @property
    def summary(self) -> str:
        kinds = sorted({f.kind for f in self.findings})
        return f"{self.action.value}" + (f" ({', '.join(kinds)})" if kinds else "")


_SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "api_key": re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}\b|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "private_key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
    "bearer_token": re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{20,}=*"),
}
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_INJECTION = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above) (?:instructions|rules|messages)"
    r"|disregard (?:all |your )?(?:previous |prior )?(?:instructions|rules|guidelines)"
    r"|you are now (?:in )?(?:developer|dan|admin|god) mode"
    r"|reveal (?:your|the) (?:system )?prompt"
    r"|^\s*system\s*:|<\s*/?\s*system\s*>",
    re.IGNORECASE | re.MULTILINE,
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def find_secrets(text: str) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, kind)`` of secrets in ``text``."""
    spans = [(m.start(), m.end(), kind) for kind, rx in _SECRET_PATTERNS.items() for m in rx.finditer(text)]
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            spans.append((m.start(), m.end(), "card_number"))
    spans += [(m.start(), m.end(), "iban") for m in _IBAN.finditer(text) if iban_ok(m.group())]
    return sorted(spans)


def redact(text: str) -> tuple[str, list[Finding]]:
    """Replace every secret with ``[REDACTED:<kind>]``."""
    out, findings, cursor = [], [], 0
    for start, end, kind in find_secrets(text):
        if start < cursor:
            continue
        out.append(text[cursor:start])
        out.append(f"[REDACTED:{kind}]")
        findings.append(Finding(f"secret:{kind}", text[start : start + 4] + "…"))
        cursor = end
    out.append(text[cursor:])
    return "".join(out), findings


def screen_input(text: str, *, block_injection: bool = False) -> GuardVerdict:
    """Redact secrets; flag (or block, per policy) prompt-injection attempts."""
    redacted, findings = redact(text)
    injections = [Finding("injection", m.group()[:60]) for m in _INJECTION.finditer(redacted)]
    findings += injections
    if injections and block_injection:
        return GuardVerdict(GuardAction.BLOCK, redacted, tuple(findings))
    if injections:
        return GuardVerdict(GuardAction.FLAG, redacted, tuple(findings))
    if redacted != text:
        return GuardVerdict(GuardAction.REDACT, redacted, tuple(findings))
    return GuardVerdict(GuardAction.ALLOW, text)
