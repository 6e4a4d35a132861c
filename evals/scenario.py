"""The scenario format: one realistic support case, its scripted reviewer and its expectations.

A scenario is a YAML file (see docs/EVALS.md); these pydantic models are its single source of
truth: ``evals/scenario.schema.json`` is generated from them (``tiller eval schema``) and the
loader validates every file against that schema, then builds these models.

Money is written in dollars (``129.99``); the loader reads YAML decimals as ``Decimal`` so
``42.00`` stays ``42.00`` in explanations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, WithJsonSchema, field_validator, model_validator

from tools.policy import ApprovalPolicy

SCHEMA_VERSION = 1

Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
MatchMode = Literal["strict", "unordered", "subset", "superset"]
ArgsMatch = Literal["exact", "ignore", "subset"]
CallOutcome = Literal["executed", "replayed", "error", "invalid", "denied", "rejected", "limit", "pending_approval"]
RunOutcome = Literal["completed", "awaiting_approval", "limit_reached", "blocked", "failed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    """A field written as one value or a list of values, as a list (empty when unset)."""
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


# -- argument and field matchers -----------------------------------------------------------


class RegexMatcher(_Strict):
    """The value, as text, matches this regular expression (``re.search``)."""

    regex: str
    example: str | None = Field(None, description="a value that matches, used by selfcheck to replay the call")

    @field_validator("regex")
    @classmethod
    def _pattern_compiles(cls, pattern: str) -> str:
        return _compiles(pattern)


class ApproxMatcher(_Strict):
    """A number within ``tolerance`` of ``approx`` (default ±0.005: equal to the cent)."""

    approx: Number
    tolerance: Number = Field(Decimal("0.005"), ge=0)


class AnyOfMatcher(_Strict):
    """Equal to one of these values."""

    any_of: list[Any] = Field(min_length=1)


class AnyMatcher(_Strict):
    """Present, with any value."""

    any: Literal[True]


class EqualsMatcher(_Strict):
    """Equal to this literal value (the way to write an expected object or a value that looks like a matcher)."""

    equals: Any


Matcher = RegexMatcher | ApproxMatcher | AnyOfMatcher | AnyMatcher | EqualsMatcher
Expected = Annotated[
    Matcher | bool | int | Number | str | list[Any] | None,
    Field(
        description="a literal (numbers compare by value) or a matcher: regex, approx/tolerance, any_of, any, equals"
    ),
]


# -- the conversation ----------------------------------------------------------------------


class LimitsOverride(_Strict):
    """Run limits for this scenario; unset ones keep the runtime's defaults."""

    max_steps: int | None = Field(None, ge=1)
    max_tool_calls: int | None = Field(None, ge=0)
    max_calls_per_tool: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=1)
    deadline_s: float | None = Field(None, gt=0)
    max_invalid_args: int | None = Field(None, ge=0)


Criterion = Annotated[str, Field(min_length=1)]


class AnswerExpectation(_Strict):
    """Checks on an answer text. Text checks ignore case unless ``case_sensitive``."""

    contains: list[str] = Field(default_factory=list, description="every one must appear")
    contains_any: list[str] = Field(default_factory=list, description="at least one must appear")
    not_contains: list[str] = Field(default_factory=list, description="none may appear")
    regex: list[str] = Field(default_factory=list, description="every pattern must match (re.search)")
    not_regex: list[str] = Field(default_factory=list, description="no pattern may match")
    case_sensitive: bool = False
    numbers: Literal["as_written", "by_value"] = Field(
        "as_written",
        description="by_value: numbers compare by value, in the text and in the checks alike "
        "('$1,093.34' contains '1093.34', '481.50' equals '481.5'); a number alone must be one of the text's numbers",
    )
    messages: Literal["final", "all"] = Field(
        "final",
        description="all: the checks read every answer of the conversation (each turn's, each run's before an "
        "approval), as one text; final: the answer checked only",
    )
    rubric: Criterion | Annotated[list[Criterion], Field(min_length=1)] | None = Field(
        None,
        description="criteria an LLM judge grades the answer on (one text, or a list graded one by one); "
        "judged only with a judge model (--judge), else reported skipped, never passed",
    )

    @field_validator("regex", "not_regex")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        return [_compiles(p) for p in patterns]

    @property
    def criteria(self) -> list[str]:
        """The rubric as a list of criteria (empty without a rubric)."""
        return _as_list(self.rubric)

    @property
    def has_text_checks(self) -> bool:
        """Whether any check reads the answer's text (contains, not_contains, regex…)."""
        return bool(self.contains or self.contains_any or self.not_contains or self.regex or self.not_regex)


