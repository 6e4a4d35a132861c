"""What an answer may rely on: the facts this conversation's tool results and the user gave.

Gathered from the thread's messages: every tool envelope (results and errors), the user's own
messages, and the knowledge-base passages that were retrieved. What counts as a record id or a
status comes from the domain's vocabulary (``tools.domain.Vocabulary``); emails and phone numbers
are identifiers in every domain. The output checks (:mod:`agent.checks.answer`) compare an
answer against it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from agent.checks.memo import per_text
from tools.domain import Vocabulary
from tools.envelope import read_envelope

CONTACTS = (
    r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"  # email addresses
    r"|(?<![\w-])\+?\d{1,3}[-. ]\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}(?![\w-])"  # phone numbers
)


def identifier_pattern(vocabulary: Vocabulary) -> re.Pattern[str]:
    """Ids of the domain's records, emails and phone numbers, as one pattern."""
    return _identifiers(tuple(e.id_pattern for e in vocabulary.entities if e.id_pattern))


@functools.cache
def _identifiers(id_patterns: tuple[str, ...]) -> re.Pattern[str]:
    ids = [f"(?:{p})" for p in id_patterns]
    records = rf"(?<![\w-])(?:{'|'.join(ids)})(?![\w-])|" if ids else ""
    return re.compile(records + CONTACTS)


MONEY = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)")
NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d{1,2})?)(?![\w])")
ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WORD_DATE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b"
    r"|\b(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:,?\s+(\d{4}))?\b",
    re.IGNORECASE,
)
CITATION = re.compile(r"\[([A-Za-z0-9_.-]+#\d+)\]")


def amounts_in(text: str) -> set[Decimal]:
    """Dollar amounts written as ``$129.99`` or ``$1,299``."""
    return {Decimal(m.group(1).replace(",", "")).quantize(Decimal("0.01")) for m in MONEY.finditer(text)}


def dates_in(text: str) -> set[tuple[int | None, int, int]]:
    """Dates as ``(year or None, month, day)`` from ISO and written forms ("October 9, 2026")."""
    found: set[tuple[int | None, int, int]] = set()
    for y, m, d in ISO_DATE.findall(text):
        found.add((int(y), int(m), int(d)))
    for m in WORD_DATE.finditer(text):
        month, day, year = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(5), m.group(4), m.group(6))
        found.add((int(year) if year else None, MONTHS.index(month[:3].lower()) + 1, int(day)))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif value is not None:
        yield str(value)


@dataclass
class Evidence:
    """Facts an answer may state, gathered from one conversation."""

    identifiers: set[str] = field(default_factory=set)
    amounts: set[Decimal] = field(default_factory=set)
    dates: set[tuple[int | None, int, int]] = field(default_factory=set)
    chunk_ids: set[str] = field(default_factory=set)
    statuses: dict[str, str] = field(default_factory=dict)
    """Latest known status of each record (by id) a tool returned."""
    summaries: list[str] = field(default_factory=list)
    """Summaries of successful tool results since the last user message (for a fallback answer)."""
    internal: list[str] = field(default_factory=list)
    """Messages of this turn's errors meant for the model only (its own invalid arguments, a
    crash, the runtime's instructions): an answer must never pass them on to the customer."""

    def knows_date(self, claimed: tuple[int | None, int, int]) -> bool:
        """Whether a tool or passage mentioned this date (a claim without a year matches any year)."""
        year, month, day = claimed
        return any(m == month and d == day and (year is None or y is None or y == year) for y, m, d in self.dates)


_Facts = tuple[frozenset[str], frozenset[Decimal], frozenset[tuple[int | None, int, int]]]


def _add_text(evidence: Evidence, text: str, vocabulary: Vocabulary) -> None:
    pattern = identifier_pattern(vocabulary)
    ids, amounts, dates = _facts(text, pattern)
    evidence.identifiers |= ids
    evidence.amounts |= amounts
    evidence.dates |= dates


@per_text  # an answer check reads the whole conversation again, every turn
def _facts(text: str, identifiers: re.Pattern[str]) -> _Facts:
    """The ids, amounts and dates one text states."""
    amounts = amounts_in(text) | {Decimal(m.group(1)).quantize(Decimal("0.01")) for m in NUMBER.finditer(text)}
    return frozenset(m.group() for m in identifiers.finditer(text)), frozenset(amounts), frozenset(dates_in(text))


def _records(data: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a result (records, nested records, lists of them)."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _records(value)
    elif isinstance(data, list):
        for value in data:
            yield from _records(value)


def _add_result(evidence: Evidence, data: Any, vocabulary: Vocabulary) -> None:
    for text in _strings(data):
        _add_text(evidence, text, vocabulary)
    for record in _records(data):
        for entity in vocabulary.entities:
            if entity.status_field is None or not record.get(entity.status_field):
                continue
            for id_field in entity.id_fields:
                if record.get(id_field):
                    evidence.statuses[str(record[id_field])] = str(record[entity.status_field])
        if record.get("chunk_id") and "text" in record:
            evidence.chunk_ids.add(str(record["chunk_id"]))


INTERNAL_ERROR_KINDS = frozenset({"invalid_arguments", "unknown_tool", "tool_crashed", "approval", "repeated_failure"})
"""Error kinds whose message speaks to the model (what to fix, what the runtime did), not to a
customer; business-rule and not-found messages are written to be explained, so they are not."""


def gather_evidence(messages: Sequence[BaseMessage], vocabulary: Vocabulary | None = None) -> Evidence:
    """The evidence of a conversation: tool envelopes and the user's messages."""
    vocabulary = vocabulary or Vocabulary()
    evidence = Evidence()
    for message in messages:
        if isinstance(message, HumanMessage):
            _add_text(evidence, message.text, vocabulary)
            evidence.summaries = []
            evidence.internal = []
        elif isinstance(message, ToolMessage):
            envelope = read_envelope(message)
            error = envelope.get("error") if not envelope.get("ok") else None
            if isinstance(error, dict) and error.get("kind") in INTERNAL_ERROR_KINDS and error.get("message"):
                # words meant for the customer (a reviewer's message) may be passed on as they are
                told = str(error.get("customer_message") or "")
                evidence.internal.append(str(error["message"]).replace(told, "") if told else str(error["message"]))
            _add_result(evidence, envelope.get("data") if envelope.get("ok") else envelope.get("error"), vocabulary)
            data = envelope.get("data")
            if envelope.get("ok") and isinstance(data, dict) and isinstance(data.get("summary"), str):
                evidence.summaries.append(data["summary"])
    return evidence
