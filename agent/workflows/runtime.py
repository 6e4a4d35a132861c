"""The ``Tiller`` a workflow runs on: its model, its limits, and its approval mode as policy."""

from __future__ import annotations

from agent.config import Settings, domain_of
from agent.runtime import Tiller
from agent.runtime.toolset import domain_registry
from agent.workflows.spec import Workflow
from tools.contract import Risk
from tools.policy import ApprovalPolicy, PolicyRule, Verdict
from tools.registry import ToolRegistry

DENIED = "this workflow runs in deny mode: high-risk actions are refused automatically"


def deny_policy(registry: ToolRegistry, base: ApprovalPolicy) -> ApprovalPolicy:
    """``base`` with every high-risk tool denied first (deny mode never waits for a reviewer)."""
    rules = tuple(
        PolicyRule(tool=spec.name, verdict=Verdict.DENY, reason=DENIED)
        for spec in registry
        if spec.risk is Risk.HIGH_RISK
    )
    return ApprovalPolicy(rules=rules + base.rules)


def workflow_tiller(settings: Settings, workflow: Workflow) -> Tiller:
    """A runtime configured for the workflow (close it when the run ends)."""
    if workflow.model:
        settings = settings.model_copy(update={"model": workflow.model})
    limits = workflow.run_limits()
    if workflow.approval == "queue":
        return Tiller(settings, limits=limits)
    domain = domain_of(settings)
    registry = domain_registry(settings, domain)
    base = ApprovalPolicy.from_file(settings.policy_file) if settings.policy_file else domain.approval_policy
    return Tiller(settings, registry=registry, policy=deny_policy(registry, base), limits=limits)
