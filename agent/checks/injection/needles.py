r"""A signal's needles: literal words a text must contain for the signal's pattern to match.

Most texts a detector sees are ordinary (order records, policy passages, questions), and most of
the 77 patterns start with ``\b`` and a long alternation, which Python's ``re`` scans position by
position. Before running a pattern, the detector asks whether any of its needles occurs in the
text (a substring test in C, case-folded): if none does, the pattern cannot match and is skipped.

The needles are derived from the compiled pattern's parse tree, so they are exact — never a
guess: a match of the pattern always contains one of them. A pattern for which no such set
exists (a branch with no literal of :data:`MIN_NEEDLE` ASCII letters) gets ``None`` and always
runs. Needles are lower-case ASCII and texts are compared after :func:`fold`, which maps the four
non-ASCII letters that ``re.IGNORECASE`` matches to ASCII letters (İ ı → i, ſ → s, K → k), so a
case-insensitive match is never missed.

:class:`NeedleIndex` asks that question for every pattern at once: one Aho-Corasick pass over the
text (pyahocorasick, in C) finds every needle it contains, instead of a substring test per needle
in Python (~75 µs for a short tool field over 77 patterns; the pass takes ~5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _constants as sre  # type: ignore[attr-defined]  # the parse tree's opcodes (stdlib, no stubs)
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import ahocorasick

MIN_NEEDLE = 3
"""Shorter literals are too common to skip anything; a branch with only those has no needle."""
_FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s", "K": "k"})
_OPTIONAL = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None))


def fold(text: str) -> str:
    """``text`` lower-cased as the needles are, with re.IGNORECASE's non-ASCII equivalents."""
    return text.translate(_FOLD).lower()


class NeedleIndex:
    """The patterns that may match a (folded) text, given each pattern's needles (``None``: it
    always may)."""

    def __init__(self, sets: Sequence[frozenset[str] | None]) -> None:
        self._always = frozenset(i for i, found in enumerate(sets) if found is None)
        owners: dict[str, set[int]] = {}
        for i, found in enumerate(sets):
            for needle in found or ():
                owners.setdefault(needle, set()).add(i)
        self._automaton = ahocorasick.Automaton()
        for needle, patterns in owners.items():
            self._automaton.add_word(needle, frozenset(patterns))
        if owners:
            self._automaton.make_automaton()

    def candidates(self, folded: str) -> list[int]:
        """The indexes, in order, of the patterns that always run or one of whose needles is in ``folded``."""
        found = set(self._always)
        if len(self._automaton):
            for _end, patterns in self._automaton.iter(folded):
                found |= patterns
        return sorted(found)


def needles(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Literals one of which every match of ``pattern`` contains; ``None`` when there is no such set."""
    found = _sequence(sre_parse.parse(pattern.pattern, pattern.flags))
    return frozenset(found) if found else None


def _sequence(items: Any) -> set[str] | None:
    """The best requirement of a sequence: its longest mandatory literal run, or the needle set of
    a mandatory part (a group, a branch), whichever has the longest shortest needle."""
    best: set[str] | None = None
    run: list[str] = []

    def consider(candidate: set[str] | None) -> None:
        nonlocal best
        if candidate and (best is None or min(map(len, candidate)) > min(map(len, best))):
            best = candidate

    def end_run() -> None:
        if len(run) >= MIN_NEEDLE:
            consider({"".join(run)})
        run.clear()

    for op, arg in items:
        if op is sre.LITERAL and 0x20 <= arg < 0x7F:
            run.append(chr(arg).lower())
            continue
        end_run()
        consider(_part(op, arg))
    end_run()
    return best


def _part(op: Any, arg: Any) -> set[str] | None:
    """The needle set of one mandatory element of a sequence (``None``: it requires no literal)."""
    if op is sre.SUBPATTERN:
        return _sequence(arg[-1])
    if op is sre.BRANCH:
        alternatives = [_sequence(branch) for branch in arg[1]]
        if any(a is None for a in alternatives):
            return None  # a branch without a needle can match anything the others cannot
        return set().union(*alternatives)  # type: ignore[arg-type]  # all checked not None
    if op in _OPTIONAL and op is not None:
        low, _high, body = arg
        return _sequence(body) if low >= 1 else None
    if op is sre.ATOMIC_GROUP:
        return _sequence(arg)
    return None  # classes, anchors, look-arounds, back-references: no literal required
