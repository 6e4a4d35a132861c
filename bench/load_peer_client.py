"""The load test's users speaking LangGraph Server's HTTP API instead of Tiller's.

The conversation, the message mix, the think time, the samples and the 429 handling are
:class:`~bench.load_users.SimulatedUser`'s; only the requests differ:

- start a thread: ``POST /threads`` (Tiller: ``POST /v1/threads``);
- a message, JSON: ``POST /threads/{id}/runs/wait`` (Tiller: ``POST /v1/threads/{id}/messages``);
- a message, streamed: ``POST /threads/{id}/runs/stream`` as SSE, stream modes ``updates`` and
  ``messages-tuple`` (Tiller: the same message with ``stream: true``);
- approve a paused refund: ``POST /threads/{id}/runs/stream`` with
  ``command: {resume: {decisions: [{type: approve}]}}`` (Tiller: ``POST /v1/approvals/{id}/approve``,
  then ``GET /v1/threads/{id}/events`` until the continuation settles).

LangGraph Server has no approval resource: the reviewer's decision *is* the resume, so its
``approve→done`` is that one streamed run and there is no separate ``approve`` row. It has no
API keys either (``langgraph dev`` runs without auth), and it reports no run usage: the model calls
of a run are the AI messages it added, and *in runtime* is not known (left empty in the tables).

Each answer is turned into the shape :class:`SimulatedUser` reads from Tiller's ``RunResult``:
``status`` (``completed``, ``awaiting_approval`` or ``failed`` with an ``error``) and
``usage.steps`` (the run's model calls).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from bench.load_users import Sample, SimulatedUser

ASSISTANT = "agent"
"""The graph id in the ``langgraph.json`` the load test writes (``bench/load_peer.py``)."""
STREAM_MODE = ["updates", "messages-tuple"]
"""Each node's update and the model's tokens: the nearest to Tiller's SSE (node, token, tool and
status events), without resending the whole state after every step (``values``)."""
MODEL_NODE = "model"
"""``create_agent``'s model node: its updates are the model calls. (Middleware hooks update the AI
message too — the approval hook rewrites it on resume — so counting every AI message overcounts.)"""
APPROVE = {"decisions": [{"type": "approve"}]}
"""``HumanInTheLoopMiddleware``'s answer to one paused model turn with one reviewed call."""


def _ai_messages(messages: list[dict[str, Any]]) -> int:
    return sum(1 for m in messages if m.get("type") in ("ai", "AIMessage"))


def wait_result(values: dict[str, Any]) -> dict[str, Any]:
    """A Tiller-shaped result from ``runs/wait``'s final state: the model calls are the AI
    messages after the last human message (the thread's earlier turns are in the state too)."""
    if "__error__" in values:
        error = values["__error__"] or {}
        return {"status": "failed", "error": {"code": error.get("error", "error"), "message": error.get("message", "")}}
    messages = list(values.get("messages") or [])
    last_human = max((i for i, m in enumerate(messages) if m.get("type") == "human"), default=-1)
    steps = _ai_messages(messages[last_human + 1 :])
    status = "awaiting_approval" if values.get("__interrupt__") else "completed"
    return {"status": status, "usage": {"steps": steps}, "interrupts": values.get("__interrupt__") or []}


class StreamReader:
    """Folds a ``runs/stream`` event stream (``updates`` and ``messages``) into a result."""

    def __init__(self) -> None:
        self.steps = 0
        self.interrupts: list[Any] = []
        self.error: dict[str, Any] | None = None

    def feed(self, event: str | None, data: Any) -> None:
        if event == "error":
            self.error = {"code": (data or {}).get("error", "error"), "message": (data or {}).get("message", "")}
        elif event == "updates" and isinstance(data, dict):
            for node, update in data.items():
                if node == "__interrupt__":
                    self.interrupts.extend(update or [])
                elif node == MODEL_NODE and isinstance(update, dict):
                    self.steps += _ai_messages(list(update.get("messages") or []))

    def result(self) -> dict[str, Any]:
        if self.error is not None:
            return {"status": "failed", "error": self.error}
        status = "awaiting_approval" if self.interrupts else "completed"
        return {"status": status, "usage": {"steps": self.steps}, "interrupts": self.interrupts}


class LangGraphServerUser(SimulatedUser):
    """A simulated user of LangGraph Server (``langgraph dev``) serving the peer's agent."""

    async def _create_thread(self, sample: Sample) -> str:
        response = await self.client.post("/threads", json={"metadata": {"title": "load test"}})
        sample.http_status = response.status_code
        response.raise_for_status()
        return str(response.json()["thread_id"])

    async def _post_message(self, sample: Sample, thread: str, content: str, stream: bool) -> dict[str, Any]:
        message = {"role": "user", "content": content}
        body: dict[str, Any] = {"assistant_id": ASSISTANT, "input": {"messages": [message]}}
        sample.streamed = stream
        if stream:
            result = await self._run_stream(sample, thread, body)
        else:
            response = await self.client.post(f"/threads/{thread}/runs/wait", json=body)
            sample.http_status = response.status_code
            response.raise_for_status()
            result = wait_result(response.json())
        sample.run_status = result["status"]
        sample.model_calls = int(result.get("usage", {}).get("steps", 0))
        sample.error = _failure(result)
        return result

    async def _approve_and_follow(
        self, thread: str, intent: str, paused: dict[str, Any]
    ) -> tuple[int, dict[str, Any], int]:
        """Resume the paused run with the reviewer's approval and stream it until it ends."""
        sample = Sample("resume", intent, self.work.now(), 0.0, 0)
        body = {"assistant_id": ASSISTANT, "command": {"resume": APPROVE}}
        try:
            done = await self._run_stream(sample, thread, body)
        except httpx.HTTPStatusError as exc:
            done = {"status": "failed", "error": {"code": f"HTTP {exc.response.status_code}", "message": ""}}
        except httpx.HTTPError as exc:
            done = {"status": "failed", "error": {"code": type(exc).__name__, "message": f"resuming {thread}: {exc}"}}
        return sample.http_status, done, int(done.get("usage", {}).get("steps", 0))

    async def _run_stream(self, sample: Sample, thread: str, body: dict[str, Any]) -> dict[str, Any]:
        reader = StreamReader()
        url = f"/threads/{thread}/runs/stream"
        async with self.client.stream("POST", url, json=body | {"stream_mode": STREAM_MODE}) as response:
            sample.http_status = response.status_code
            if response.status_code >= 400:
                await response.aread()
                response.raise_for_status()
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    reader.feed(event, json.loads(line.removeprefix("data:")))
        return reader.result()


def _failure(result: dict[str, Any]) -> str | None:
    if result.get("status") != "failed":
        return None
    error = result.get("error") or {}
    return f"run failed: {error.get('code')}: {error.get('message', '')}"[:200]
