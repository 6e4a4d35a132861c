"""Tenant daily budgets: a request is refused once the tenant's model spend of the UTC day reached
its budget (``TILLER_TENANT_DAILY_BUDGETS``); nothing runs and nothing is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from agent.loop.context import Caller
from agent.loop.state import RunResult, RunStatus
from agent.persistence.traces import TraceStore


def over_budget(budgets: Mapping[str, float], traces: TraceStore, thread_id: str, tenant: str) -> RunResult | None:
    """A refusal when ``tenant``'s daily budget is spent; ``None`` when it may run."""
    budget = budgets.get(tenant)
    if budget is None:
        return None
    spent = traces.spent_today(tenant)
    if spent < budget:
        return None
    return RunResult(
        thread_id=thread_id,
        status=RunStatus.BLOCKED,
        answer=(
            f"Tenant {tenant} has used its daily model budget (${spent:.2f} of ${budget:.2f}); "
            "new requests are refused until 00:00 UTC. An admin can raise TILLER_TENANT_DAILY_BUDGETS."
        ),
        error={"kind": "budget_exhausted", "spent_usd": round(spent, 6), "budget_usd": budget},
    )


async def budget_refusal(budgets: Mapping[str, float], traces: TraceStore, caller: Caller) -> RunResult | None:
    """``over_budget`` for a run about to start; a tenant without a budget costs no query (and no thread hop)."""
    if caller.tenant not in budgets:
        return None
    return await asyncio.to_thread(over_budget, budgets, traces, caller.thread, caller.tenant)
