"""The read-tool cache: hits, TTL expiry, invalidation by writes, never side effects."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agent.loop.calls import CallIdentity
from agent.persistence.approvals import ApprovalStore
from agent.persistence.tables import create_store_schema
from agent.runtime.cache import ToolResultCache
from agent.runtime.execution import ToolExecutor
from tools import ledger
from tools.contract import Risk, ToolContext, tool
from tools.db import Base, make_engine, make_session_factory
from tools.errors import ToolDefinitionError

CALLS: list[str] = []


class Query(BaseModel):
    q: str


class Answer(BaseModel):
    value: str
    summary: str = ""


@tool(risk=Risk.READ, cache_ttl_s=0.3)
def lookup_thing(ctx: ToolContext, args: Query) -> Answer:
    """Look a thing up."""
    CALLS.append(f"lookup:{ctx.tenant_id}:{args.q}")
    return Answer(value=f"{args.q}-{len(CALLS)}")


@tool(risk=Risk.READ)
def lookup_fresh(ctx: ToolContext, args: Query) -> Answer:
    """Never cached: no TTL declared."""
    CALLS.append(f"fresh:{args.q}")
    return Answer(value=args.q)


@tool(risk=Risk.WRITE)
def change_thing(ctx: ToolContext, args: Query) -> Answer:
    """Change a thing."""
    CALLS.append(f"change:{args.q}")
    return Answer(value="changed")


@pytest.fixture
def executor(tmp_path: Path) -> ToolExecutor:
    CALLS.clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    create_store_schema(engine)
    Base.metadata.create_all(engine, tables=[ledger.ToolEffect.__table__])  # type: ignore[list-item]
    sessions = make_session_factory(engine)
    return ToolExecutor(sessions, ApprovalStore(sessions, ttl_s=60), cache=ToolResultCache())


def execute(executor: ToolExecutor, *args: Any) -> Any:
    """``ToolExecutor.execute`` (a coroutine) run to its result."""
    return asyncio.run(executor.execute(*args))


def who(tenant: str = "acme", call: str = "c1") -> CallIdentity:
    return CallIdentity(tenant, "u", "t", call)


def test_repeated_reads_hit_until_the_ttl_passes(executor: ToolExecutor) -> None:
    first = execute(executor, lookup_thing, Query(q="tent"), who(), None)
    second = execute(executor, lookup_thing, Query(q="tent"), who(call="c2"), None)
    assert (first.cache_hit, second.cache_hit) == (False, True) and first.data == second.data
    assert execute(executor, lookup_thing, Query(q="stove"), who(), None).cache_hit is False
    time.sleep(0.35)
    assert execute(executor, lookup_thing, Query(q="tent"), who(), None).cache_hit is False
    assert CALLS == ["lookup:acme:tent", "lookup:acme:stove", "lookup:acme:tent"]


def test_entries_are_per_tenant_and_dropped_by_a_write(executor: ToolExecutor) -> None:
    execute(executor, lookup_thing, Query(q="tent"), who("acme"), None)
    assert execute(executor, lookup_thing, Query(q="tent"), who("globex"), None).cache_hit is False
    assert execute(executor, change_thing, Query(q="tent"), who("acme", "w1"), None).ok
    assert execute(executor, lookup_thing, Query(q="tent"), who("acme"), None).cache_hit is False
    assert execute(executor, lookup_thing, Query(q="tent"), who("globex"), None).cache_hit is True


def test_tools_without_ttl_and_side_effects_are_never_cached(executor: ToolExecutor) -> None:
    for call in ("a", "b"):
        assert execute(executor, lookup_fresh, Query(q="x"), who(call=call), None).cache_hit is False
        assert execute(executor, change_thing, Query(q="x"), who(call=call), None).cache_hit is False
    assert CALLS.count("fresh:x") == 2 and CALLS.count("change:x") == 2
    with pytest.raises(ToolDefinitionError, match="never cached"):
        tool(risk=Risk.HIGH_RISK, cache_ttl_s=10)(change_thing.func)
