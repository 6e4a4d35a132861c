"""A scenario in its domain: the domain's defaults filled in (tenant, user, role, fixtures) and
what it names checked against the domain — its tools, tables and columns — so a misspelt tool
(``issue_refnd``) or table fails when the file is validated, not in the middle of a run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from agent.config import DEFAULT_DOMAIN
from evals.scenario import Scenario
from tools.domain import Domain, load_domain
from tools.errors import ToolDefinitionError
from tools.rows import business_tables, friendly_columns

KNOWLEDGE_TOOL = "search_knowledge_base"
Path_ = tuple[Any, ...]
"""Where in the scenario file a problem is: keys and list indexes."""


def default_domain() -> str:
    """The domain a scenario without one runs in: ``TILLER_DOMAIN``, else the demo default."""
    return os.environ.get("TILLER_DOMAIN") or DEFAULT_DOMAIN


def resolve(scenario: Scenario, domain_spec: str | None = None) -> tuple[Scenario, list[tuple[Path_, str]]]:
    """The scenario with its domain's defaults, and problems as ``(path in the file, message)``."""
    spec = scenario.domain or domain_spec or default_domain()
    try:
        domain = load_domain(spec)
    except ToolDefinitionError as exc:
        fallback = _run_domain_named(scenario.domain, domain_spec or default_domain())
        if fallback is None:
            return scenario, [(("domain",), str(exc))]
        spec, domain = fallback
    problems: list[tuple[Path_, str]] = []
    try:
        fixtures = domain.seed.parse(scenario.fixtures, domain.seed.scenario_size).model_dump(mode="json")
    except ValueError as exc:
        problems.append((("fixtures",), f"{domain.name}: {exc}"))
        fixtures = dict(scenario.fixtures)
    problems += list(_unknown_names(scenario, domain))
    resolved = scenario.model_copy(
        update={
            "domain": spec,
            "tenant": scenario.tenant or domain.tenant,
            "user": scenario.user or domain.user,
            "role": scenario.role or domain.role,
            "fixtures": fixtures,
        }
    )
    return resolved, problems


def _run_domain_named(name: str, run_spec: str) -> tuple[str, Domain] | None:
    """The run's domain when it is the one a scenario names (a domain given to the run as an
    import path, not installed under its name)."""
    try:
        domain = load_domain(run_spec)
    except ToolDefinitionError:
        return None
    return (run_spec, domain) if name and domain.name == name else None


def tool_names(domain: Domain) -> set[str]:
    """The tools an agent of ``domain`` has (its own and the knowledge-base search)."""
    names = {spec.name for spec in domain.tool_specs()}
    return names | ({KNOWLEDGE_TOOL} if domain.knowledge is not None else set())


def _unknown_names(scenario: Scenario, domain: Domain) -> Iterator[tuple[Path_, str]]:
    if scenario.policy is not None and any(r.tool != "*" for r in scenario.policy.rules):
        yield from _unknown_tools(
            domain, [(("policy", "rules", i, "tool"), r.tool) for i, r in enumerate(scenario.policy.rules)]
        )
    expect = scenario.expect
    if expect.trajectory is not None:
        t = expect.trajectory
        named: list[tuple[Path_, str]] = [
            (("expect", "trajectory", "calls", i, "tool"), c.tool) for i, c in enumerate(t.calls)
        ]
        named += [(("expect", "trajectory", "forbidden", i), n) for i, n in enumerate(t.forbidden)]
        named += [(("expect", "trajectory", "max_calls", n), n) for n in t.max_calls]
        named += [(("expect", "trajectory", "tools", n), n) for n in t.tools]
        yield from _unknown_tools(domain, named)
    if expect.approvals is not None:
        a = expect.approvals
        named = [(("expect", "approvals", "requested", i, "tool"), r.tool) for i, r in enumerate(a.requested)]
        named += [(("expect", "approvals", "not_requested", i), n) for i, n in enumerate(a.not_requested)]
        yield from _unknown_tools(domain, named)
    yield from _unknown_tables(scenario, domain)


def _unknown_tools(domain: Domain, named: list[tuple[Path_, str]]) -> Iterator[tuple[Path_, str]]:
    known = tool_names(domain)
    for path, name in named:
        if name != "*" and name not in known:
            yield path, f"{domain.name} has no tool {name!r} (tools: {', '.join(sorted(known))})"


def _unknown_tables(scenario: Scenario, domain: Domain) -> Iterator[tuple[Path_, str]]:
    tables = business_tables(domain.metadata)
    for i, assertion in enumerate(scenario.expect.state):
        where = ("expect", "state", i)
        table = tables.get(assertion.table)
        if table is None:
            yield (
                (*where, "table"),
                f"{domain.name} has no table {assertion.table!r} (tables: {', '.join(sorted(tables))})",
            )
            continue
        columns = friendly_columns(table)
        for part, names in (("where", assertion.where), ("fields", assertion.fields), ("ignore", assertion.ignore)):
            for name in names:
                if name not in columns:
                    yield (
                        (*where, part, name),
                        f"{assertion.table} has no column {name!r} (columns: {', '.join(columns)})",
                    )
