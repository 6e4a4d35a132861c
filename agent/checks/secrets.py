"""Secrets in text: API keys, tokens, private keys, credentials, card numbers, IBANs, national ids.

Regexes find candidates; checksums confirm the ones that have them (Luhn for card numbers,
ISO 7064 mod-97 for IBANs), so an order number or a tracking number is not mistaken for a card.
Redaction replaces each secret with ``[REDACTED:<kind>]``. A domain tunes what counts
(:class:`SecretRules`, from its guard policy): kinds that are never secrets in its records, and
whether a Luhn-valid digit run is a card number by itself or only next to a card word — a shop
whose ids and street numbers are long digit strings would otherwise see them cut from answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.checks.memo import per_text
from agent.checks.verdicts import Finding

_PATTERNS: dict[str, re.Pattern[str]] = {
    "private_key": re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)"
    ),
    "api_key": re.compile(
        r"\b(?:sk|pk|rk)-(?:proj-|svcacct-|admin-|ant-(?:api\d+-)?)?[A-Za-z0-9_-]{16,}"
        r"|\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
        r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
        r"|\bAIza[0-9A-Za-z_-]{35}\b"
        r"|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}"
        r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"
        r"|\bglpat-[A-Za-z0-9_-]{20,}"
        r"|https://hooks\.slack\.com/services/[A-Za-z0-9/]+"
    ),
    "token": re.compile(
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT
        r"|\bBearer\s+[A-Za-z0-9._~+/-]{20,}=*",
        re.IGNORECASE,
    ),
    "credential": re.compile(
        # key=value or "password is X" where the value has a digit or a symbol (not a plain word)
        r"\b(?:password|passwd|pwd|passcode|secret|api[_ -]?key|access[_ -]?key|secret[_ -]?key|auth[_ -]?token"
        r"|client[_ -]?secret|aws_secret_access_key)\s*(?:[:=]|\bis\b)\s*[\"']?"
        r"(?=[^\s\"']*[\d\W_])[^\s\"']{6,}",
        re.IGNORECASE,
    ),
    "credential_url": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]+@[^\s/]+", re.IGNORECASE),
    "card_security_code": re.compile(r"\b(?:cvv2?|cvc2?|csc|security code)\s*(?:is|:|=|#)?\s*\d{3,4}\b", re.IGNORECASE),
    "national_id": re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),  # US SSN, dashed form
}
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")

Span = tuple[int, int, str]
SECRET_KINDS = (*_PATTERNS, "card_number", "iban")
_CARD_WORDS = re.compile(r"\b(?:card|credit|debit|visa|master\s?card|amex|american express|discover|cc|pan)\b", re.I)


@dataclass(frozen=True)
class SecretRules:
    """What counts as a secret for one domain or tenant (the default: everything, cards by Luhn)."""

    off: frozenset[str] = frozenset()
    """Kinds never reported or redacted (``card_number``, ``iban``…: see ``SECRET_KINDS``)."""
    card_words_within: int | None = None
    """A Luhn-valid digit run is a card number only with a card word (card, visa, cc…) at most
    this many characters before or after it; ``None``: the digit run alone decides."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.off) - set(SECRET_KINDS))
        if unknown:
            raise ValueError(f"unknown secret kinds {', '.join(unknown)} (kinds: {', '.join(SECRET_KINDS)})")

    def card_context_ok(self, text: str, start: int, end: int) -> bool:
        """Whether a card number at ``text[start:end]`` has a card word near enough (always, when none is required)."""
        if self.card_words_within is None:
            return True
        near = text[max(0, start - self.card_words_within) : end + self.card_words_within]
        return _CARD_WORDS.search(near) is not None


EVERY_SECRET = SecretRules()


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """The ISO 7064 mod-97 check of an IBAN (spaces allowed)."""
    s = text.replace(" ", "")
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def find_secrets(text: str, rules: SecretRules = EVERY_SECRET) -> list[Span]:
    """Spans ``(start, end, kind)`` of secrets in ``text``, sorted, possibly overlapping."""
    return list(_spans(text, rules))


@per_text
def _spans(text: str, rules: SecretRules) -> tuple[Span, ...]:
    spans = [(m.start(), m.end(), kind) for kind, rx in _PATTERNS.items() for m in rx.finditer(text)]
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and rules.card_context_ok(text, m.start(), m.end()):
            spans.append((m.start(), m.end(), "card_number"))
    spans += [(m.start(), m.end(), "iban") for m in _IBAN.finditer(text) if iban_ok(m.group())]
    return tuple(sorted(span for span in spans if span[2] not in rules.off))


def replace_spans(text: str, spans: list[Span], prefix: str) -> tuple[str, list[Finding]]:
    """Replace non-overlapping ``spans`` (the first wins) with ``[REDACTED:<kind>]`` markers."""
    out: list[str] = []
    findings: list[Finding] = []
    cursor = 0
    for start, end, kind in spans:
        if start < cursor:
            continue
        out.append(text[cursor:start])
        out.append(f"[REDACTED:{kind}]")
        findings.append(Finding(f"{prefix}:{kind}", text[start : start + 4] + "…"))
        cursor = end
    out.append(text[cursor:])
    return "".join(out), findings


def redact(text: str, rules: SecretRules = EVERY_SECRET) -> tuple[str, list[Finding]]:
    """Replace every secret (as ``rules`` count them) with ``[REDACTED:<kind>]``; the findings
    name each kind."""
    return replace_spans(text, find_secrets(text, rules), "secret")
