"""Comparing one expected value (a literal or a matcher) with what the agent produced.

Shared by the trajectory matcher (tool arguments), the approval checks and the state checks
(database fields). Numbers compare by value whatever their spelling: ``42``, ``42.00`` and the
string ``"42.0"`` are equal, because models send money as strings and databases as integers.
A ``None`` actual value counts as absent (models often send optional arguments as null).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from evals.scenario import AnyMatcher, AnyOfMatcher, ApproxMatcher, EqualsMatcher, RegexMatcher

ArgsMode = Literal["exact", "ignore", "subset"]
_NUMERIC_TEXT = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")
_MISSING = object()


def as_number(value: Any) -> Decimal | None:
    """The value as a Decimal when it is a number or a plain numeric string, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str) and _NUMERIC_TEXT.match(value):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            return None
    return None


def equal(expected: Any, actual: Any) -> bool:
    """Literal equality, numbers by value, recursively through lists and mappings."""
    a, b = as_number(expected), as_number(actual)
    if a is not None and b is not None:
        return a == b
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        keys = {k for k, v in expected.items() if v is not None} | {k for k, v in actual.items() if v is not None}
        return all(equal(expected.get(k), actual.get(k)) for k in keys)
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(equal(e, x) for e, x in zip(expected, actual, strict=True))
    return bool(expected == actual)


def value_matches(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` satisfies ``expected`` (a literal or a matcher)."""
    if isinstance(expected, AnyMatcher):
        return actual is not None
    if isinstance(expected, RegexMatcher):
        return actual is not None and re.search(expected.regex, _text(actual)) is not None
    if isinstance(expected, ApproxMatcher):
        number = as_number(actual)
        return number is not None and abs(number - expected.approx) <= expected.tolerance
    if isinstance(expected, AnyOfMatcher):
        return any(equal(option, actual) for option in expected.any_of)
    if isinstance(expected, EqualsMatcher):
        return equal(expected.equals, actual)
    return equal(expected, actual)


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def describe_expected(expected: Any) -> str:
    """How an expected value reads in an explanation."""
    if isinstance(expected, AnyMatcher):
        return "any value"
    if isinstance(expected, RegexMatcher):
        return f"/{expected.regex}/"
    if isinstance(expected, ApproxMatcher):
        return f"{expected.approx} ± {expected.tolerance}"
    if isinstance(expected, AnyOfMatcher):
        return "one of " + ", ".join(describe_value(v) for v in expected.any_of)
    if isinstance(expected, EqualsMatcher):
        return describe_value(expected.equals)
    return describe_value(expected)


def describe_value(value: Any, like: Any = None) -> str:
    """How an actual value reads; numbers take the places of ``like`` (``40`` → ``40.00``)."""
    if value is None or value is _MISSING:
        return "nothing" if value is _MISSING else "null"
    number, model = as_number(value), _places_model(like)
    if number is not None and number.is_finite() and model is not None and _exponent(number) >= _exponent(model):
        return str(number.quantize(model))
    if isinstance(value, str):
        if not value.strip():
            return repr(value)
        return value if len(value) <= 80 else value[:77] + "..."
    return _text(value)


def _places_model(like: Any) -> Decimal | None:
    if isinstance(like, ApproxMatcher):
        like = like.approx
    if isinstance(like, Decimal) and like.is_finite():
        return Decimal(1).scaleb(_exponent(like))
    return None


def _exponent(number: Decimal) -> int:
    """A finite number's exponent (``as_tuple()`` gives 'n', 'N' or 'F' for NaN and infinity)."""
    return cast(int, number.as_tuple().exponent)


@dataclass(frozen=True)
class ArgDiff:
    """One argument that does not match: mismatched, missing from the call, or not expected."""

    arg: str
    kind: Literal["mismatch", "missing", "unexpected"]
    expected: str = ""
    actual: str = ""

    def render(self, prefix: str) -> str:
        """The explanation line, the argument named under ``prefix`` (``step 3 issue_credit``)."""
        if self.kind == "missing":
            return f"{prefix}.{self.arg}: expected {self.expected}, got nothing"
        if self.kind == "unexpected":
            return f"{prefix}.{self.arg}: not expected, got {self.actual}"
        return f"{prefix}.{self.arg}: expected {self.expected}, got {self.actual}"


def compare_args(
    expected: Mapping[str, Any], actual: Mapping[str, Any], mode: ArgsMode, ignore: frozenset[str] = frozenset()
) -> list[ArgDiff]:
    """Differences between expected and actual arguments under ``mode``.

    ``exact``: the same arguments (nulls count as absent), each matching; ``subset``: every
    expected argument present and matching, others ignored; ``ignore``: never a difference.
    """
    if mode == "ignore":
        return []
    diffs: list[ArgDiff] = []
    for name, want in expected.items():
        if name in ignore:
            continue
        got = actual.get(name, _MISSING)
        if got is _MISSING or (got is None and want is not None and not isinstance(want, EqualsMatcher)):
            if want is None:
                continue
            diffs.append(ArgDiff(name, "missing", describe_expected(want)))
        elif not value_matches(want, got):
            diffs.append(ArgDiff(name, "mismatch", describe_expected(want), describe_value(got, want)))
    if mode == "exact":
        for name, got in actual.items():
            if name not in expected and name not in ignore and got is not None:
                diffs.append(ArgDiff(name, "unexpected", actual=describe_value(got)))
    return diffs


def render_call(tool: str, args: Mapping[str, Any], *, expected: bool = False) -> str:
    """``cancel_booking(booking_id=B1000003)``, nulls left out, long values shortened."""
    shown = []
    for name, value in args.items():
        if value is None:
            continue
        text = describe_expected(value) if expected else describe_value(value)
        shown.append(f"{name}={text if len(text) <= 40 else text[:37] + '...'}")
    return f"{tool}({', '.join(shown)})"
