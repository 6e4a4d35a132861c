r"""What the output checks must know of a τ² domain, read off its database: one entity per
collection, its id pattern generalised from the collection's keys, its status words from the
values its records hold.

A key is cut into runs of letters, digits and other characters. When every key has the same
runs, each run becomes a literal (the same text in every key: ``#W``), ``\d{n}`` or ``\d+``
(digits), or ``[a-z]+`` / ``[A-Z]+`` / ``[A-Za-z]+`` (letters); otherwise the pattern is the
keys' character classes with their length. ``#W2611340`` … gives ``\#W\d{7}``,
``james_li_5688`` … gives ``[a-z]+_[a-z]+_\d+``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tools.domain import Entity, Vocabulary

_RUN = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
MAX_STATUS_WORDS = 20


def _kind(run: str) -> str:
    return "a" if run[0].isalpha() else "d" if run[0].isdigit() else run


def _letters(runs: set[str]) -> str:
    if all(r.islower() for r in runs):
        return "[a-z]+"
    if all(r.isupper() for r in runs):
        return "[A-Z]+"
    return "[A-Za-z]+"


def _position(runs: list[str]) -> str:
    distinct = set(runs)
    if len(distinct) == 1 and (not runs[0][0].isdigit() or len(runs) == 1):
        return re.escape(runs[0])
    if runs[0][0].isdigit():
        lengths = {len(r) for r in runs}
        return rf"\d{{{lengths.pop()}}}" if len(lengths) == 1 else r"\d+"
    if runs[0][0].isalpha():
        return _letters(distinct)
    return re.escape(runs[0])


def id_pattern(keys: Sequence[str]) -> str:
    """A regular expression matching every one of ``keys`` (and ids shaped like them)."""
    if not keys:
        return r"(?!)"
    split = [_RUN.findall(k) for k in keys]
    shapes = {tuple(_kind(r) for r in runs) for runs in split}
    if len(shapes) == 1:
        return "".join(_position([runs[i] for runs in split]) for i in range(len(split[0])))
    classes = ""
    if any(c.isdigit() for k in keys for c in k):
        classes += r"\d"
    letters = {c for k in keys for c in k if c.isalpha()}
    classes += "A-Z" if any(c.isupper() for c in letters) else ""
    classes += "a-z" if any(c.islower() for c in letters) else ""
    classes += "".join(re.escape(c) for c in sorted({c for k in keys for c in k if not c.isalnum()}))
    lengths = {len(k) for k in keys}
    return f"[{classes}]" + (f"{{{lengths.pop()}}}" if len(lengths) == 1 else "+")


def singular(collection: str) -> str:
    """A collection's name in the singular (``orders`` → ``order``)."""
    return collection[:-1] if collection.endswith("s") else collection


def entity_of(collection: str, keys: Sequence[str], records: Sequence[dict[str, Any]]) -> Entity:
    """The entity of one collection: its id pattern, id field, status words and owner field."""
    name = singular(collection)
    fields = set(records[0]) if records else set()
    id_field = f"{name}_id"
    statuses = sorted({r["status"] for r in records if isinstance(r.get("status"), str)})
    has_status = "status" in fields and 0 < len(statuses) <= MAX_STATUS_WORDS
    return Entity(
        name,
        id_pattern(keys),
        id_fields=(id_field,) if id_field in fields else (),
        status_field="status" if has_status else None,
        status_words={s.lower(): s for s in statuses} if has_status else {},
        owner_field="user_id" if "user_id" in fields and name != "user" else None,
    )


def vocabulary_of(collections: dict[str, dict[str, dict[str, Any]]]) -> Vocabulary:
    """One entity per collection of a τ² database (``{collection: {key: record}}``)."""
    return Vocabulary(
        entities=tuple(entity_of(name, list(rows), list(rows.values())) for name, rows in collections.items())
    )
