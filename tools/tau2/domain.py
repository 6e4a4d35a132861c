"""τ²-bench's domains as Tiller domains, all through :func:`tau2_domain` — nothing here, or in
the rest of ``tools.tau2``, is written for one τ² domain.

``tau2_domain("retail")`` is the ``tiller.domains`` entry point ``tau2-retail``: τ²'s toolkit as
tools (``tools.tau2.toolkit``), τ²'s database as tables (``tools.tau2.store``) seeded from its
``db.json``, τ²'s policy as the system prompt, and an answer vocabulary read off its records
(``tools.tau2.vocabulary``). The entry points are zero-argument callables, so listing the
installed domains never imports τ² (a few seconds) and a missing extra is a one-line error.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pydantic import Field
from sqlalchemy import func, select

from tools.domain import AlreadySeeded, Domain, Fixtures, Seed
from tools.tau2 import source
from tools.tau2.store import TENANT, Tau2Store
from tools.tau2.toolkit import tool_specs
from tools.tau2.vocabulary import vocabulary_of

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tools.contract import ToolSpec

TENANT_ID = "tau2"
USER_TOOLS = (
    "τ² domain {name!r} gives the customer tools of their own (τ² user_tools, e.g. a phone to operate); "
    "a Tiller agent serves one side only, so it is not available as a Tiller domain"
)


class Tau2Fixtures(Fixtures):
    """τ²'s database is its ``db.json`` as shipped; only the tenant that owns it is chosen."""

    tenant: str = Field(TENANT_ID, min_length=1, max_length=64, description="the tenant the τ² records belong to")


def _seed(name: str, store: Tau2Store, engine: Engine, fixtures: Tau2Fixtures) -> str:
    rows = store.seed_rows(fixtures.tenant, source.seed_environment(name).tools.db)
    with engine.begin() as conn:
        for table in rows:
            count = conn.scalar(select(func.count()).select_from(table).where(table.c[TENANT] == fixtures.tenant))
            if count:
                raise AlreadySeeded(f"{table.name} already holds tenant {fixtures.tenant}'s τ² records")
        for table, batch in rows.items():
            if batch:
                conn.execute(table.insert(), batch)
    counts = ", ".join(f"{len(batch)} {table.name}" for table, batch in rows.items())
    return f"seeded τ² {name} for tenant {fixtures.tenant}: {counts}"


def _collections(name: str, store: Tau2Store) -> dict[str, dict[str, dict[str, Any]]]:
    db = source.seed_environment(name).tools.db
    return {c.name: {row["key"]: row for row in c.rows(TENANT_ID, getattr(db, c.name))} for c in store.collections}


@functools.cache
def tau2_domain(name: str) -> Domain:
    """The Tiller domain of τ² domain ``name`` (``retail``, ``airline``…); raises
    ``Tau2Unavailable`` when τ² is not installed or has no such domain."""
    env = source.seed_environment(name)
    if env.user_tools is not None:
        raise source.Tau2Unavailable(USER_TOOLS.format(name=name))
    store = Tau2Store(name, type(env.tools.db))
    specs: list[ToolSpec] = tool_specs(name, env.tools, store)
    return Domain(
        name=f"tau2-{name}",
        title=f"τ²-bench {name}",
        tools=specs,
        metadata=store.metadata,
        seed=Seed(fixtures=Tau2Fixtures, run=functools.partial(_seed, name, store)),
        system_prompt=env.get_policy(),
        vocabulary=vocabulary_of(_collections(name, store)),
        guard_policy=GUARD_POLICY,
        welcome=f"τ²-bench's {name} domain: its tools, database and policy, run by Tiller.",
        tenant=TENANT_ID,
        user="agent",
        role="support_agent",
    )


GUARD_POLICY: dict[str, Any] = {"card_words_within": 24}
"""The guard defaults of every τ² domain: τ²'s records hold no card numbers but many long digit
runs (10-digit item and product ids, 12-digit tracking numbers, street numbers beside zip codes)
that an answer may list; a Luhn-valid run is a card number only next to a card word."""


def retail() -> Domain:
    """τ²-bench's retail domain as a Tiller domain."""
    return tau2_domain("retail")


def airline() -> Domain:
    """τ²-bench's airline domain as a Tiller domain."""
    return tau2_domain("airline")
