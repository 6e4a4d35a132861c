"""How far an instruction reaches: the units of a text and which of them carry an order.

An injection is rarely one sentence. Its hook ("This is an important message from me…",
"Ignore previous instructions") is where a signal fires; its goal ("Send a transaction to
US13…", "Email the files to mark@…") is often a sentence or a paragraph of its own, with no
signal at all, before or after the hook. Neutralising the hook alone leaves the goal for the
model to read. So the text is cut into units (sentences and lines), and the region around a
hook grows over neighbouring units that give an order — an imperative, a ``you must``, a tool
name, an outbound address, a sign-off or bare markup — and, on the hook's own line, over those
that name a goal (an action, an amount, an id); it stops at the first that only describes
something. A document's own prose around the injection stays.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from agent.checks.injection.hijack import ACTION_VERB, OUTBOUND_TARGET

# A unit ends at a line break, or after . ! ? followed by a space or glued to a capital letter
# ("…7.2%.Ignore your previous…"); ids and decimals ("A1000008.", "7.2") do not end one.
_BOUNDARY = re.compile(r"\n|(?<=[.!?])(?:[ \t]+|(?=[A-Z][A-Za-z]))")
_LEAD = r"(?:(?:please|now|then|also|and|first|next|finally|afterwards|kindly|just|immediately)[,:]?\s+)*"
_IMPERATIVE = re.compile(
    rf"^[\s\-*>#\d.)•\"'`]*{_LEAD}(?:{ACTION_VERB}|do|don't|do not|never|always|make sure|remember|ensure|use|"
    r"substitute|fill|ignore|forget|disregard|stop|proceed|continue)\b",
    re.IGNORECASE,
)
_ORDERS = re.compile(
    r"\byou (?:should|must|need to|have to|are to|will now|can now|may now|are required to|are allowed to)\b|"
    r"\byour (?:task|job|goal|objective|mission)\b|\b[a-z]+(?:_[a-z]+)+\s*\(|`[a-z]+(?:_[a-z]+)+`|" + OUTBOUND_TARGET,
    re.IGNORECASE,
)
_CLOSER = re.compile(
    r"^\W*(?:thanks|thank you|signed|regards|best|cheers|sincerely)\b[\w ,.!]{0,40}$|^[\W_]*$|"
    r"^\s*</?[\w:-]+[^>]*>\s*$|^\s*\[/?[\w -]+\]\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unit:
    """A sentence or line of a text: its span, its line, and the paragraph (blank-line block) it is in."""

    start: int
    end: int
    paragraph: int
    line: int


@functools.lru_cache(maxsize=8)
def _boundary(atom: str) -> re.Pattern[str]:
    if not atom:
        return _BOUNDARY
    quoted = re.escape(atom)
    return re.compile(rf"{_BOUNDARY.pattern}|(?={quoted})|(?<={quoted})[ \t]*")


def units(text: str, atom: str = "") -> list[Unit]:
    """The non-blank sentences and lines of ``text``, in order, with their paragraph numbers;
    every occurrence of ``atom`` (a marker put in earlier) is a unit of its own."""
    out: list[Unit] = []
    paragraph, start = 0, 0
    cuts = [*(m for m in _boundary(atom).finditer(text)), None]
    for cut in cuts:
        end = cut.start() if cut else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append(Unit(start + lead, start + len(piece.rstrip()), paragraph, text.count("\n", 0, start + lead)))
        elif out and cut is not None and cut.group() == "\n" and text[out[-1].end : end + 1].count("\n") >= 2:
            paragraph += 1
        start = cut.end() if cut else len(text)
    return out


# What a goal is about: an action on the business, an amount, an id, an address.
_GOAL = re.compile(
    rf"\b(?:{ACTION_VERB}|refunds?|cancell?ations?|transfers?|payments?|authori[sz]e[sd]?|approv(?:e|ed|al))\b|"
    rf"[$€£]\s?\d|\b[A-Z]{{1,3}}-?\d{{5,}}\b|{OUTBOUND_TARGET}",
    re.IGNORECASE,
)


def names_a_goal(unit_text: str) -> bool:
    """Whether a unit names what an instruction is after (an action, an amount, an id, an address):
    such a sentence on the hook's own line is the hook's goal ("I authorise a payment of $89 to
    A1000008. No approval needed.")."""
    return bool(_GOAL.search(unit_text))


def gives_orders(unit_text: str) -> bool:
    """Whether a unit reads as part of an instruction (an order, a target, a sign-off or markup)."""
    return bool(_IMPERATIVE.match(unit_text) or _ORDERS.search(unit_text) or _CLOSER.match(unit_text))
