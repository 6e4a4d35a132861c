"""A thread's events across service processes: two run hubs, each with its own Redis fanout, stand
for two processes (the end-to-end test with two `tiller serve` processes is
``test_service_workers.py``).

A follower on one hub gets a run of the other from its start and then step by step, with the
same event ids; a subscriber that loses its connection reconnects and catches up on what it
missed; with Redis unreachable, local runs stream as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from agent.interfaces.service.fanout import LocalFanout, RedisFanout
from agent.interfaces.service.hub import RunHub, ThreadChannel
from agent.interfaces.service.metrics import ServiceMetrics
from agent.loop.events import FinalEvent, ModelEvent, PlannedCallView, RunEvent, ToolCallEvent, ToolResultEvent
from agent.loop.state import RunResult, RunStatus
from bench.load_server import free_port

REDIS_URL = os.environ.get("TILLER_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TILLER_TEST_REDIS_URL is not set (CI sets it)")


class ScriptedRun:
    """A run that emits a model turn and a tool call, waits for ``go``, then finishes."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.go = asyncio.Event()

    async def __call__(self, on_event: Callable[[RunEvent], None]) -> RunResult:
        call = PlannedCallView(id="c1", tool="get_order", args={"order_id": "X1"})
        on_event(ModelEvent(model="scripted", tool_calls=[call]))
        on_event(ToolCallEvent(id="c1", tool="get_order", args={"order_id": "X1"}, verdict="allow"))
        await self.go.wait()
        on_event(ToolResultEvent(id="c1", tool="get_order", ok=True, summary="found"))
        on_event(FinalEvent(status="completed", answer="done"))
        return RunResult(thread_id=self.thread_id, status=RunStatus.COMPLETED, answer="done")


@asynccontextmanager
async def hub(fanout: LocalFanout | RedisFanout) -> AsyncIterator[RunHub]:
    running = RunHub(ServiceMetrics(), 4, fanout)
    await running.open()
    try:
        yield running
    finally:
        await running.drain()
        await running.close()


def redis_fanout(url: str | None = None, dropped: list[int] | None = None) -> RedisFanout:
    sink = dropped if dropped is not None else []
    return RedisFanout(url or str(REDIS_URL), keep=500, keep_s=60, on_drop=sink.append)


async def until(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def trail(channel: ThreadChannel) -> list[tuple[str | None, str]]:
    return [(e.id, e.type) for e in channel.events]


async def test_without_redis_a_runs_events_stay_here_numbered_per_run() -> None:
    thread = f"t-{uuid.uuid4().hex[:8]}"
    async with hub(LocalFanout()) as local:
        run = ScriptedRun(thread)
        run.go.set()
        job = local.start(thread, "message", run)
        await job.done
        assert not local.live
        kinds = ["run_started", "model", "tool_call", "tool_result", "final", "status"]
        assert trail(job.channel) == [(f"{job.job_id}.{n}", kind) for n, kind in enumerate(kinds, 1)]
        assert job.channel.position(f"{job.job_id}.3") == 3 and job.channel.position("job_unknown.1") is None


@needs_redis
async def test_a_follower_elsewhere_gets_the_run_from_its_start_then_step_by_step() -> None:
    thread = f"t-{uuid.uuid4().hex[:8]}"
    async with hub(redis_fanout()) as one, hub(redis_fanout()) as two:
        await until(lambda: one.live and two.live, "both subscribers")
        run = ScriptedRun(thread)
        job = one.start(thread, "message", run)
        await until(lambda: len(job.channel.events) == 3, "the run's first steps")
        async with two.watch(thread) as channel:
            # Joined mid-run: the backlog gives the run from run_started, under the same ids.
            assert trail(channel) == trail(job.channel)
            assert channel.current_job == job.job_id and channel.start() == 0
            assert channel.running is None  # it runs elsewhere: no conflict check here refuses a post
            run.go.set()
            await until(lambda: bool(channel.events) and channel.events[-1].type == "status", "the run's status")
            assert trail(channel) == trail(job.channel)
            assert channel.events[-1].data["answer"] == "done" and channel.current_job is None
            # A Last-Event-ID the client got from the first process points into this one's channel.
            assert channel.position(f"{job.job_id}.3") == 3


@needs_redis
async def test_a_lost_subscriber_reconnects_and_catches_up_on_what_it_missed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import redis.asyncio

    thread = f"t-{uuid.uuid4().hex[:8]}"
    admin = redis.asyncio.Redis.from_url(str(REDIS_URL))
    follower = redis_fanout()
    async with hub(redis_fanout()) as one, hub(follower) as two:
        await until(lambda: one.live and two.live, "both subscribers")
        async with two.watch(thread) as channel:
            run = ScriptedRun(thread)
            job = one.start(thread, "message", run)
            await until(lambda: len(channel.events) == 3, "the first steps, live")
            caplog.set_level(logging.WARNING, "tiller.service")
            for client in await admin.client_list():
                if client["name"] == follower.client_name:
                    await admin.client_kill_filter(_id=client["id"])
            await until(lambda: not two.live, "the follower to notice")
            run.go.set()  # the rest of the run happens while the follower is cut off
            await job.done
            await until(lambda: len(channel.events) == 6, "the missed steps, from the backlog")
            assert trail(channel) == trail(job.channel) and two.live
    await admin.aclose()
    assert any("lost the Redis subscriber" in r.getMessage() for r in caplog.records)


@needs_redis
async def test_with_redis_unreachable_local_runs_stream_and_nothing_waits_on_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "tiller.service")
    dropped: list[int] = []
    thread = f"t-{uuid.uuid4().hex[:8]}"
    async with hub(redis_fanout(f"redis://127.0.0.1:{free_port()}/0", dropped)) as alone:
        async with alone.watch(thread) as channel:  # returns at once: followers poll the database
            assert not alone.live
            run = ScriptedRun(thread)
            run.go.set()
            job = alone.start(thread, "message", run)
            result = await asyncio.wait_for(job.done, 5)
            assert result.answer == "done" and [e.type for e in channel.events][-1] == "status"
        await until(lambda: sum(dropped) == 6, "the unshared events to be counted")
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot publish stream events to Redis" in m for m in messages)
    assert any("lost the Redis subscriber" in m for m in messages)


@needs_redis
async def test_the_last_runs_events_go_out_before_the_hub_closes() -> None:
    import redis.asyncio

    from agent.interfaces.service.fanout import backlog_key

    thread = f"t-{uuid.uuid4().hex[:8]}"
    async with hub(redis_fanout()) as closing:
        run = ScriptedRun(thread)
        run.go.set()
        job = closing.start(thread, "message", run)
    # hub() drained the run and closed at once: its status must be in the thread's backlog.
    admin = redis.asyncio.Redis.from_url(str(REDIS_URL))
    backlog = [json.loads(raw) for raw in await admin.lrange(backlog_key(thread), 0, -1)]
    await admin.aclose()
    assert [(e["id"], e["t"]) for e in backlog] == trail(job.channel)
