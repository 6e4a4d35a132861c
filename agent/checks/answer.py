"""Output validation: is an answer safe and true to this conversation's tool results?

Checks, each a :class:`Problem` when it fails:

- ``foreign_data`` — a record id of the domain (its vocabulary's entities), an email or a phone
  number that no tool result (and not the user) gave in this conversation: another customer's
  or tenant's data, or an invented record;
- ``unknown_citation`` — a ``[doc#chunk]`` citation of a passage not retrieved in this
  conversation; ``uncited_policy`` — a claim attributed to a policy with no citation at all;
- ``record_fact`` — a status, amount or date stated about one record (a sentence naming one id
  of an entity with statuses) that the tool results contradict (or never gave);
- ``internal_text`` — the answer passes on an error message meant for the model only (its own
  invalid arguments, a crash, the runtime's instructions after a refusal): a failed call must
  become a helpful answer, never internal text shown to the customer;
- ``empty`` — no answer at all.

Secrets are not a problem to repair: :func:`agent.checks.redact` removes them from every answer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from agent.checks.evidence import CITATION, Evidence, amounts_in, dates_in, identifier_pattern
from tools.domain import Entity, Vocabulary

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_STATUS_VERBS = r"\b(?:is|was|has been|have been|status(?: is)?:?|now)\s+(?:now\s+|already\s+|currently\s+|still\s+)?"
_POLICY_CLAIM = re.compile(
    r"\b(?:according to|per|under|as stated in|in line with)\s+(?:our|the|\w+'s?)\b[^.]{0,40}\bpolic(?:y|ies)\b"
    r"|\bour\s+(?:[\w-]+\s+){0,2}polic(?:y|ies)\s+(?:says|states|allows|requires|is|are|lets|gives|covers)\b"
    r"|\bthe\s+(?:[\w-]+\s+){1,2}policy\s+(?:says|states|allows|requires|lets|gives|covers)\b",
    re.IGNORECASE,
)


@functools.cache
def _status_claim(words: tuple[str, ...]) -> re.Pattern[str]:
    """A status stated in a sentence ("is shipped", "has been cancelled") for these status words."""
    spoken = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"{_STATUS_VERBS}({spoken})\b|\bhas ({spoken})\b", re.IGNORECASE)


@functools.cache
def _one_id(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])")


@dataclass(frozen=True)
class Problem:
    """One reason an answer cannot go out as it is."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


_EXAMPLE = re.compile(r"(?:e\.g\.|for example|for instance|such as|like|format)[\s:,(]*$", re.IGNORECASE)


def _stated(answer: str, vocabulary: Vocabulary) -> set[str]:
    """Identifiers the answer states as facts (not ones shown as a format example: "e.g. AB-123")."""
    return {
        m.group()
        for m in identifier_pattern(vocabulary).finditer(answer)
        if not _EXAMPLE.search(answer[max(0, m.start() - 20) : m.start()])
    }


def _foreign(answer: str, evidence: Evidence, vocabulary: Vocabulary) -> list[Problem]:
    unknown = sorted(_stated(answer, vocabulary) - evidence.identifiers)
    return [
        Problem("foreign_data", f"{item} does not appear in any tool result or user message of this conversation")
        for item in unknown
    ]


def _citations(answer: str, evidence: Evidence) -> list[Problem]:
    cited = CITATION.findall(answer)
    problems = [
        Problem("unknown_citation", f"[{c}] was not retrieved in this conversation")
        for c in dict.fromkeys(cited)
        if c not in evidence.chunk_ids
    ]
    if not cited and (claim := _POLICY_CLAIM.search(answer)):
        problems.append(
            Problem("uncited_policy", f"'{claim.group()}' states a policy without citing a retrieved passage")
        )
    return problems


def _record_facts(sentence: str, entity: Entity, record_id: str, evidence: Evidence) -> list[Problem]:
    problems = []
    known = evidence.statuses.get(record_id)
    words = {w.lower(): canonical for w, canonical in entity.status_words.items()}
    for match in _status_claim(tuple(words)).finditer(sentence) if words else ():
        claimed = words[(match.group(1) or match.group(2)).lower()]
        if known is not None and claimed != known:
            problems.append(Problem("record_fact", f"{record_id} is said to be {claimed}, but its status is {known}"))
    for amount in sorted(amounts_in(sentence) - evidence.amounts):
        problems.append(Problem("record_fact", f"${amount} (about {record_id}) is not in any tool result"))
    for date in sorted(dates_in(sentence), key=str):
        if not evidence.knows_date(date):
            year, month, day = date
            shown = f"{year or '????'}-{month:02d}-{day:02d}"
            problems.append(Problem("record_fact", f"the date {shown} (about {record_id}) is not in any tool result"))
    return problems


_INTERNAL_PARTS = re.compile(r"(?<=[.;:])\s+")
_MIN_QUOTED = 24  # shorter pieces ("not run", a field name) are ordinary words


def _internal(answer: str, evidence: Evidence) -> list[Problem]:
    """An internal error message, or a sizeable piece of one, repeated in the answer."""
    said = " ".join(answer.split()).lower()
    for message in evidence.internal:
        pieces = [" ".join(p.split()).lower() for p in [message, *_INTERNAL_PARTS.split(message)]]
        quoted = next((p for p in pieces if len(p) >= _MIN_QUOTED and p in said), None)
        if quoted is not None:
            return [Problem("internal_text", f"the answer repeats an internal error message: {quoted[:80]!r}")]
    return []


def check_answer(answer: str, evidence: Evidence, vocabulary: Vocabulary | None = None) -> list[Problem]:
    """Every problem of ``answer`` against ``evidence`` (empty: the answer may go out); which ids
    and statuses the domain has comes from its ``vocabulary``."""
    vocabulary = vocabulary or Vocabulary()
    if not answer.strip():
        return [Problem("empty", "the answer is empty")]
    problems = [*_foreign(answer, evidence, vocabulary), *_citations(answer, evidence), *_internal(answer, evidence)]
    tracked = [e for e in vocabulary.entities if e.status_field is not None]
    for sentence in _SENTENCE.split(answer):
        for entity in tracked:
            named = set(_one_id(entity.id_pattern).findall(sentence))
            if len(named) == 1:
                problems += _record_facts(sentence, entity, named.pop(), evidence)
    return problems
