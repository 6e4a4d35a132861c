"""The domains one runtime serves: the tenant's domain decides the tools, policy, prompt, guard
defaults and answer vocabulary of a run; stores, executor, model chain and checkpoints are shared.

A runtime serves ``TILLER_DOMAIN`` and every domain ``TILLER_TENANT_DOMAINS`` binds a tenant to;
each domain's dependencies are built when a run first needs them (so a runtime starts with only
its own domain's tools and index).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from agent.checks import GuardPolicies, GuardPolicy
from agent.config import Settings, domain_of
from agent.errors import ConfigError, DatabaseUnavailable
from agent.loop.context import AgentDeps, system_prompt
from agent.models.chain import ModelChain
from agent.models.router import RouterChain
from agent.persistence.database import missing_tables, no_tables_message
from agent.runtime.toolset import domain_registry
from tools.domain import Domain
from tools.policy import ApprovalPolicy
from tools.registry import ToolRegistry

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True)
class Overrides:
    """What code gave ``Tiller`` in place of its domain's defaults (applies to its own domain)."""

    registry: ToolRegistry | None = None
    policy: ApprovalPolicy | None = None
    guard_policies: GuardPolicies | None = None


class DomainRuntimes:
    """Per domain, the ``AgentDeps`` runs of its tenants use; built on first use, thread-safe."""

    def __init__(
        self,
        settings: Settings,
        chain: ModelChain | RouterChain,
        shared: AgentDeps,
        overrides: Overrides,
        check_tables: Callable[[Domain], list[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.default = domain_of(settings)
        self._chain = chain
        self._shared = shared
        self._overrides = overrides
        self._check_tables = check_tables
        self._file_guards = GuardPolicies.from_file(settings.guard_policy_file) if settings.guard_policy_file else None
        self._deps: dict[str, AgentDeps] = {}
        self._lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []

    def domain_of(self, tenant: str) -> Domain:
        """The domain ``tenant`` is bound to (``TILLER_TENANT_DOMAINS``), else the settings' own."""
        return domain_of(self.settings, tenant)

    def deps(self, tenant: str) -> AgentDeps:
        """The dependencies of a run in ``tenant``."""
        domain = self.domain_of(tenant)
        with self._lock:
            if domain.name not in self._deps:
                self._deps[domain.name] = self._build(domain)
            return self._deps[domain.name]

    def registry(self, tenant: str) -> ToolRegistry:
        """The tools a run in ``tenant`` may call."""
        return self.deps(tenant).registry

    def guard_policy(self, tenant: str) -> GuardPolicy:
        """The tenant's guard policy: the file's entry for it, else its domain's defaults."""
        own = self._overrides.guard_policies
        if own is not None:
            return own.for_tenant(tenant)
        if self._file_guards is not None and tenant in self._file_guards.tenants:
            return self._file_guards.tenants[tenant]
        return _domain_guard(self.domain_of(tenant), self._file_guards)

    def _build(self, domain: Domain) -> AgentDeps:
        own = domain is self.default
        if (
            self._check_tables is not None
            and (missing := self._check_tables(domain))
            and not (own and self._overrides.registry is not None)
        ):
            raise DatabaseUnavailable(no_tables_message(self.settings.db_url, domain, missing))
        registry = (self._overrides.registry if own else None) or domain_registry(self.settings, domain, self._closers)
        policy = (self._overrides.policy if own else None) or _approval_policy(self.settings, domain)
        schemas = registry.model_schemas()
        return replace(
            self._shared,
            domain=domain.name,
            registry=registry,
            policy=policy,
            system_prompt=system_prompt(domain.prompt()),
            vocabulary=domain.vocabulary,
            model_with_tools=self._chain.bind(schemas),
            model_without_tools=self._chain.bind(None),
        )

    def close(self) -> None:
        """End what the domains' tools hold open (MCP sessions)."""
        while self._closers:
            self._closers.pop()()


def _approval_policy(settings: Settings, domain: Domain) -> ApprovalPolicy:
    """``TILLER_POLICY_FILE`` when set, else the domain's defaults."""
    return ApprovalPolicy.from_file(settings.policy_file) if settings.policy_file else domain.approval_policy


def _domain_guard(domain: Domain, file: GuardPolicies | None) -> GuardPolicy:
    """The domain's guard defaults over the file's default policy (or the built-in one)."""
    base = file.default if file is not None else GuardPolicy()
    if not domain.guard_policy:
        return base
    try:
        return GuardPolicy.model_validate({**base.model_dump(exclude_none=True), **dict(domain.guard_policy)})
    except ValueError as exc:
        raise ConfigError(f"domain {domain.name!r}: invalid guard policy defaults: {exc}") from None


def table_checker(engine: Engine) -> Callable[[Domain], list[str]]:
    """A check that a domain's tables exist in the runtime's database."""
    return lambda domain: missing_tables(engine, domain)
