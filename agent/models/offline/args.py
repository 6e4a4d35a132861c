"""Filling a tool's arguments from the user's words, guided by the args JSON schema.

Per field kind (see :mod:`agent.models.offline.fields`):

- ``pattern`` / ``email`` / ``date``: a regex search of the text with the anchors removed;
  several different matches are ambiguous (the model asks which one);
- ``enum``: the value whose words (stemmed, ``_``/``-`` split) occur close together in the text,
  or one of its ``x-aliases`` phrases (``{"not_received": ["never arrived"]}``); negations fold,
  so "didn't receive" → ``not_received``;
- ``number`` / ``integer``: money-like fields take an amount ("$42", "42.00 dollars",
  "credit 20"); other numbers only when named next to the number ("quantity 2");
- ``query``: the request text; ``text``: a short phrase (reasons, subjects), the whole
  request (descriptions), a person's name (``name`` fields: capitalised words);
- address fields (street, city, region, postal code, country): one comma-separated address
  (see :mod:`agent.models.offline.address`);
- any field: a ``"<field>: <value>"`` (or "is", "=", "to") mention, which is how a user answers
  a clarifying question about a field the model cannot read otherwise. Patterns that also match
  ordinary words (a free-form postal code, a two-letter country code) are only read this way.

Optional fields are filled only when the text states them; defaults are left to the tool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.models.offline.address import address_fields, parse_address
from agent.models.offline.fields import FieldView, unanchored
from agent.models.offline.text import stems

_MONEY_NAMES = frozenset({"amount", "price", "total", "cost", "sum", "value", "refund", "credit", "fee"})
_SHORT_NAMES = frozenset({"subject", "title", "summary", "headline", "topic"})
_LONG_NAMES = frozenset({"description", "details", "body", "message", "comment", "comments", "notes", "note", "text"})
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CURRENCY = re.compile(
    rf"[$€£]\s?({_AMOUNT})(?![\d.,]\d)|\b({_AMOUNT})\s?(?:dollars?|usd|eur|euros?|gbp|pounds?|bucks)\b", re.I
)
_MONEY_WORDS = r"amount|refund\w*|price|total|credit\w*|pay\w*|charge\w*|cost|back"
_NAMED_AMOUNT = re.compile(rf"\b(?:{_MONEY_WORDS})\W{{1,3}}(?:of\s+)?({_AMOUNT})\b(?!\s*%)", re.I)
_NUMBER = re.compile(r"(?<![\w.$€£])(\d+(?:\.\d+)?)(?![\w%]|\.\d)")
_BECAUSE = re.compile(r"\b(?:because|since|due to)\s+(.+?)(?:[.;!?]|$)", re.I)
_LETTERS = re.compile(r"[^\W\d_]+")  # a run of letters of any script ("José", "Müller", "你好")
_QUOTED_NAME = re.compile(r"\b(?:named|called)\s+[\"'“‘「『]([^\"'”’」』]{1,80})[\"'”’」』]", re.I)
_NAME_FIELDS = frozenset({"name", "full_name", "customer_name", "person_name"})
_PLACE_FIELDS = frozenset({"location", "place", "destination", "city", "town"})
_PLACE = re.compile(r"\b(?:in|at|near|for|to)\s+(?=[^\W\d_])")


@dataclass
class Filled:
    """The outcome of filling one tool's arguments from text."""

    args: dict[str, Any] = field(default_factory=dict)
    missing: list[FieldView] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    unsupported: list[FieldView] = field(default_factory=list)
    one_of: list[FieldView] = field(default_factory=list)
    """Optional identifiers of which the tool needs at least one, when none was given."""


def find_all(pattern: str, text: str) -> list[str]:
    """Distinct matches of a schema pattern in ``text``, in order; upper-cased when that fits."""
    found: list[str] = []
    # Ids mixing letters and digits may be typed in lower case; pure-letter codes may not
    # (a lower-case "us" is not the country code US).
    flags = re.I if re.search(r"\\d|0-9", pattern) else 0
    try:
        matches = [m.group(0) for m in re.finditer(unanchored(pattern), text, flags)]
        full = re.compile(pattern)
    except re.error:
        return []
    for value in matches:
        # "t1000001" typed in lower case still names ticket T1000001.
        value = value if full.fullmatch(value) else value.upper()
        if full.fullmatch(value) and value not in found:
            found.append(value)
    return found


