"""Cost reports from stored traces: per tenant, model or day; and monthly projections.

Costs come from the price table at the time of the run (``agent/models/pricing.py``); replayed and
local models cost nothing. "Per successful task" divides by runs that ended ``completed``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from agent.persistence.traces import runs_between, spans_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent.persistence.tables import TraceRunRow, TraceSpanRow

GroupBy = Literal["tenant", "model", "tier", "day"]
"""``tier``: the router tier of each model call (``direct`` for calls made without a router)."""


class CostRow(BaseModel):
    """Model cost and tokens of one group of runs (a tenant, a user, a model, a tier, a day)."""

    key: str
    runs: int = 0
    completed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def per_run(self) -> float:
        """The average cost of a run."""
        return self.cost_usd / self.runs if self.runs else 0.0

    @property
    def per_success(self) -> float | None:
        """The cost per completed run (``None`` when none completed)."""
        return self.cost_usd / self.completed if self.completed else None


def cost_report(
    sessions: sessionmaker[Session], *, by: GroupBy, since: datetime, tenant_id: str | None = None
) -> list[CostRow]:
    """Rows sorted by cost, highest first. ``by=model`` and ``by=tier`` group model calls, not runs:
    a row's ``runs`` are the runs that had at least one call in it."""
    runs = runs_between(sessions, since, tenant_id=tenant_id)
    rows: dict[str, CostRow] = defaultdict(lambda: CostRow(key=""))
    if by in ("model", "tier"):
        _by_call(spans_of(sessions, [r.id for r in runs], kind="model"), runs, rows, by)
        return sorted(rows.values(), key=lambda r: (-r.cost_usd, r.key))
    for run in runs:
        key = run.tenant_id if by == "tenant" else f"{run.started_at:%Y-%m-%d}"
        row = rows[key]
        row.key = key
        row.runs += 1
        row.completed += run.status == "completed"
        row.input_tokens += run.input_tokens
        row.output_tokens += run.output_tokens
        row.cost_usd += run.cost_usd
    return sorted(rows.values(), key=lambda r: (-r.cost_usd, r.key))


def _by_call(spans: list[TraceSpanRow], runs: list[TraceRunRow], rows: dict[str, CostRow], by: GroupBy) -> None:
    status = {r.id: r.status for r in runs}
    seen: dict[str, set[str]] = defaultdict(set)
    for span in spans:
        attrs = json.loads(span.attributes_json)
        key = span.name if by == "model" else str(attrs.get("tier") or "direct")
        row = rows[key]
        row.key = key
        row.input_tokens += int(attrs.get("input_tokens") or 0)
        row.output_tokens += int(attrs.get("output_tokens") or 0)
        row.cost_usd += float(attrs.get("cost_usd") or 0.0)
        if span.run_id not in seen[key]:
            seen[key].add(span.run_id)
            row.runs += 1
            row.completed += status[span.run_id] == "completed"


def parse_volume(text: str) -> int:
    """``100k`` → 100000, ``1m`` → 1000000, ``2500`` → 2500."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    return int(float(number) * scale)


def total_runs(sessions: sessionmaker[Session], *, since: datetime, tenant_id: str | None = None) -> tuple[int, int]:
    """``(runs, completed)`` in the window: the denominators of a projection."""
    statuses = [r.status for r in runs_between(sessions, since, tenant_id=tenant_id)]
    return len(statuses), sum(s == "completed" for s in statuses)


def share_of(row: CostRow, runs: int, volumes: list[int]) -> list[float]:
    """What ``row`` (a model or a routing tier) adds to the monthly bill at each volume: its cost
    per request of the whole traffic, times the volume."""
    return [row.cost_usd / runs * v if runs else 0.0 for v in volumes]


def projection(
    rows: list[CostRow], volumes: list[int], totals: tuple[int, int] | None = None
) -> list[dict[str, float | str | None]]:
    """Monthly cost at each request volume, from the measured cost per run and per success.

    ``totals`` (``(runs, completed)``, from :func:`total_runs`) are needed when ``rows`` group
    model calls (by model or tier): a run then appears in several rows."""
    runs = totals[0] if totals else sum(r.runs for r in rows)
    completed = totals[1] if totals else sum(r.completed for r in rows)
    cost = sum(r.cost_usd for r in rows)
    per_run = cost / runs if runs else 0.0
    success_rate = completed / runs if runs else 0.0
    return [
        {
            "requests_per_month": v,
            "cost_per_request": per_run,
            "monthly_cost": per_run * v,
            "successful_tasks": success_rate * v,
            "cost_per_successful_task": cost / completed if completed else None,
        }
        for v in volumes
    ]
