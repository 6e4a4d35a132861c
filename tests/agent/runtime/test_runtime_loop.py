"""Where a runtime runs: its own loop thread, or the loop of the code that starts it (the service's)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent.config import Settings
from agent.runtime import Tiller


def test_a_runtime_made_with_start_false_says_to_start_it_first(settings: Settings) -> None:
    tiller = Tiller(settings, start=False)
    try:
        assert not tiller.started
        with pytest.raises(RuntimeError, match=r"await its astart\(\) first"):
            tiller.ask("where is my order W1000002?", tenant="acme", user="ann")
    finally:
        tiller.close()


def test_a_runtime_started_on_a_loop_runs_there_and_serves_other_threads(settings: Settings) -> None:
    async def scenario() -> None:
        tiller = Tiller(settings, start=False)
        await tiller.astart()
        try:
            here = threading.get_ident()
            seen: list[int] = []
            result = await tiller.aask(
                "where is my order W1000002?",
                tenant="acme",
                user="ann",
                on_event=lambda _: seen.append(threading.get_ident()),
            )
            assert result.status.value == "completed"
            assert seen and set(seen) == {here}  # events arrive on this loop's thread: no second loop
            # A sync method called on the loop itself cannot wait for it: said, not deadlocked.
            with pytest.raises(RuntimeError, match="await the async one"):
                tiller.result(result.thread_id, tenant="acme")
            # From a worker thread the sync facade hands the coroutine to this loop.
            again = await asyncio.to_thread(tiller.result, result.thread_id, tenant="acme")
            assert again.answer == result.answer
        finally:
            await tiller.aclose()
        with pytest.raises(RuntimeError):
            await asyncio.to_thread(tiller.result, result.thread_id, tenant="acme")

    asyncio.run(scenario())


def test_a_runtime_of_its_own_runs_on_uvloop_where_it_is_installed(settings: Settings) -> None:
    uvloop = pytest.importorskip("uvloop")  # a dependency everywhere but Windows
    tiller = Tiller(settings)
    try:
        result = tiller.ask("where is my order W1000002?", tenant="acme", user="ann")
        assert result.status.value == "completed"
        assert isinstance(tiller._loop.current.loop, uvloop.Loop)
    finally:
        tiller.close()