def mask(text: str, values: list[str]) -> str:
    """Blank out already-used values so their digits are not read as amounts."""
    for value in values:
        text = re.sub(re.escape(value), " ", text, flags=re.I)
    return text


def _enum_phrases(view: FieldView, value: Any) -> list[str]:
    phrases = [re.sub(r"[_\-]+", " ", str(value))]
    aliases = (view.aliases or {}).get(str(value), ())
    return phrases + ([aliases] if isinstance(aliases, str) else list(aliases))


def _phrase_in(phrase: list[str], text: list[str]) -> bool:
    """All words of ``phrase`` in order within a window a little longer than the phrase."""
    window = len(phrase) + 2
    for start, word in enumerate(text):
        if word != phrase[0]:
            continue
        rest, position = phrase[1:], start
        for token in text[start + 1 : start + window]:
            position += 1
            if rest and token == rest[0]:
                rest = rest[1:]
        if not rest:
            return True
    return False


def match_enum(view: FieldView, text: str) -> list[Any]:
    """Enum values named in ``text``; longer phrases beat their parts ("not received" > "received")."""
    tokens = stems(text)
    best: list[Any] = []
    best_len = 0
    for value in view.enum:
        lengths = [len(p) for p in (stems(s) for s in _enum_phrases(view, value)) if p and _phrase_in(p, tokens)]
        if not lengths:
            continue
        if max(lengths) > best_len:
            best, best_len = [value], max(lengths)
        elif max(lengths) == best_len:
            best.append(value)
    return best


def _as_number(raw: str, view: FieldView) -> Any:
    # "1,250.00" groups thousands; "42,50" is a decimal comma.
    raw = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw) else raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if view.kind == "integer":
        return int(value) if value == value.to_integral_value() else None
    # Decimals travel as strings when the schema allows it, so cents are never rounded by floats.
    if view.allows_string:
        return raw
    return int(value) if value == value.to_integral_value() else float(value)


def match_number(view: FieldView, text: str) -> list[Any]:
    """Numbers for a numeric field: amounts for money-like fields, named numbers otherwise."""
    name_words = set(view.name.split("_"))
    if name_words & _MONEY_NAMES:
        candidates = [a or b for a, b in _CURRENCY.findall(text)] or _NAMED_AMOUNT.findall(text)
    else:
        label = "|".join(re.escape(w) for w in view.name.split("_") if len(w) > 2) or re.escape(view.name)
        near = re.findall(rf"\b(?:{label})\w*\W{{1,3}}(\d+)\b|\b(\d+)\s+(?:{label})", text, re.I)
        candidates = [a or b for a, b in near]
        if not candidates and view.required:
            candidates = _NUMBER.findall(text)
    values = [_as_number(c, view) for c in candidates]
    return list(dict.fromkeys(v for v in values if v is not None))


def _clip(text: str, words: int, max_length: int | None) -> str:
    clipped = " ".join(text.split()[:words]).strip(" ,;:-")
    if max_length is not None and len(clipped) > max_length:
        clipped = clipped[:max_length].rsplit(" ", 1)[0]
    return clipped


def named_value(view: FieldView, text: str) -> str | None:
    """A value given as ``<field>: <value>`` (or "is", "=", "to"), up to the next comma or stop."""
    label = r"[\s_]+".join(re.escape(w) for w in view.label.split())
    named = re.search(
        rf"\b{label}\s*(?:is|:|=|to|should be)\s*(\"[^\"]+\"|[^,;\n]+?)\s*(?:[,;\n]|\.(?:\s|$)|$)", text, re.I
    )
    if not named:
        return None
    value = _clip(named.group(1).strip('" '), 30, view.max_length)
    if view.pattern and not re.fullmatch(view.pattern, value):
        return None
    return value or None


def place_name(text: str) -> str | None:
    """A place named after "in", "at", "near"…: its capitalised words, with a ", CA" region kept
    ("the weather in San Francisco, CA?" → "San Francisco, CA"); ``None`` when none is named."""
    for match in _PLACE.finditer(text):
        words = re.match(r"((?:[^\W\d_][\w.'’-]*)(?:(?:,\s*|\s+)[^\W\d_][\w.'’-]*)*)", text[match.end() :])
        kept: list[str] = []
        for part in re.split(r"(\s+|,\s*)", words.group(1) if words else ""):
            if part.strip(", ") and not part[0].isupper():
                break
            kept.append(part)
        place = "".join(kept).strip(" ,")
        if place:
            return place.rstrip(".")
    return None


