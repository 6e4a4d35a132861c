"""The simulated users of the load test: asyncio tasks sharing one ``httpx.AsyncClient``.

Each user loops until the run's end: it starts a thread (``POST /v1/threads``), has a
conversation of one to three messages (with no pause between them unless a think time is set)
drawn from a mix — where is my order, a policy question,
a refund — and starts over. A refund pauses for approval: the user's reviewer approves it
(``POST /v1/approvals/{id}/approve``) and the user follows the thread's events until the
continuation settles. Half of the messages stream their run as server-sent events, half wait for
the ``RunResult`` (``stream: false``). Every HTTP exchange is recorded as a ``Sample``; a 429 is
recorded, honoured (``Retry-After``) and retried.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.load_server import LoadUser, Server

INTENTS = ("order", "policy", "refund")
WEIGHTS = (0.45, 0.35, 0.20)
ORDER_MESSAGES = ("where is my order {oid}?", "what is the status of order {oid}?", "has my order {oid} shipped?")
REFUND_MESSAGES = (
    "refund ${amount} on order {oid}, it arrived damaged",
    "please refund ${amount} for order {oid}, the item arrived broken",
)
SETTLED = ("completed", "limit_reached", "blocked", "failed")
_MAX_RETRY_AFTER_S = 10.0


@dataclass
class Sample:
    """One HTTP exchange (or, for ``approve→done``, a decision until its continuation settled)."""

    kind: str  # create_thread | message | approve | approve→done
    intent: str | None
    started_s: float  # since the load started
    latency_s: float
    http_status: int  # 0: transport error or timeout
    model_calls: int = 0  # model calls inside this latency (runs only)
    run_status: str | None = None
    runtime_s: float | None = None  # the runtime's own time for the run (usage.elapsed_s)
    streamed: bool = False
    error: str | None = None
    throttled: bool = False  # a 429 was waited out inside this span: left out of the percentiles


@dataclass
class Workload:
    """What the users draw their messages from, and the run's clock."""

    orders: list[str]
    refundable: list[str]
    questions: list[str]
    started: float
    ends_at: float
    stream_share: float = 0.5
    think_s: float = 0.0
    """Mean pause before each message (uniform between half and one and a half times it); 0: none."""
    samples: list[Sample] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.started

    def over(self) -> bool:
        return time.monotonic() >= self.ends_at

    def message(self, intent: str, rng: random.Random) -> str:
        if intent == "order":
            return rng.choice(ORDER_MESSAGES).format(oid=rng.choice(self.orders))
        if intent == "refund":
            return rng.choice(REFUND_MESSAGES).format(oid=rng.choice(self.refundable), amount=rng.randint(1, 5))
        return rng.choice(self.questions)


class RunFailed(Exception):
    """A request of the conversation failed; the user starts a new thread."""


