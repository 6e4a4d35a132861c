"""Seed time: the deterministic demo data at 100k orders (25k customers, the default ratio).

Timed as ``tiller db seed --set orders=100000`` does it (``agent.persistence.setup.seed_database``: create the
tables, then insert), on a new SQLite file, and on a scratch PostgreSQL database when
``TILLER_BENCH_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from agent.config import Settings
from agent.persistence.setup import fixtures_of, seed_database
from bench.checkpointers import postgres_url
from bench.postgres import scratch_database
from bench.report import Column
from tools.domain import load_domain


@dataclass(frozen=True)
class SeedRow:
    backend: str
    orders: int
    customers: int
    seconds: float
    orders_per_second: float


def time_seed(backend: str, settings: Settings, orders: int) -> SeedRow:
    customers = max(1, orders // 4)
    started = time.perf_counter()
    seed_database(settings, fixtures_of(load_domain("commerce"), {"customers": customers, "orders": orders}))
    took = time.perf_counter() - started
    return SeedRow(backend, orders, customers, took, orders / took)


def run_seed(workdir: Path, orders: int = 100_000) -> list[SeedRow]:
    """Seed ``orders`` orders on SQLite (and PostgreSQL when configured)."""
    rows = [time_seed("sqlite", Settings(home=workdir / "seed-home", database_url=None), orders)]
    server = postgres_url()
    if server:
        with scratch_database(server) as url:
            rows.append(time_seed("postgres", Settings(home=workdir / "seed-pg", database_url=url), orders))
    return rows


SEED_COLUMNS = [
    Column("backend", lambda r: r.backend),
    Column("orders", lambda r: r.orders, "{:,}"),
    Column("customers", lambda r: r.customers, "{:,}"),
    Column("seconds", lambda r: r.seconds, "{:.1f}"),
    Column("orders/s", lambda r: r.orders_per_second, "{:,.0f}"),
]
