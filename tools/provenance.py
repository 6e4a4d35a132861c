"""Where the values of a tool call come from: the user's words, the system, trusted tool fields,
untrusted content, or nowhere (the model made them up).

Every piece of text a run holds has an origin. The user's own messages and the system/domain
prompt are trusted instructions. A tool result splits in two: the fields its tool declares as
untrusted free text (``ToolSpec.untrusted_fields``: a customer's note, a ticket body, a
document) and the rest, which the tool read from its own system (ids, amounts, statuses). A tool
that declares nothing (a LangChain or MCP tool) is taken as all untrusted. A result is only as
trusted as the call that produced it: a read whose arguments came from untrusted content (an
order id planted in a note) returns untrusted data whatever its fields.

:class:`Evidence` holds those pools for one run; :meth:`Evidence.label` gives each argument of a
planned call the most trusted origin that explains its value. The approval policy
(``tools.policy``) decides on the labels. This is information-flow control at the boundary of
the tools (in the spirit of CaMeL's capabilities and FIDES's integrity labels), not inside the
model: a value is traced by where it *appears*, so a value the model transforms (translates,
reformats) loses its trace and counts as the model's own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

MIN_TRACED_CHARS = 3
"""Shorter values (``"US"``, ``"OR"``) appear everywhere by chance and carry little: they are
traced only to the user, the system or trusted fields, never to untrusted content."""
ALL_FIELDS = "*"


class Source(StrEnum):
    """The origin of one value, most trusted first."""

    USER = "user"
    SYSTEM = "system"
    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"
    MODEL = "model"


@dataclass(frozen=True)
class Origin:
    """Where one argument's value came from, and for untrusted content which field of which call."""

    source: Source
    where: str = ""
    """Which tool field (``get_order.customer_note``) and call it was found in, for reviewers."""

    def to_data(self) -> dict[str, str]:
        """The origin as plain data (``{source, where?}``), for the approval row and the reviewer."""
        return {"source": self.source.value, **({"where": self.where} if self.where else {})}


@dataclass(frozen=True)
class CallProvenance:
    """The origin of each argument of one call, and where untrusted content entered the run."""

    args: Mapping[str, Origin] = field(default_factory=dict)
    untrusted_read: tuple[str, ...] = ()
    """Each tool field that brought untrusted content into the run so far (``tool.field (call)``)."""

    def with_source(self, source: Source) -> list[str]:
        """The arguments whose value came from ``source``."""
        return [name for name, origin in self.args.items() if origin.source is source]

    @property
    def tainted(self) -> list[str]:
        """Arguments whose value appears in untrusted content and nowhere trusted."""
        return self.with_source(Source.UNTRUSTED)

    @property
    def invented(self) -> list[str]:
        """Arguments whose value appears nowhere: the model chose it."""
        return self.with_source(Source.MODEL)

    def influence(self) -> str | None:
        """Why this call may be steered by untrusted content (``None``: it is not): an argument
        copied from it, or an argument the model chose after reading it."""
        if self.tainted:
            found = "; ".join(f"{a} from {self.args[a].where}" for a in self.tainted)
            return f"arguments copied from untrusted content ({found})"
        if self.untrusted_read and self.invented:
            read = ", ".join(self.untrusted_read[:3]) + (" …" if len(self.untrusted_read) > 3 else "")
            return (
                f"arguments chosen by the model ({', '.join(self.invented)}) after it read untrusted content ({read})"
            )
        return None

    def to_data(self) -> dict[str, Any]:
        """As an approval row and the reviewer's screens carry it."""
        return {
            "args": {name: origin.to_data() for name, origin in self.args.items()},
            "untrusted_read": list(self.untrusted_read),
            "influence": self.influence(),
        }


def normalized(text: str) -> str:
    """Text as values are compared in it: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _forms(value: Any) -> list[str]:
    """The spellings of a value that count as it appearing in a text."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return []
        forms = {format(number.normalize(), "f"), f"{number:.2f}"}
        return sorted(forms)
    text = normalized(str(value))
    return [text] if text else []


def _appears(form: str, text: str) -> bool:
    """``form`` occurs in ``text`` as whole words (``"89.00"`` in ``"$89.00"``, not ``"8"``)."""
    start = text.find(form)
    while start != -1:
        before = text[start - 1] if start else " "
        end = start + len(form)
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() and form[0].isalnum()) and not (after.isalnum() and form[-1].isalnum()):
            return True
        start = text.find(form, start + 1)
    return False


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, leaf)`` of every scalar in a JSON value; list items keep their list's path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from leaves(item, path)
    else:
        yield path, value


