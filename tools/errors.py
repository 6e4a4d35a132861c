"""Errors of the tools layer.

    ToolError                  an error the model may see, as a tool message
    ├── ArgumentsInvalid       the model's arguments break the args schema (names each field)
    ├── NotFound               the entity does not exist in the caller's tenant
    ├── BusinessRuleViolation  a business rule forbids the action (semantic; not retried blindly)
    ├── ToolUnavailable        a transient backend failure (timeout, lock, dead MCP server); may be retried
    ├── OutcomeUnknown         a remote call was sent before and its outcome never recorded: not sent again
    ├── ToolRefused            the call was not run: it needs a runtime (approval, ledger) or waits for a reviewer
    └── CallNotCompleted       a call through a runtime did not execute (``tools.outcome``: its ``ToolOutcome``)
    ToolDefinitionError        misuse by a developer declaring or registering a tool

Backend errors (SQLAlchemy, HTTP) are translated into these at the tool boundary, once
(``database_unavailable`` words a database's refusal the same way wherever it is caught).
"""

from __future__ import annotations

from dataclasses import dataclass


class ToolError(Exception):
    """An error a tool returns to the model instead of crashing the run."""

    kind = "tool_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one argument: ``field`` is a dotted path ('' for the whole object)."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field or '(arguments)'}: {self.problem}"


class ArgumentsInvalid(ToolError):
    """The arguments do not satisfy the tool's args schema."""

    kind = "invalid_arguments"

    def __init__(self, tool: str, problems: list[FieldProblem]) -> None:
        self.tool = tool
        self.problems = problems
        detail = "; ".join(str(p) for p in problems)
        super().__init__(f"invalid arguments for {tool}: {detail}")


class NotFound(ToolError):
    """The requested entity does not exist for this tenant (another tenant's ids look the same)."""

    kind = "not_found"


class BusinessRuleViolation(ToolError):
    """A business rule forbids the action: ``BusinessRuleViolation("why, for the model")``, or
    with a stable machine-readable code for the rule first, ``BusinessRuleViolation(
    "already_retired", "why")``; ``rule`` is ``"business_rule"`` when no code is given."""

    kind = "business_rule"

    def __init__(self, rule: str, message: str | None = None) -> None:
        if message is None:
            rule, message = "business_rule", rule
        super().__init__(message)
        self.rule = rule


class ToolUnavailable(ToolError):
    """A transient failure of the tool's backend; the call may be retried."""

    kind = "unavailable"


class OutcomeUnknown(ToolError):
    """A remote call under this key was sent before and its outcome was never recorded (the
    process stopped, or the connection dropped mid-call): it is not sent again."""

    kind = "outcome_unknown"


class ToolRefused(ToolError):
    """The call was not run here: a side-effecting tool called without a runtime, or one that
    now waits for a reviewer (``approval_id`` names the request)."""

    kind = "refused"

    def __init__(self, message: str, approval_id: str | None = None) -> None:
        super().__init__(message)
        self.approval_id = approval_id


def database_unavailable(detail: str) -> ToolUnavailable:
    """The tool error for a database that refused a call; ``detail`` is the driver's message.

    A lock (SQLite's "database is locked" once the busy timeout passed) fails the statement that
    wanted it, before any commit, so the call's transaction rolled back: nothing was changed.
    """
    if "locked" in detail or "busy" in detail:
        return ToolUnavailable(
            "The database is locked by another process (a long write or a backup), so nothing was changed; "
            "try again in a moment."
        )
    return ToolUnavailable(f"The database is unavailable ({detail}); try again in a moment.")


class ToolDefinitionError(Exception):
    """A tool was declared or registered incorrectly (a developer error, raised at start-up)."""
