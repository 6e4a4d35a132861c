"""Typos and scrambled letters in the words injections depend on: "iunstructions", "ignroe",
"disregrad", "prevoius".

Attackers misspell the words a filter looks for, and models read through the misspelling. The
:func:`respell` view puts back the word a token is one edit away from (two for long words), or
whose letters it scrambles between the same first and last letter, for a small lexicon of the
words the signals are built on. Real words one edit away from a lexicon word ("precious",
"instructor", "ignored") are known and left alone, so the view never turns a customer's sentence
into an injection it is not.
"""

from __future__ import annotations

import functools
import re

LEXICON = frozenset(
    {
        "ignore",
        "disregard",
        "forget",
        "override",
        "bypass",
        "previous",
        "preceding",
        "earlier",
        "instruction",
        "instructions",
        "guidelines",
        "directives",
        "constraints",
        "restrictions",
        "commands",
        "programming",
        "system",
        "assistant",
        "developer",
        "administrator",
        "approval",
        "reviewer",
        "confirmation",
        "verification",
        "authorization",
        "authorisation",
        "permission",
        "important",
        "message",
        "prompt",
        "reveal",
        "pretend",
        "immediately",
        "mandatory",
        "supersedes",
        "jailbreak",
        "unrestricted",
        "unfiltered",
        "execute",
        "function",
    }
)
_SUFFIXES = ("s", "es", "d", "ed", "ing", "er", "ers", "ly")
# Real words within one edit (two for long words) of a lexicon word: never "corrected".
_KNOWN = frozenset(
    {w + s for w in LEXICON for s in ("", *_SUFFIXES)}
    | {"ignoring", "bypassed", "overridden", "overrides", "executing", "pretending", "prompted", "promptly"}
    | {"precious", "forgot", "forger", "massage", "passage", "instructor", "instructors", "instructed"}
    | {"administration", "administrators", "immediate", "restricted", "restriction", "constraint", "guideline"}
    | {"directive", "command", "commanded", "systemic", "developed", "conformation", "functions", "functional"}
    | {"approved", "approvals", "permissions", "permit", "reviewed", "reviewers", "messages", "messaging"}
)
_WORD = re.compile(r"[A-Za-z]{5,}")


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _scrambled_key(word: str) -> str:
    return word[0] + "".join(sorted(word[1:-1])) + word[-1]


_BY_DELETE: dict[str, set[str]] = {}
for _word in LEXICON:
    for _key in _deletes(_word) | {_word}:
        _BY_DELETE.setdefault(_key, set()).add(_word)
_BY_SCRAMBLE = {_scrambled_key(w): w for w in LEXICON}


def _distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (Levenshtein with adjacent transpositions)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


@functools.lru_cache(maxsize=16384)
def correct(token: str) -> str | None:
    """The lexicon word ``token`` (lower case) misspells, or None."""
    if token in _KNOWN:
        return None
    scrambled = _BY_SCRAMBLE.get(_scrambled_key(token))
    if scrambled is not None:
        return scrambled
    if len(token) < 6:
        return None
    candidates = set().union(*(_BY_DELETE.get(k, set()) for k in _deletes(token) | {token}))
    allowed = 2 if len(token) >= 10 else 1
    close = sorted((_distance(token, w), w) for w in candidates if w[0] == token[0])
    return close[0][1] if close and close[0][0] <= allowed else None


def respell(text: str) -> str:
    """``text`` with every misspelt lexicon word put back (the case of its first letter kept)."""

    def fix(match: re.Match[str]) -> str:
        token = match.group()
        word = correct(token.lower())
        if word is None:
            return token
        return word.upper() if token.isupper() else word.capitalize() if token[0].isupper() else word

    return _WORD.sub(fix, text)