def person_names(text: str) -> list[str]:
    """Runs of two or more capitalised words in any alphabet ("José Müller", "Zoë Ångström").

    A run at the very start is skipped: "Look Up" is capitalised too, but not a name.
    """
    names: list[str] = []
    run: list[tuple[int, int]] = []

    def flush() -> None:
        if len(run) >= 2 and run[0][0] > 0:
            names.append(text[run[0][0] : run[-1][1]])

    for match in _LETTERS.finditer(text):
        word = match.group(0)
        capital = len(word) > 1 and word[0].isupper() and word[1:].islower()
        adjacent = bool(run) and text[run[-1][1] : match.start()] in (" ", "-")
        if capital and (not run or adjacent):
            run.append(match.span())
            continue
        flush()
        run = [match.span()] if capital else []
    flush()
    return names


def match_text(view: FieldView, text: str) -> str | None:
    """Free text for a string field without pattern or enum (``None`` when it cannot be told)."""
    words = set(view.name.split("_"))
    named = named_value(view, text)
    if named:
        return named
    if view.kind == "query":
        return _clip(text.strip(), 100, view.max_length)
    if words & _LONG_NAMES:
        return _clip(text, 200, view.max_length)
    if words & _SHORT_NAMES:
        return _clip(re.split(r"(?<=[.!?])\s", text.strip())[0], 10, view.max_length)
    if view.name in _NAME_FIELDS:
        quoted = _QUOTED_NAME.search(text)  # 'named "你好啊集团"': scripts without capitals say it so
        if quoted:
            return _clip(quoted.group(1).strip(), 30, view.max_length)
        people = person_names(text)
        return people[0] if len(set(people)) == 1 else None
    if view.name in _PLACE_FIELDS:
        return place_name(text)
    if "reason" in words:
        because = _BECAUSE.search(text)
        if because:
            return _clip(because.group(1), 12, view.max_length)
        return _clip(text, 20, view.max_length) if view.required else None
    return None


def _value_for(view: FieldView, text: str, in_address: bool) -> list[Any]:
    """Candidate values for one field (empty: not stated; several: ambiguous)."""
    if view.kind in ("pattern", "email", "date") and view.pattern:
        if view.selective and not in_address:
            return list(find_all(view.pattern, text))
        named = named_value(view, text)
        return [named] if named else []
    if view.kind == "enum":
        return match_enum(view, text)
    if view.kind in ("number", "integer"):
        return match_number(view, text)
    if view.kind in ("query", "text"):
        value = match_text(view, text)
        return [value] if value else []
    return []


def fill_args(fields: list[FieldView], text: str) -> Filled:
    """Fill every field it can from ``text``; report missing, ambiguous and unsupported ones."""
    filled = Filled(args=parse_address(fields, text))
    in_address = {v.name for v in address_fields(fields)}
    used: list[str] = []
    # Identifiers first, so their digits are masked before amounts are read.
    ordered = sorted(fields, key=lambda f: f.kind not in ("pattern", "email", "date"))
    for view in ordered:
        if view.name in filled.args:
            continue
        source = text if view.kind in ("pattern", "email", "date", "query", "text") else mask(text, used)
        values = _value_for(view, source, view.name in in_address)
        if len(values) == 1:
            filled.args[view.name] = values[0]
            used.extend(str(v) for v in values if view.kind in ("pattern", "email", "date"))
        elif len(values) > 1 and view.required:
            filled.ambiguous[view.name] = [str(v) for v in values]
        elif not values and view.required and view.default_from is None:
            (filled.unsupported if view.kind in ("boolean", "other") else filled.missing).append(view)
    if not filled.args and not any(f.required for f in fields):
        filled.one_of = [f for f in fields if (f.is_identifier or f.kind == "email") and f.pattern]
    filled.args = in_schema_order(fields, filled.args)
    return filled


def in_schema_order(fields: list[FieldView], args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` ordered as the schema lists its fields (stable, readable tool calls)."""
    return {f.name: args[f.name] for f in fields if f.name in args}


def default_from(view: FieldView, data: Mapping[str, Any]) -> Any:
    """The value ``x-default-from`` points at in a tool result's data, typed for the field."""
    if view.default_from is None or view.default_from not in data:
        return None
    value = data[view.default_from]
    if view.kind in ("number", "integer") and isinstance(value, str):
        return _as_number(value, view)
    return value
