"""How the offline model reads one argument's JSON schema: what kind of value it wants.

Pydantic writes optional fields as ``anyOf: [..., {"type": "null"}]``, decimals as
``anyOf: [number, string]`` and enums as ``$ref`` into ``$defs``; :func:`field_view` flattens
all of that into one :class:`FieldView` so the extractors can ask simple questions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

FieldKind = Literal["pattern", "email", "date", "enum", "number", "integer", "boolean", "query", "text", "other"]

_QUERY_NAMES = frozenset({"query", "question", "q", "search", "search_query", "keywords"})
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
_DATE = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class FieldView:
    """One argument as the offline model sees it."""

    name: str
    kind: FieldKind
    required: bool
    pattern: str | None = None
    enum: tuple[Any, ...] = ()
    allows_string: bool = False
    max_length: int | None = None
    default_from: str | None = None
    aliases: Mapping[str, Any] | None = None
    examples: tuple[Any, ...] = ()
    minimum: float | None = None
    """The smallest value allowed (``minimum``), or just above it (``exclusive``)."""
    exclusive: bool = False

    @property
    def label(self) -> str:
        """Human words for the field: ``order_id`` → ``order``, ``postal_code`` → ``postal code``."""
        return self.name.removesuffix("_id").removesuffix("_number").replace("_", " ")

    @property
    def selective(self) -> bool:
        """Does the pattern single out values (ids, codes) rather than match ordinary words?"""
        if not self.pattern:
            return False
        try:
            return not any(re.fullmatch(self.pattern, w) for w in ("order", "Please", "the", "to", "OK"))
        except re.error:
            return False

    @property
    def is_identifier(self) -> bool:
        """Names an entity (``order_id``, ``order_number``), as opposed to a value like a postal code."""
        return self.name.endswith(("_id", "_number")) or self.name == "id"


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``$ref`` / ``allOf`` targets into the schema (one level is all pydantic emits)."""
    merged = {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
    targets = [schema["$ref"]] if "$ref" in schema else []
    targets += [part["$ref"] for part in schema.get("allOf", []) if "$ref" in part]
    for ref in targets:
        target: Any = root
        for part in str(ref).removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        merged = {**target, **merged}
    for part in schema.get("allOf", []):
        if "$ref" not in part:
            merged = {**part, **merged}
    return merged


def _branches(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = schema.get("anyOf") or schema.get("oneOf")
    if not options:
        return [schema if isinstance(schema, dict) else dict(schema)]
    return [_resolve(b, root) for b in options if b.get("type") != "null"]


def _kind(name: str, branches: list[dict[str, Any]]) -> FieldKind:
    types = {b.get("type") for b in branches}
    if any("enum" in b for b in branches):
        return "enum"
    if "number" in types:
        return "number"
    if "integer" in types:
        return "integer"
    if "boolean" in types:
        return "boolean"
    if types - {"string", None}:
        return "other"
    first = next((b for b in branches if b.get("pattern") or b.get("format")), {})
    if first.get("format") == "email" or "email" in name.split("_"):
        return "email"
    if first.get("format") == "date":
        return "date"
    if first.get("pattern"):
        return "pattern"
    return "query" if name in _QUERY_NAMES else "text"


def field_view(name: str, schema: Mapping[str, Any], required: bool, root: Mapping[str, Any]) -> FieldView:
    """Describe property ``name`` of a tool's parameters schema (``root`` holds ``$defs``)."""
    resolved = _resolve(schema, root)
    branches = _branches(resolved, root)
    kind = _kind(name, branches)
    enum = next((tuple(b["enum"]) for b in branches if "enum" in b), ())
    pattern = next((str(b["pattern"]) for b in branches if b.get("pattern")), None)
    max_length = next((int(b["maxLength"]) for b in branches if "maxLength" in b), None)
    return FieldView(
        name=name,
        kind=kind,
        required=required,
        pattern={"email": _EMAIL, "date": _DATE}.get(kind, pattern),
        enum=enum,
        allows_string=any(b.get("type") == "string" for b in branches),
        max_length=max_length,
        default_from=resolved.get("x-default-from"),
        aliases=resolved.get("x-aliases"),
        examples=tuple(resolved.get("examples") or ()),
        **_minimum(branches),
    )


def _minimum(branches: list[dict[str, Any]]) -> dict[str, Any]:
    for branch in branches:
        if isinstance(branch.get("exclusiveMinimum"), (int, float)):
            return {"minimum": float(branch["exclusiveMinimum"]), "exclusive": True}
        if isinstance(branch.get("minimum"), (int, float)):
            return {"minimum": float(branch["minimum"])}
    return {}


def field_views(parameters: Mapping[str, Any]) -> list[FieldView]:
    """Every property of a tool's parameters schema, in schema order."""
    required = set(parameters.get("required", ()) or ())
    properties = parameters.get("properties", {}) or {}
    return [field_view(n, s, n in required, parameters) for n, s in properties.items()]


def unanchored(pattern: str) -> str:
    """A ``^...$`` pattern made searchable inside a longer text, bounded by non-word characters."""
    core = re.sub(r"^(\^|\\A)", "", pattern)
    core = re.sub(r"(?<!\\)(\$|\\Z|\\z)$", "", core)
    return rf"(?<![\w@.\-])(?:{core})(?![\w@\-]|\.\w)"


_PIECE = re.compile(r"(\\[dws]|\\.|\[[^\]]+\]|[^\\\[{}+*?])(\{(\d+)(?:,(\d*))?\}|[+*?])?")


def pattern_example(pattern: str) -> str | None:
    r"""A value that matches a simple pattern (``^T\d{7}$`` → ``T1234567``), for questions.

    Only literals, ``\d``/``\w``, character classes and quantifiers are understood; anything
    else (groups, alternation) gives ``None`` rather than a wrong example.
    """
    core = re.sub(r"^\^|\$$", "", pattern)
    if any(c in core for c in "()|"):
        return None
    out: list[str] = []
    position = 0
    for match in _PIECE.finditer(core):
        if match.start() != position:
            return None
        position = match.end()
        atom, quantifier, low, high = match.groups()
        count = int(low) if low else (3 if quantifier == "+" else 0 if quantifier == "*" else 1)
        if low == "0" and high:
            count = int(high)
        for _ in range(count):
            out.append(_sample(atom, sum(c.isdigit() for c in out)))
    example = "".join(out)
    if position != len(core) or not re.fullmatch(pattern, example):
        return None
    return example


def _sample(atom: str, digits_so_far: int) -> str:
    if atom in (r"\d", "[0-9]"):
        return "1234567890"[digits_so_far % 10]
    if atom == r"\w" or atom == "[A-Za-z]":
        return "a"
    if atom.startswith("["):
        body = atom[1:-1]
        return body[0] if not body.startswith("^") else "x"
    return atom[1] if atom.startswith("\\") else atom
