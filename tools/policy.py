"""Declarative approval policy: per tool, optionally per argument condition and caller role.

A policy is a list of rules; the first rule that matches a call decides its verdict. With no
matching rule the tool's risk decides: ``high_risk`` needs approval, the rest is allowed.
Policies load from YAML, e.g.::

    rules:
      - tool: issue_refund          # small refunds by senior agents run without a reviewer
        roles: [senior_agent]
        when: [{arg: amount, op: le, value: 25}]
        verdict: allow
      - tool: delete_customer
        verdict: deny
        reason: customers are deleted by the privacy team only
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tools.contract import Risk, ToolSpec
from tools.errors import ToolDefinitionError
from tools.files import read_yaml_model


class Verdict(StrEnum):
    ALLOW = "allow"
    NEEDS_APPROVAL = "needs_approval"
    DENY = "deny"


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}


class Condition(BaseModel):
    """``args.<arg> <op> value``; numbers compare as Decimals so 25 == 25.00."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    arg: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"]
    value: Any

    def holds(self, args: BaseModel) -> bool:
        actual = getattr(args, self.arg, None)
        if actual is None:
            return False
        expected = self.value
        if isinstance(actual, (int, float, Decimal)) and isinstance(expected, (int, float, str)):
            actual, expected = Decimal(str(actual)), Decimal(str(expected))
        try:
            return _OPS[self.op](actual, expected)
        except TypeError:
            return False


class PolicyRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    tool: str
    verdict: Verdict
    when: tuple[Condition, ...] = ()
    roles: tuple[str, ...] | None = None
    reason: str = ""

    def matches(self, tool: str, args: BaseModel, role: str) -> bool:
        return (
            self.tool in (tool, "*")
            and (self.roles is None or role in self.roles)
            and all(c.holds(args) for c in self.when)
        )


class PolicyDecision(BaseModel):
    model_config = ConfigDict(frozen=True)
    verdict: Verdict
    reason: str


class ApprovalPolicy(BaseModel):
    """Ordered rules; the first match wins; otherwise the tool's risk decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rules: tuple[PolicyRule, ...] = ()

    def decide(self, spec: ToolSpec, args: BaseModel, role: str) -> PolicyDecision:
        for rule in self.rules:
            if rule.matches(spec.name, args, role):
                return PolicyDecision(verdict=rule.verdict, reason=rule.reason or f"policy rule for {rule.tool}")
        if spec.risk is Risk.HIGH_RISK:
            return PolicyDecision(verdict=Verdict.NEEDS_APPROVAL, reason="high-risk tools need a reviewer")
        return PolicyDecision(verdict=Verdict.ALLOW, reason=f"{spec.risk.value} tool")

    @classmethod
    def from_file(cls, path: Path) -> ApprovalPolicy:
        """Load a YAML policy; errors name the file and the rule."""
        return read_yaml_model(cls, path, "approval policy", ToolDefinitionError)
