r"""The tool-call grammar of :mod:`agent.models.llamacpp`: JSON schemas in the subset that
llama-cpp-python's JSON-schema-to-grammar converter handles.

The converter (``LlamaGrammar.from_json_schema``) reads types, required keys, ``enum``,
``const``, ``oneOf``/``anyOf``, string lengths, item counts and ``^…$`` regex patterns, and
resolves ``$ref`` only against the root of the schema it is given. Tiller's args schemas come
from pydantic (``$defs``, ``\d`` in patterns, ``minimum``…), so each is prepared here first:
refs inlined, patterns rewritten (or dropped), large length and item bounds dropped. The grammar
may then accept arguments the real schema does not; :func:`schema_errors` checks those after
decoding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema

from agent.models.base import tool_name as schema_name


def reply_schema(tools: Sequence[Mapping[str, Any]], must_call: bool = False) -> dict[str, Any]:
    """One JSON schema for a reply: a call of one of ``tools`` or (unless ``must_call``) a text answer."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"name": {"const": schema_name(t)}, "arguments": grammar_schema(tool_parameters(t))},
            "required": ["name", "arguments"],
        }
        for t in tools
    ]
    if not must_call:
        options.append({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]})
    return {"oneOf": options}


def tool_parameters(tool: Mapping[str, Any]) -> dict[str, Any]:
    """The args schema of a bound tool dict."""
    return dict(tool.get("function", {}).get("parameters") or {"type": "object", "properties": {}})


_GRAMMAR_KEYS = {"$ref", "oneOf", "anyOf", "allOf", "const", "enum", "properties", "items", "prefixItems", "pattern"}
_MAX_ENUM_RANGE = 64
_MAX_GRAMMAR_COUNT = 64
"""Length and item bounds above this are left to the schema check: the converter writes a bound
of n as n nested rules, and ``maxLength: 4000`` would make a grammar of hundreds of kilobytes."""


def grammar_schema(schema: Any, root: Mapping[str, Any] | None = None, seen: frozenset[str] = frozenset()) -> Any:
    r"""``schema`` in the subset llama-cpp-python's grammar converter handles.

    ``$ref``\s are inlined (a recursive one becomes "any value"); a one-item ``allOf`` is merged
    into its parent; patterns are rewritten by :func:`grammar_pattern` or dropped; a small
    bounded integer range becomes an enum; large length and item bounds are dropped. What is
    dropped is checked after decoding, against the real schema.
    """
    if not isinstance(schema, Mapping):
        return {} if schema is True else schema
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = resolve_ref(root, ref)
        if target is None or ref in seen:
            return {}
        return grammar_schema({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, root, seen | {ref})
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$defs", "definitions", "title", "description", "examples", "default") or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: grammar_schema(sub, root, seen) for name, sub in value.items()}
        elif key in ("oneOf", "anyOf", "prefixItems") or (key == "items" and isinstance(value, list)):
            out[key] = [grammar_schema(sub, root, seen) for sub in value]
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = grammar_schema(value, root, seen)
        elif key in ("minLength", "maxLength", "minItems", "maxItems") and value > _MAX_GRAMMAR_COUNT:
            continue
        elif key == "pattern":
            pattern = grammar_pattern(str(value))
            if pattern is not None:
                out[key] = pattern
        else:
            out[key] = value
    if isinstance(out.get("allOf"), list) and len(out["allOf"]) == 1:
        out = {**grammar_schema(out.pop("allOf")[0], root, seen), **out}
    low, high = schema.get("minimum"), schema.get("maximum")
    integer = out.get("type") == "integer"
    if integer and isinstance(low, int) and isinstance(high, int) and 0 <= high - low < _MAX_ENUM_RANGE:
        out["enum"] = list(range(low, high + 1))
    if "type" not in out and not _GRAMMAR_KEYS & out.keys():
        return {}  # only keywords the converter cannot read (not, if/then…): any value
    return out


def resolve_ref(root: Mapping[str, Any], ref: str) -> Mapping[str, Any] | None:
    """The subschema a local ``#/…`` ref points at inside ``root``, if any."""
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


_CLASS_ESCAPES = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " "}
_OUTSIDE_ESCAPES = {"d": "[0-9]", "w": "[a-zA-Z0-9_]", "s": "[ ]", "D": "[^0-9\\x00-\\x1F\\x22\\x5C]"}
_NOT_IN_JSON = "\\x00-\\x1F\\x22\\x5C"  # control characters, '"' and '\' need escaping inside a JSON string
_PUNCTUATION = set(".^$|?*+()[]{}\\/-\"'#&~!%,:;<=>@`")


def grammar_pattern(pattern: str) -> str | None:
    r"""``pattern`` in the regex subset the grammar converter handles, or ``None`` if it has none.

    The converter needs ``^…$`` and copies escapes into the grammar, whose parser knows only a
    few (``\d``, ``\.``, ``\s`` would be rejected): those become character classes. Characters
    a JSON string must escape are kept out, so the decoded text is always valid JSON.
    Lookarounds, backreferences and other escapes give ``None`` (no pattern in the grammar).
    """
    if not (pattern.startswith("^") and pattern.endswith("$")) or pattern.endswith("\\$"):
        return None
    body, out, i = pattern[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body):
                return None
            e = body[i + 1]
            if e in _OUTSIDE_ESCAPES:
                out.append(_OUTSIDE_ESCAPES[e])
            elif e in _PUNCTUATION and e not in '"\\':
                out.append(f"[\\x{ord(e):02X}]")
            else:
                return None
            i += 2
        elif c == "[":
            end, cls = _char_class(body, i)
            if cls is None:
                return None
            out.append(cls)
            i = end
        elif c == "(" and body[i + 1 : i + 2] == "?":
            return None
        elif c == ".":
            out.append(f"[^{_NOT_IN_JSON}]")
            i += 1
        elif c in '"^$' or ord(c) < 0x20:
            return None
        else:
            out.append(c)
            i += 1
    return "^" + "".join(out) + "$"


def _char_class(body: str, start: int) -> tuple[int, str | None]:
    """The class opening at ``body[start]`` (``[...]``) rewritten, and the index after it."""
    i, negated = start + 1, body[start + 1 : start + 2] == "^"
    i += negated
    parts: list[str] = []
    while i < len(body) and (body[i] != "]" or i == start + 1 + negated):
        c = body[i]
        if c == "\\":
            e = body[i + 1 : i + 2]
            if e in _CLASS_ESCAPES:
                parts.append(_CLASS_ESCAPES[e] + ("\\t\\n\\r" if e == "s" and negated else ""))
            elif e and e in _PUNCTUATION and e not in '"\\':
                parts.append(f"\\x{ord(e):02X}")
            else:
                return i, None
            i += 2
        elif c == "]":  # literal when first; the grammar parser would read it as the end
            parts.append("\\x5D")
            i += 1
        elif c == "[" or c in '"\\' or ord(c) < 0x20:
            if not negated:
                return i, None
            i += 1  # already excluded below
        else:
            parts.append(c)
            i += 1
    if i >= len(body) or not parts:
        return i, None
    if negated:
        return i + 1, "[^" + "".join(parts) + _NOT_IN_JSON + "]"
    return i + 1, "[" + "".join(parts) + "]"


def schema_errors(args: Any, schema: Mapping[str, Any]) -> list[str]:
    """Where ``args`` break ``schema`` (the tool's real args schema), as short messages."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(args)]
