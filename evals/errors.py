"""Errors of the evals layer.

    EvalError                    base of everything the harness raises on purpose
    ├── ScenarioError            a scenario file cannot be used (every message names the file)
    │   ├── ScenarioSyntaxError  not valid YAML (names the line and column)
    │   └── ScenarioInvalid      valid YAML that breaks the scenario schema (names line and field)
    ├── ScenarioSetupError       a scenario's run cannot start (no cassette for replay, bad model spec)
    ├── HarnessModelError        the --judge or --simulator model cannot be built (bad spec, no key)
    ├── JudgeError               the judge gave no usable verdict (call failed, malformed reply)
    ├── SimulatorError           the simulated user's model call failed
    └── ReportError              a report cannot be read (compare) or written

A failing scenario is not an error: it is a verdict with explanations in the run record. An
exception inside one trial (a model adapter crash, an exhausted cassette, a ``SimulatorError``)
is caught by the runner and recorded as that trial's failure, so the other trials and scenarios
still run. A ``JudgeError`` becomes a rubric check reported as an error: never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class EvalError(Exception):
    """Base error; ``str()`` is a message for a person, saying what is wrong and where."""


@dataclass(frozen=True)
class Problem:
    """One problem in a scenario file: where (line, column, field path) and what."""

    message: str
    line: int | None = None
    column: int | None = None
    field: str = ""

    def render(self, path: Path | str) -> str:
        """``path:line:column: field: message``, as editors and CI annotations read it: one line,
        whatever characters the file's keys or values hold (they are shown escaped)."""
        where = f"{path}:{self.line}:{self.column}" if self.line is not None else str(path)
        subject = f"{one_line(self.field)}: " if self.field else ""
        return f"{where}: {subject}{one_line(self.message)}"


def one_line(text: str) -> str:
    r"""``text`` with every character that is not printable (line breaks, and the separators
    ``str.splitlines`` also breaks on, such as ``\x1e``) written as its escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass(eq=False)
class ScenarioError(EvalError):
    """A scenario file cannot be used; ``problems`` lists every problem found, in file order."""

    path: Path
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.render(self.path) for p in self.problems) or f"{self.path}: unusable scenario"


class ScenarioSyntaxError(ScenarioError):
    """The file is not valid YAML."""


class ScenarioInvalid(ScenarioError):
    """The YAML does not follow the scenario schema."""


class ScenarioSetupError(EvalError):
    """A scenario's run cannot start (missing cassette, unknown model spec)."""


class HarnessModelError(EvalError):
    """A model the harness itself uses (the judge, the simulated user) cannot be built."""


class JudgeError(EvalError):
    """The judge gave no usable verdict: its call failed or its reply is not a valid verdict."""


class SimulatorError(EvalError):
    """The model playing the user failed; the trial ends with this error."""


class ReportError(EvalError):
    """A report cannot be read or written."""