class Turn(_Strict):
    """A user message, optionally with checks on the answer to this very turn."""

    message: str = Field(min_length=1)
    answer: AnswerExpectation | None = None


class UserSimulator(_Strict):
    """A model plays the user (only with a simulator model, ``--simulator``): given the persona,
    the goal and the conversation so far it writes the next message, or ``###DONE###`` when the
    goal is met or hopeless. It runs after the fixed ``turns``, if any."""

    persona: str = Field(min_length=1, description="who the user is and how they talk")
    goal: str = Field(min_length=1, description="what the user wants; they say ###DONE### once it is met or hopeless")
    max_turns: int = Field(4, ge=1, le=20, description="at most this many simulated user messages")
    first_message: str | None = Field(
        None, min_length=1, description="the simulated user's opening message, sent as written (no model call)"
    )


class ReviewerDecision(_Strict):
    """What the scripted reviewer does with one approval request."""

    decision: Literal["approve", "edit", "reject", "pending"]
    args: dict[str, Any] = Field(default_factory=dict, description="edited arguments (edit only)")
    reason: str | None = Field(None, description="the reviewer's internal note (the audit log; never the customer's)")
    customer_message: str | None = Field(None, description="what the reviewer wants the customer told")

    @model_validator(mode="after")
    def _args_only_for_edit(self) -> ReviewerDecision:
        if self.decision == "edit" and not self.args:
            raise ValueError("an edit decision needs args: the arguments the reviewer changes")
        if self.decision != "edit" and self.args:
            raise ValueError(f"args are only allowed on edit decisions, not on {self.decision}")
        return self


# -- expectations --------------------------------------------------------------------------


class ExpectedCall(_Strict):
    """One tool call the agent is expected to make."""

    tool: str
    args: dict[str, Expected] = Field(default_factory=dict)
    args_match: ArgsMatch | None = Field(None, description="overrides the tool's and the trajectory's args_match")
    status: CallOutcome | list[CallOutcome] | None = Field(None, description="what must have happened to the call")
    error_kind: str | list[str] | None = Field(
        None,
        description="the kind of error it ended in (not_found, business_rule…; implies status error); "
        "a crash of the tool (tool_crashed) matches only an expected call that names it",
    )

    @property
    def statuses(self) -> list[str]:
        """The statuses the call may end in (empty: any); an error kind alone means ``error``."""
        return _as_list(self.status) or (["error"] if self.error_kind else [])

    @property
    def error_kinds(self) -> list[str]:
        """The kinds an error of the call may have (empty: any but ``tool_crashed``, a crash)."""
        return _as_list(self.error_kind)

    @model_validator(mode="after")
    def _error_kind_is_an_error(self) -> ExpectedCall:
        if self.error_kind and "error" not in self.statuses:
            raise ValueError(f"error_kind names the kind of an error: status {self.status} must be or include error")
        return self


class ToolOverride(_Strict):
    """How calls of one tool are compared (applies to every expected call of the tool)."""

    args_match: ArgsMatch | None = None
    args: dict[str, Expected] = Field(default_factory=dict, description="per-argument matchers for this tool")
    ignore_args: list[str] = Field(default_factory=list)


class TrajectoryExpectation(_Strict):
    """Expected tool calls and how to compare them (defaults as agentevals: strict, exact)."""

    match: MatchMode = "strict"
    args_match: ArgsMatch = "exact"
    calls: list[ExpectedCall] = Field(default_factory=list)
    tools: dict[str, ToolOverride] = Field(default_factory=dict)
    forbidden: list[str] = Field(default_factory=list, description="tools that must never be called")
    max_calls: dict[str, int] = Field(default_factory=dict, description="at most this many calls per tool")


class ExpectedApproval(_Strict):
    """An approval request: the tool, and arguments it must include."""

    tool: str
    args: dict[str, Expected] = Field(default_factory=dict)


class ApprovalExpectation(_Strict):
    """Which calls must ask a reviewer. Rejected calls never running, edited calls running with the
    edits, and high-risk calls never running unapproved are checked on every scenario."""

    requested: list[ExpectedApproval] = Field(default_factory=list)
    not_requested: list[str] = Field(default_factory=list, description="tools that must not ask for approval")
    count: int | None = Field(None, ge=0, description="exact number of approval requests")


