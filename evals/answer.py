"""Answer checks: what the agent's answer must and must not say.

``contains`` (all), ``contains_any`` (one), ``not_contains`` (none), ``regex`` (all match) and
``not_regex`` (none match); text comparisons ignore case unless ``case_sensitive``. A rubric
is graded by the LLM judge (``evals.judge``), as a check of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from evals.scenario import AnswerExpectation

_EXCERPT = 160


@dataclass
class AnswerVerdict:
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def check_answer(expectation: AnswerExpectation, answer: str, *, label: str = "answer") -> AnswerVerdict:
    """Check ``answer``; problems quote the part of the expectation that failed."""
    verdict = AnswerVerdict()
    flags = 0 if expectation.case_sensitive else re.IGNORECASE
    text = answer if expectation.case_sensitive else answer.casefold()

    def has(needle: str) -> bool:
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
