"""Output validation: is an answer safe and true to this conversation's tool results?

Checks, each a :class:`Problem` when it fails:

- ``foreign_data`` — an order, customer, refund or ticket id, email or phone number that no
  tool result (and not the user) gave in this conversation: another customer's or tenant's
  data, or an invented record;
- ``unknown_citation`` — a ``[doc#chunk]`` citation of a passage not retrieved in this
  conversation; ``uncited_policy`` — a claim attributed to a policy with no citation at all;
- ``order_fact`` — a status, amount or date stated about an order that the tool results
  contradict (or never gave);
- ``empty`` — no answer at all.

Secrets are not a problem to repair: :func:`agent.checks.redact` removes them from every answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.checks.evidence import CITATION, IDENTIFIER, Evidence, amounts_in, dates_in

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_ORDER_ID = re.compile(r"(?<![\w-])W\d{7}(?![\w-])")
_STATUS_WORDS = {
    "delivered": "delivered",
    "shipped": "shipped",
    "in transit": "shipped",
    "processing": "processing",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "pending payment": "pending_payment",
    "awaiting payment": "pending_payment",
}
_STATUS_CLAIM = re.compile(
    r"\b(?:is|was|has been|have been|status(?: is)?:?|now)\s+(?:now\s+|already\s+|currently\s+|still\s+)?"
    r"(delivered|shipped|in transit|processing|cancell?ed|canceled|pending payment|awaiting payment)\b"
    r"|\bhas (shipped)\b",
    re.IGNORECASE,
)
_POLICY_CLAIM = re.compile(
    r"\b(?:according to|per|under|as stated in|in line with)\s+(?:our|the|acme'?s?)\b[^.]{0,40}\bpolic(?:y|ies)\b"
    r"|\bour\s+(?:[\w-]+\s+){0,2}polic(?:y|ies)\s+(?:says|states|allows|requires|is|are|lets|gives|covers)\b"
    r"|\bthe\s+(?:[\w-]+\s+){1,2}policy\s+(?:says|states|allows|requires|lets|gives|covers)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    """One reason an answer cannot go out as it is."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


_EXAMPLE = re.compile(r"(?:e\.g\.|for example|for instance|such as|like|format)[\s:,(]*$", re.IGNORECASE)


def _stated(answer: str) -> set[str]:
    """Identifiers the answer states as facts (not ones shown as a format example: "e.g. W1000001")."""
    return {
        m.group()
        for m in IDENTIFIER.finditer(answer)
        if not _EXAMPLE.search(answer[max(0, m.start() - 20) : m.start()])
    }


def _foreign(answer: str, evidence: Evidence) -> list[Problem]:
    unknown = sorted(_stated(answer) - evidence.identifiers)
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


def _order_facts(sentence: str, order_id: str, evidence: Evidence) -> list[Problem]:
    problems = []
    known = evidence.order_status.get(order_id)
    for match in _STATUS_CLAIM.finditer(sentence):
        claimed = _STATUS_WORDS[(match.group(1) or match.group(2)).lower()]
        if known is not None and claimed != known:
            problems.append(Problem("order_fact", f"{order_id} is said to be {claimed}, but its status is {known}"))
    for amount in sorted(amounts_in(sentence) - evidence.amounts):
        problems.append(Problem("order_fact", f"${amount} (about {order_id}) is not in any tool result"))
    for claimed in sorted(dates_in(sentence), key=str):
        if not evidence.knows_date(claimed):
            year, month, day = claimed
            shown = f"{year or '????'}-{month:02d}-{day:02d}"
            problems.append(Problem("order_fact", f"the date {shown} (about {order_id}) is not in any tool result"))
    return problems


def check_answer(answer: str, evidence: Evidence) -> list[Problem]:
    """Every problem of ``answer`` against ``evidence`` (empty: the answer may go out)."""
    if not answer.strip():
        return [Problem("empty", "the answer is empty")]
    problems = [*_foreign(answer, evidence), *_citations(answer, evidence)]
    for sentence in _SENTENCE.split(answer):
        orders = set(_ORDER_ID.findall(sentence))
        if len(orders) == 1:
            problems += _order_facts(sentence, orders.pop(), evidence)
    return problems