class CountRange(_Strict):
    """Bounds on a count: at least ``min``, at most ``max`` (either may be left out)."""

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


class StateAssertion(_Strict):
    """Rows of a business table after the run. Columns are read the friendly way: a foreign key
    ``<entity>_id`` means the entity's public id, ``amount`` means ``amount_cents`` in dollars."""

    table: str
    where: dict[str, Expected] = Field(default_factory=dict)
    count: int | CountRange | None = Field(None, description="number of rows matching where")
    fields: dict[str, Expected] = Field(default_factory=dict, description="values every matching row must have")
    unchanged: bool = Field(False, description="matching rows are exactly as seeded")
    ignore: list[str] = Field(default_factory=list, description="columns unchanged does not compare")
    tenant: str | None = Field(None, description="tenant whose rows to read (default: the scenario's; '*': all)")

    @model_validator(mode="after")
    def _asserts_something(self) -> StateAssertion:
        if self.count is None and not self.fields and not self.unchanged:
            raise ValueError("a state assertion needs count, fields or unchanged")
        return self


class Budget(_Strict):
    """Upper bounds for the whole scenario (all turns)."""

    max_steps: int | None = Field(None, ge=0)
    max_tool_calls: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)
    max_cost_usd: float | None = Field(None, ge=0, description="as priced by the runtime's price table")
    max_latency_s: float | None = Field(None, gt=0)


class Expectations(_Strict):
    """What must hold after the run: status, trajectory, approvals, database state, answer, budget."""

    status: RunOutcome | None = Field(None, description="status of the last run")
    stop_reason: str | None = None
    trajectory: TrajectoryExpectation | None = None
    approvals: ApprovalExpectation | None = None
    state: list[StateAssertion] = Field(default_factory=list)
    answer: AnswerExpectation | None = Field(None, description="checks on the final answer")
    budget: Budget | None = None


class Scenario(_Strict):
    """A scenario file."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Tiller scenario",
        json_schema_extra={"anyOf": [{"required": ["turns"]}, {"required": ["user_simulator"]}]},
    )

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    domain: str = Field(
        "", description="the domain the scenario runs in (default: the run's, --domain / TILLER_DOMAIN)"
    )
    tenant: str = Field("", description="the tenant it acts in (default: the domain's)")
    user: str = Field("", description="the acting user (default: the domain's; the reviewer is eval.reviewer)")
    role: str = Field("", description="the acting user's role (default: the domain's)")
    offline: bool = Field(True, description="false: the embedded offline model cannot serve this scenario")
    fixtures: dict[str, Any] = Field(
        default_factory=dict, description="values for the domain's seed (its fixtures model validates them)"
    )
    limits: LimitsOverride | None = None
    policy: ApprovalPolicy | None = None
    cassette: str | None = Field(None, description="recorded model turns; default cassettes/<id>.yaml")
    turns: list[str | Turn] = Field(
        default_factory=list, description="the user's messages, in order (before any simulated user)"
    )
    user_simulator: UserSimulator | None = Field(
        None, description="a model plays the user after the fixed turns (skipped without --simulator)"
    )
    reviewer: list[Literal["approve", "reject", "pending"] | ReviewerDecision] = Field(
        default_factory=list, description="decisions applied in order to each approval request"
    )
    expect: Expectations = Field(default_factory=Expectations)

    _source: Path | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _has_a_user(self) -> Scenario:
        if not self.turns and self.user_simulator is None:
            raise ValueError("a scenario needs turns, a user_simulator, or both")
        return self

    @property
    def source(self) -> Path | None:
        """The file the scenario was loaded from."""
        return self._source

    def with_source(self, path: Path) -> Scenario:
        """The scenario, remembering the file it came from (cassettes are found next to it)."""
        self._source = path
        return self

    @property
    def cassette_path(self) -> Path:
        """The replay cassette: ``cassette``, else ``cassettes/<id>.yaml``, beside the scenario file."""
        base = self._source.parent if self._source else Path.cwd()
        return base / (self.cassette or f"cassettes/{self.id}.yaml")

    @property
    def conversation(self) -> list[Turn]:
        """The user's turns, each as a ``Turn``."""
        return [Turn(message=t) if isinstance(t, str) else t for t in self.turns]

    @property
    def decisions(self) -> list[ReviewerDecision]:
        """The scripted reviewer's decisions, each as a ``ReviewerDecision``."""
        return [ReviewerDecision(decision=d) if isinstance(d, str) else d for d in self.reviewer]
