"""Answer checks: what the agent's answer must and must not say.

``contains`` (all), ``contains_any`` (one), ``not_contains`` (none), ``regex`` (all match) and
``not_regex`` (none match); text comparisons ignore case unless ``case_sensitive``. With
``numbers: by_value`` every number — in the answer and in the needles — is read by value first
(``$1,093.34`` → ``1093.34``, ``481.50`` → ``481.5``), and a needle that is a number alone must
be one of the answer's numbers (``10`` is not found in ``100``). A rubric is graded by the LLM
judge (``evals.judge``), as a check of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from evals.scenario import AnswerExpectation

_EXCERPT = 160
# A number as people write it: an optional sign, thousands separators, decimals; not part of a word.
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|\.\d)")


def canonical_number(text: str) -> str:
    """``1,093.340`` → ``1093.34``, ``60.00`` → ``60``: one spelling per value."""
    value = Decimal(text.replace(",", ""))
    plain = f"{value:f}"
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def numbers_by_value(text: str) -> str:
    """``text`` with every number in its canonical spelling."""
    return _NUMBER.sub(lambda m: canonical_number(m.group()), text)


@dataclass
class AnswerVerdict:
    """The problems the answer checks found (none: it passed)."""

    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the answer met every check."""
        return not self.problems


def check_answer(expectation: AnswerExpectation, answer: str, *, label: str = "answer") -> AnswerVerdict:
    """Check ``answer``; problems quote the part of the expectation that failed."""
    verdict = AnswerVerdict()
    flags = 0 if expectation.case_sensitive else re.IGNORECASE
    by_value = expectation.numbers == "by_value"
    spelled = numbers_by_value(answer) if by_value else answer
    text = spelled if expectation.case_sensitive else spelled.casefold()
    numbers = {m.group() for m in _NUMBER.finditer(spelled)} if by_value else set()

    def has(needle: str) -> bool:
        if by_value and _NUMBER.fullmatch(needle.strip()):
            return canonical_number(needle.strip()) in numbers
        needle = numbers_by_value(needle) if by_value else needle
        return (needle if expectation.case_sensitive else needle.casefold()) in text

    verdict.problems += [f"{label} does not contain {n!r}" for n in expectation.contains if not has(n)]
    if expectation.contains_any and not any(has(n) for n in expectation.contains_any):
        verdict.problems.append(f"{label} contains none of {', '.join(repr(n) for n in expectation.contains_any)}")
    verdict.problems += [f"{label} contains {n!r}, which it must not" for n in expectation.not_contains if has(n)]
    verdict.problems += [f"{label} does not match /{p}/" for p in expectation.regex if not re.search(p, answer, flags)]
    verdict.problems += [
        f"{label} matches /{p}/, which it must not" for p in expectation.not_regex if re.search(p, answer, flags)
    ]
    if verdict.problems:
        verdict.problems.append(f"{label} was: {excerpt(answer)}")
    return verdict


def excerpt(text: str) -> str:
    """The answer on one line, shortened for an explanation."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…")