def _declared_untrusted(path: str, fields: tuple[str, ...] | None) -> bool:
    if fields is None or ALL_FIELDS in fields:
        return True
    return any(path == f or path.startswith(f + ".") for f in fields)


@dataclass
class _Pool:
    source: Source
    texts: list[tuple[str, str]] = field(default_factory=list)  # (normalized text, where)

    def find(self, forms: list[str]) -> str | None:
        for text, where in self.texts:
            if any(_appears(form, text) for form in forms):
                return where
        return None


class Evidence:
    """The texts of one run, by origin; add them in the order the run met them."""

    def __init__(self) -> None:
        self._pools = {s: _Pool(s) for s in (Source.USER, Source.SYSTEM, Source.TRUSTED, Source.UNTRUSTED)}
        self.untrusted_read: list[str] = []

    def add_text(self, source: Source, text: str, where: str = "") -> None:
        """Add a text the run met (a user message, the system prompt…) under its origin."""
        if clean := normalized(text):
            self._pools[source].texts.append((clean, where))

    def add_result(
        self, tool: str, call_id: str, data: Any, untrusted_fields: tuple[str, ...] | None, *, influenced: bool
    ) -> None:
        """A tool's result: its declared untrusted fields (all of it, if the call was influenced)
        go to the untrusted pool, the rest to the trusted one."""
        for path, leaf in leaves(data):
            if isinstance(leaf, bool) or leaf is None:
                continue
            where = f"{tool}.{path or 'result'} ({call_id})"
            text = str(leaf)
            if influenced or _declared_untrusted(path, untrusted_fields):
                if text.strip() and where not in self.untrusted_read:
                    self.untrusted_read.append(where)
                self.add_text(Source.UNTRUSTED, text, where)
            else:
                self.add_text(Source.TRUSTED, text, where)

    def origin(self, value: Any) -> Origin:
        """The most trusted origin that explains ``value``."""
        forms = _forms(value)
        if not forms:
            return Origin(Source.TRUSTED, "a fixed value")
        for source in (Source.USER, Source.SYSTEM, Source.TRUSTED):
            where = self._pools[source].find(forms)
            if where is not None:
                return Origin(source, where)
        if max(len(f) for f in forms) >= MIN_TRACED_CHARS:
            where = self._pools[Source.UNTRUSTED].find(forms)
            if where is not None:
                return Origin(Source.UNTRUSTED, where)
        return Origin(Source.MODEL)

    def label(self, args: Mapping[str, Any], fixed: frozenset[str] = frozenset()) -> CallProvenance:
        """The origin of each argument (``fixed``: arguments that carry no free value — enums,
        booleans, the declared defaults — and are left out)."""
        labels: dict[str, Origin] = {}
        for path, leaf in leaves(args):
            if path.split(".")[0] in fixed or isinstance(leaf, bool) or leaf is None:
                continue
            labels[path] = self.origin(leaf)
        return CallProvenance(args=labels, untrusted_read=tuple(self.untrusted_read))


def fixed_args(args_schema: Mapping[str, Any], args: Mapping[str, Any], defaults: Mapping[str, Any]) -> frozenset[str]:
    """Top-level arguments that cannot carry a free value: a closed set (enum, boolean, const)
    or the field's declared default, which the model did not choose."""
    defs = args_schema.get("$defs", {})
    fixed = set()
    for name, prop in args_schema.get("properties", {}).items():
        schema = _resolved(prop, defs)
        closed = any(k in schema for k in ("enum", "const")) or schema.get("type") == "boolean"
        if closed or (name in defaults and args.get(name) == defaults[name]):
            fixed.add(name)
    return frozenset(fixed)


def _resolved(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """A property's schema with a ``$ref`` (or a nullable ``anyOf`` of one) followed."""
    options = prop.get("anyOf") or [prop]
    real = [o for o in options if o.get("type") != "null"]
    if len(real) != 1:
        return prop
    option = real[0]
    ref = option.get("$ref", "")
    found: Mapping[str, Any] = defs.get(ref.rsplit("/", 1)[-1], option) if ref else option
    return found
