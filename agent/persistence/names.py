"""People's names as identities: one canonical form wherever a name is stored or compared.

A user or reviewer name decides who may approve what (separation of duties), whose thread a
message may go to and whose runs a key sees. Compared as raw strings, ``"agent.demo "``,
``"Agent.Demo"`` and a fullwidth ``"ａｇｅｎｔ.ｄｅｍｏ"`` would be four people; canonically they are one.
The form is Unicode's identifier caseless matching (NFKC, case-folded, NFKC again), with format
and control characters (zero-width spaces, joiners, direction marks) removed and whitespace
trimmed and collapsed.
"""

from __future__ import annotations

import unicodedata

from agent.errors import InvalidName

MAX_NAME_CHARS = 128  # the width of the name columns


def normalize_name(name: str) -> str:
    """The canonical form of ``name``; ``InvalidName`` when nothing is left of it."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cf", "Cc"))
    text = unicodedata.normalize("NFKC", " ".join(text.split()).casefold())
    if not text:
        raise InvalidName(f"a user or reviewer name must have visible characters (got {name!r})")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidName(f"a user or reviewer name has at most {MAX_NAME_CHARS} characters (got {len(text)})")
    return text


def same_person(a: str | None, b: str | None) -> bool:
    """Whether two stored or presented names are one identity (``None`` is nobody)."""
    if a is None or b is None:
        return False
    try:
        return normalize_name(a) == normalize_name(b)
    except InvalidName:
        return False
