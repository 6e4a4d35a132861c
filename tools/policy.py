"""Declarative approval policy: per tool, optionally per argument condition and caller role.

A policy is a list of rules; the first rule that matches a call decides its verdict. With no
matching rule the tool's risk decides: ``high_risk`` needs approval, the rest is allowed.

Then provenance (``tools.provenance``): a side-effecting call that would be allowed needs a
reviewer when untrusted content may steer it — under the default mode ``values``, when an
argument's value is copied from untrusted content (a note, a document, a ticket body, an MCP
result) and found nowhere trusted, or when the model chose an argument after untrusted content
entered the run; under ``context`` (the strictest), as soon as untrusted content entered the run;
``off`` leaves the verdict to the rules. A user asking for a change in their own words keeps
working without a reviewer; a planted text cannot. Per tenant and per tool. Policies load from
YAML, e.g.::

    rules:
      - tool: issue_refund          # small refunds by senior agents run without a reviewer
        roles: [senior_agent]
        when: [{arg: amount, op: le, value: 25}]
        verdict: allow
      - tool: delete_customer
        verdict: deny
        reason: customers are deleted by the privacy team only
    provenance:
      mode: values                  # values (default) | context | off
      tools: {create_ticket: context}
      tenants:
        globex: {mode: context}
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from tools.contract import Risk, ToolSpec
from tools.errors import ToolDefinitionError
from tools.files import read_yaml_model
from tools.provenance import CallProvenance


class Verdict(StrEnum):
    """What the approval policy says of one call: run it, ask a reviewer first, or refuse it."""

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
        """Whether the call's argument satisfies the condition (a missing argument never does)."""
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
    """One policy rule: a tool (or ``*``), optional argument conditions and caller roles, and its verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tool: str
    verdict: Verdict
    when: tuple[Condition, ...] = ()
    roles: tuple[str, ...] | None = None
    reason: str = ""

    def matches(self, tool: str, args: BaseModel, role: str) -> bool:
        """Whether the rule applies to this call of ``tool`` by a caller with ``role``."""
        return (
            self.tool in (tool, "*")
            and (self.roles is None or role in self.roles)
            and all(c.holds(args) for c in self.when)
        )


class PolicyDecision(BaseModel):
    """The policy's verdict on one call and why (with where its arguments came from, when that was weighed)."""

    model_config = ConfigDict(frozen=True)
    verdict: Verdict
    reason: str
    provenance: dict[str, Any] | None = None
    """Where each argument came from, when provenance was weighed (what the reviewer sees)."""


class ProvenanceMode(StrEnum):
    """How much untrusted content may steer a write before it needs a reviewer."""

    VALUES = "values"
    """A write needs a reviewer when an argument is copied from untrusted content, or chosen by
    the model after untrusted content entered the run (the default)."""
    CONTEXT = "context"
    """Every write needs a reviewer once untrusted content entered the run."""
    OFF = "off"
    """The rules and the tool's risk alone decide."""


class ProvenanceRules(BaseModel):
    """The mode of one tenant (or of all): a default and per-tool exceptions."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: ProvenanceMode = ProvenanceMode.VALUES
    tools: dict[str, ProvenanceMode] = {}

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML reads a bare `off` as false

    @field_validator("tools", mode="before")
    @classmethod
    def _yaml_offs(cls, value: Any) -> Any:
        return {k: "off" if v is False else v for k, v in value.items()} if isinstance(value, dict) else value

    def mode_for(self, tool: str) -> ProvenanceMode:
        """The provenance mode of ``tool``: its own, else the default."""
        return self.tools.get(tool, self.mode)


class ProvenancePolicy(ProvenanceRules):
    """The default rules and, per tenant, rules that replace them."""

    tenants: dict[str, ProvenanceRules] = {}

    def mode_for_tenant(self, tenant: str, tool: str) -> ProvenanceMode:
        """The provenance mode of ``tool`` in ``tenant``: the tenant's own rules first, then the defaults."""
        own = self.tenants.get(tenant)
        if own is not None and tool in own.tools:
            return own.tools[tool]
        if own is not None and "mode" in own.model_fields_set:
            return own.mode
        return self.mode_for(tool)


class ApprovalPolicy(BaseModel):
    """Ordered rules; the first match wins; otherwise the tool's risk decides. Then a write that
    untrusted content may steer needs a reviewer (``provenance``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rules: tuple[PolicyRule, ...] = ()
    provenance: ProvenancePolicy = ProvenancePolicy()

    def decide(
        self,
        spec: ToolSpec,
        args: BaseModel,
        role: str,
        *,
        provenance: CallProvenance | None = None,
        tenant: str = "",
    ) -> PolicyDecision:
        """The verdict on one call; ``provenance`` (from the runtime) says where its arguments
        came from (``None``: unknown, the rules alone decide)."""
        decision = self._by_rules(spec, args, role)
        if provenance is None or not spec.risk.has_side_effects:
            return decision
        data = provenance.to_data()
        if decision.verdict is not Verdict.ALLOW:
            return decision.model_copy(update={"provenance": data})
        mode = self.provenance.mode_for_tenant(tenant, spec.name)
        why = _steered(mode, provenance)
        if why is None:
            return decision.model_copy(update={"provenance": data})
        reason = f"a reviewer checks this {spec.risk.value}: {why}"
        return PolicyDecision(verdict=Verdict.NEEDS_APPROVAL, reason=reason, provenance=data)

    def _by_rules(self, spec: ToolSpec, args: BaseModel, role: str) -> PolicyDecision:
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


def _steered(mode: ProvenanceMode, provenance: CallProvenance) -> str | None:
    """Why untrusted content may steer the call under ``mode`` (``None``: it may not)."""
    if mode is ProvenanceMode.OFF:
        return None
    if mode is ProvenanceMode.CONTEXT and provenance.untrusted_read:
        read = ", ".join(provenance.untrusted_read[:3])
        return f"untrusted content entered the run ({read})"
    return provenance.influence()
