"""LangGraph's checkpoint conformance suite (``langgraph-checkpoint-conformance``) on the savers
Tiller configures, on SQLite and PostgreSQL.

The runtime runs the async savers of ``open_async_checkpointer`` (``InlineSqliteSaver``, whose
async methods run ``SqliteSaver``'s in place, and ``PooledPostgresSaver``, ``AsyncPostgresSaver``
over a connection pool without its lock); the suite drives them as they are.
The sync savers of ``open_checkpointer`` (the migrations, the benchmarks) have no async
methods, so each is wrapped in ``sync_saver_as_async``, which runs the saver's own sync method
on a thread for each async one. Both are checked with Tiller's connection settings (WAL, busy
timeout; autocommit and the migration lock on PostgreSQL). Only capabilities the saver
implements are offered, so the suite's capability detection reports what the real saver can do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport

from agent.persistence.checkpoint import open_async_checkpointer, open_checkpointer
from tests.conftest import POSTGRES_URL, postgres_schema

# async method -> the sync method of the saver it runs
_METHODS = {
    "aput": "put",
    "aput_writes": "put_writes",
    "aget_tuple": "get_tuple",
    "adelete_thread": "delete_thread",
    "adelete_for_runs": "delete_for_runs",
    "acopy_thread": "copy_thread",
    "aprune": "prune",
}


def _implements(saver: BaseCheckpointSaver[Any], method: str) -> bool:
    return getattr(type(saver), method, None) is not getattr(BaseCheckpointSaver, method, None)


def _async_of(sync_name: str) -> Any:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.inner, sync_name), *args, **kwargs)

    return method


async def _alist(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    for item in await asyncio.to_thread(lambda: list(self.inner.list(*args, **kwargs))):
        yield item


def sync_saver_as_async(inner: BaseCheckpointSaver[Any]) -> BaseCheckpointSaver[Any]:
    """``inner`` behind async methods that run its sync ones on a thread (see the module doc)."""
    namespace: dict[str, Any] = {"alist": _alist} if _implements(inner, "list") else {}
    namespace |= {a: _async_of(s) for a, s in _METHODS.items() if _implements(inner, s)}
    namespace["get_next_version"] = lambda self, current, channel: self.inner.get_next_version(current, channel)
    cls = type(f"Async{type(inner).__name__}", (BaseCheckpointSaver,), namespace)
    saver = cls(serde=inner.serde)
    saver.inner = inner
    return saver


def _report(report: CapabilityReport) -> str:
    return "; ".join(f"{cap}: {', '.join(r.failures)}" for cap, r in report.results.items() if r.failures)


def _check(report: CapabilityReport, expected: set[str]) -> None:
    detected = {cap for cap, r in report.results.items() if r.detected}
    assert detected == expected, f"capabilities detected: {sorted(detected)}"
    assert report.passed_all(), _report(report)
    assert all(report.results[c].tests_passed > 0 for c in expected)


BASE = {"put", "put_writes", "get_tuple", "list", "delete_thread"}


def test_the_sqlite_saver_conforms(tmp_path: Path) -> None:
    async def sqlite_saver() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        path = tmp_path / f"{uuid.uuid4().hex}.sqlite"
        with open_checkpointer(f"sqlite:///{tmp_path / 'tiller.db'}", path) as saver:
            yield sync_saver_as_async(saver)

    registered = checkpointer_test(name="tiller-sqlite")(sqlite_saver)
    # SqliteSaver implements no delete_for_runs, copy_thread or prune: the suite skips those.
    _check(asyncio.run(validate(registered)), BASE)


@pytest.mark.postgres
def test_the_postgres_saver_conforms(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("TILLER_TEST_POSTGRES_URL is not set (CI sets it)")

    async def postgres_saver() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        with (  # a fresh schema per capability suite, as the suite asks
            postgres_schema("tiller_conformance") as url,
            open_checkpointer(url, tmp_path / "unused.sqlite") as saver,
        ):
            yield sync_saver_as_async(saver)

    registered = checkpointer_test(name="tiller-postgres")(postgres_saver)
    # PostgresSaver adds prune; it implements no delete_for_runs or copy_thread.
    _check(asyncio.run(validate(registered)), BASE | {"prune"})


def test_the_async_sqlite_saver_the_runtime_runs_conforms(tmp_path: Path) -> None:
    async def sqlite_saver() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        path = tmp_path / f"{uuid.uuid4().hex}.sqlite"
        async with open_async_checkpointer(f"sqlite:///{tmp_path / 'tiller.db'}", path) as saver:
            yield saver

    report = asyncio.run(validate(checkpointer_test(name="tiller-async-sqlite")(sqlite_saver)))
    _check(report, {cap for cap, r in report.results.items() if r.detected} | BASE)


@pytest.mark.postgres
def test_the_async_postgres_saver_the_runtime_runs_conforms(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("TILLER_TEST_POSTGRES_URL is not set (CI sets it)")

    async def postgres_saver() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        with postgres_schema("tiller_conformance") as url:
            async with open_async_checkpointer(url, tmp_path / "unused.sqlite") as saver:
                yield saver

    report = asyncio.run(validate(checkpointer_test(name="tiller-async-postgres")(postgres_saver)))
    _check(report, {cap for cap, r in report.results.items() if r.detected} | BASE)