class SimulatedUser:
    def __init__(self, user: LoadUser, client: httpx.AsyncClient, work: Workload, seed: int) -> None:
        self.user = user
        self.client = client
        self.work = work
        self.rng = random.Random(seed)
        self.headers = {"Authorization": f"Bearer {user.key}"}
        self.reviewer = {"Authorization": f"Bearer {user.reviewer_key}"}
        self.rate_limited = 0  # 429s this user got (and waited out)

    async def run(self) -> None:
        while not self.work.over():
            try:
                thread = await self._call("create_thread", None, self._create_thread)
                for _ in range(self.rng.randint(1, 3)):
                    if self.work.over():
                        break
                    await self._converse(thread, self.rng.choices(INTENTS, WEIGHTS)[0])
            except RunFailed:
                await asyncio.sleep(0.5)  # do not hammer a failing service

    async def _converse(self, thread: str, intent: str) -> None:
        if self.work.think_s:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.work.think_s)
        content = self.work.message(intent, self.rng)
        stream = self.rng.random() < self.work.stream_share
        result = await self._call("message", intent, lambda s: self._post_message(s, thread, content, stream))
        if result.get("status") != "awaiting_approval":
            return
        started, started_s, limited = time.perf_counter(), self.work.now(), self.rate_limited
        status, done, model_calls = await self._approve_and_follow(thread, intent, result)
        sample = Sample("approve→done", intent, started_s, time.perf_counter() - started, status)
        sample.run_status = done.get("status")
        sample.model_calls = model_calls
        sample.error = _run_error(done)
        sample.throttled = self.rate_limited > limited
        self.work.samples.append(sample)
        if sample.error:
            raise RunFailed(sample.error)

    async def _approve_and_follow(
        self, thread: str, intent: str, paused: dict[str, Any]
    ) -> tuple[int, dict[str, Any], int]:
        """Approve each pending call (as the user's reviewer), then follow the thread's events until
        the continuation settles: (HTTP status, the settled result, model calls it made)."""
        for approval in paused.get("pending_approvals", []):
            await self._call("approve", intent, lambda s, a=approval["id"]: self._approve(s, a))
        status, done = await self._follow(thread)
        return status, done, max(0, _steps(done) - _steps(paused))

    async def _call(self, kind: str, intent: str | None, send: Callable[[Sample], Awaitable[Any]]) -> Any:
        """Send until not rate limited; record every attempt; ``RunFailed`` on an error."""
        while True:
            sample = Sample(kind, intent, self.work.now(), 0.0, 0)
            started = time.perf_counter()
            try:
                value = await send(sample)
            except httpx.HTTPStatusError as exc:
                sample.http_status = exc.response.status_code
                code = _error_code(exc.response)
                sample.error = None if sample.http_status == 429 else f"HTTP {sample.http_status}: {code}"
                value = exc.response
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                sample.error = f"{type(exc).__name__}: {exc}"[:200]
                value = None
            sample.latency_s = time.perf_counter() - started
            self.work.samples.append(sample)
            if sample.http_status == 429:
                self.rate_limited += 1
                await asyncio.sleep(min(_MAX_RETRY_AFTER_S, float(value.headers.get("Retry-After", "1"))))
                continue
            if sample.error:
                raise RunFailed(sample.error)
            return value

    async def _create_thread(self, sample: Sample) -> str:
        response = await self.client.post("/v1/threads", json={"title": "load test"}, headers=self.headers)
        sample.http_status = response.status_code
        response.raise_for_status()
        return str(response.json()["id"])

    async def _post_message(self, sample: Sample, thread: str, content: str, stream: bool) -> dict[str, Any]:
        url, body = f"/v1/threads/{thread}/messages", {"content": content, "stream": stream}
        sample.streamed = stream
        if stream:
            result = await self._stream_until_settled(sample, "POST", url, body)
        else:
            response = await self.client.post(url, json=body, headers=self.headers)
            sample.http_status = response.status_code
            response.raise_for_status()
            result = response.json()
        sample.run_status = result.get("status")
        sample.model_calls = _steps(result)
        sample.runtime_s = (result.get("usage") or {}).get("elapsed_s")
        sample.error = _run_error(result)
        return result

    async def _approve(self, sample: Sample, approval_id: str) -> dict[str, Any]:
        """Approve; a refund the order can no longer take (its balance was spent by earlier runs of
        a long load: ``approval_blocked``) is rejected with a reason, as a reviewer would."""
        url = f"/v1/approvals/{approval_id}"
        response = await self.client.post(f"{url}/approve", json={}, headers=self.reviewer)
        if response.status_code == 409 and _error_code(response) == "approval_blocked":
            sample.run_status = "blocked, rejected"
            body = {"reason": "blocked by the refund rules", "customer_message": "This order cannot take more refunds."}
            response = await self.client.post(f"{url}/reject", json=body, headers=self.reviewer)
        sample.http_status = response.status_code
        response.raise_for_status()
        return dict(response.json())

    async def _follow(self, thread: str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, the settled result) of following the thread's events after a decision."""
        url = f"/v1/threads/{thread}/events?timeout=120"
        while True:
            sample = Sample("follow", None, self.work.now(), 0.0, 0)
            try:
                result = await self._stream_until_settled(sample, "GET", url, None)
                return sample.http_status, result
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 429:
                    error = {"code": _error_code(exc.response), "message": ""}
                    return sample.http_status, {"status": "failed", "error": error}
                self.work.samples.append(sample)  # counted with the other 429s
                self.rate_limited += 1
                await asyncio.sleep(min(_MAX_RETRY_AFTER_S, float(exc.response.headers.get("Retry-After", "1"))))
            except httpx.HTTPError as exc:
                error = {"code": type(exc).__name__, "message": f"following {thread}: {exc}"}
                return sample.http_status, {"status": "failed", "error": error}

    async def _stream_until_settled(
        self, sample: Sample, method: str, url: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Read server-sent events until a settled ``status`` (the run's result) or an ``error``."""
        async with self.client.stream(method, url, json=body, headers=self.headers) as response:
            sample.http_status = response.status_code
            if response.status_code >= 400:
                await response.aread()
                response.raise_for_status()
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event in ("status", "error"):
                    data = json.loads(line.removeprefix("data:"))
                    if event == "error":
                        return {"status": "failed", "error": data}
                    if data.get("status") not in ("running",) and (method == "POST" or data["status"] in SETTLED):
                        return dict(data)
        return {"status": "failed", "error": {"code": "stream_ended", "message": "the stream ended without a result"}}


def _steps(result: dict[str, Any]) -> int:
    return int((result.get("usage") or {}).get("steps", 0))


def _run_error(result: dict[str, Any]) -> str | None:
    if result.get("status") == "failed":
        error = result.get("error") or {}
        return f"run failed: {error.get('kind') or error.get('code')}: {error.get('message', '')}"[:200]
    return None


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return response.text[:100]


UserFactory = Callable[[LoadUser, httpx.AsyncClient, Workload, int], SimulatedUser]
"""Makes one simulated user: :class:`SimulatedUser` speaks Tiller's API; another service's adapter
subclasses it (``bench/load_peer_client.py``)."""


@dataclass(frozen=True)
class Service:
    """A server under load and how its users talk to it."""

    server: Server
    users: list[LoadUser]
    user_factory: UserFactory
    config: dict[str, str]
    """How it was started (environment, options), for the report."""


async def run_users(
    base_url: str,
    users: list[LoadUser],
    work: Workload,
    on_tick: Callable[[], None],
    tick_s: float,
    user_factory: UserFactory = SimulatedUser,
) -> None:
    """All users until ``work.ends_at`` (then each finishes its conversation step), calling
    ``on_tick`` every ``tick_s`` seconds."""
    limits = httpx.Limits(max_connections=4 * len(users) + 10, max_keepalive_connections=2 * len(users))
    async with httpx.AsyncClient(base_url=base_url, timeout=180.0, limits=limits) as client:
        tasks = [asyncio.create_task(user_factory(u, client, work, i).run()) for i, u in enumerate(users)]
        while not all(t.done() for t in tasks):
            on_tick()
            await asyncio.wait(tasks, timeout=tick_s)
        on_tick()
        for task in tasks:
            task.result()  # a bug in the client surfaces here, not as a silent lower load
