"""τ² tools as Tiller ``ToolSpec``s: τ²'s own functions, run on the tenant's copy of its database.

**Risk.** τ² tags each tool ``READ``, ``WRITE``, ``THINK`` or ``GENERIC``. READ, THINK and
GENERIC (``calculate``, a hand-off) change nothing in the database: ``read``. A WRITE is
``high_risk`` — a reviewer approves it — when one of its arguments names a means of payment or
an amount (``MONEY_ARGUMENT``: it moves money), or unless ``risks.yaml`` (data, per τ² domain)
declares it a plain ``write``: a write nobody has looked at waits for a reviewer.

**A call** loads the tenant's τ² database from Tiller's tables (``tools.tau2.store``), runs
τ²'s tool function on a copy of τ²'s toolkit bound to it, and — for a WRITE — writes the changed
records back inside the call's transaction, the one that records its idempotency key. A τ²
tool refuses with a plain exception (``ValueError("Non-pending order cannot be cancelled")``):
that becomes a ``BusinessRuleViolation`` with τ²'s message, which the model reads; nothing is
written.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from tools.contract import Risk, ToolContext, ToolSpec
from tools.errors import BusinessRuleViolation, ToolDefinitionError
from tools.tau2.store import Tau2Store

MONEY_ARGUMENT = re.compile(r"payment|amount|refund|price|balance|certificate", re.IGNORECASE)
RISKS_FILE = Path(__file__).with_name("risks.yaml")
SUMMARY_CHARS = 300
TIMEOUT_S = 60.0
"""A call loads the tenant's whole τ² database (1,550 records for retail: ~0.1 s idle, seconds on
a busy machine); a write that outlives its timeout still commits after the model was told it
failed, so the timeout is generous."""


class Tau2Result(BaseModel):
    """What a τ² tool returned: its response as τ² gives it to an agent, parsed when it is JSON."""

    output: Any = Field(description="the τ² tool's response (a record, a list, or text)")
    summary: str = Field(description="the start of the response, as text")


@functools.cache
def risk_overrides() -> dict[str, dict[str, str]]:
    """``{τ² domain: {tool: write | high_risk}}`` from ``risks.yaml``."""
    data = yaml.safe_load(RISKS_FILE.read_text(encoding="utf-8")) or {}
    for domain, tools in data.items():
        for name, risk in (tools or {}).items():
            if risk not in (Risk.WRITE.value, Risk.HIGH_RISK.value):
                raise ToolDefinitionError(f"{RISKS_FILE}: {domain}.{name}: risk must be write or high_risk")
    return {domain: dict(tools or {}) for domain, tools in data.items()}


def risk_of(tool_type: str, arguments: list[str], declared: str | None) -> Risk:
    """The Tiller risk of a τ² tool (see the module's docstring)."""
    if tool_type != "write":
        return Risk.READ
    if any(MONEY_ARGUMENT.search(name) for name in arguments):
        return Risk.HIGH_RISK
    return Risk(declared) if declared else Risk.HIGH_RISK


def response_text(response: Any) -> str:
    """τ²'s own rendering of a tool's response (``Environment.to_json_str``)."""
    from tau2.environment.environment import Environment  # noqa: PLC0415  # the tau2 extra: optional

    text: str = Environment.to_json_str(response)
    return text


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


def tool_specs(domain: str, toolkit: Any, store: Tau2Store) -> list[ToolSpec]:
    """Every tool of a τ² toolkit as a ``ToolSpec`` (in τ²'s order)."""
    declared = risk_overrides().get(domain, {})
    specs = []
    for name, tau2_tool in toolkit.get_tools().items():
        tool_type = toolkit.tool_type(name).value
        arguments = list(tau2_tool.params.model_fields)
        risk = risk_of(tool_type, arguments, declared.get(name))
        function = tau2_tool.openai_schema["function"]
        specs.append(
            ToolSpec(
                name=name,
                description=function["description"] or name,
                args_model=tau2_tool.params,
                result_model=Tau2Result,
                func=_runner(name, toolkit, store, writes=tool_type == "write"),
                risk=risk,
                idempotent=risk is Risk.READ,
                timeout_s=TIMEOUT_S,
                tags=("tau2", f"tau2:{domain}", f"backend:tau2-{domain}"),
                # τ²'s records are the business's own database (users, orders, flights…): trusted
                # fields for the provenance policy; τ² stores no third-party free text.
                untrusted_fields=(),
            )
        )
    unknown = set(declared) - {s.name for s in specs}
    if unknown:
        raise ToolDefinitionError(f"{RISKS_FILE}: {domain} has no tools {', '.join(sorted(unknown))}")
    return specs


def _runner(name: str, toolkit: Any, store: Tau2Store, *, writes: bool) -> Any:
    def run(ctx: ToolContext, args: BaseModel) -> Tau2Result:
        loaded = store.load(ctx.db, ctx.tenant_id)
        bound = copy.copy(toolkit)  # τ²'s toolkit, on this tenant's copy of the database
        bound.db = loaded.db
        try:
            response = getattr(bound, name)(**args.model_dump())
        except Exception as exc:  # τ²'s tools refuse with plain exceptions: the model reads the message
            raise BusinessRuleViolation(f"tau2_{type(exc).__name__}", str(exc) or type(exc).__name__) from None
        if writes:
            store.save(ctx.db, ctx.tenant_id, loaded)
        text = response_text(response)
        return Tau2Result(output=_parsed(text), summary=text[:SUMMARY_CHARS])

    run.__name__ = name
    return run
