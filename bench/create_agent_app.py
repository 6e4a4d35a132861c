"""``create_agent`` awaited in a bare ASGI app: the load test's floor under any service on the stack.

    python -m bench load --runtimes tiller,create-agent,create-agent-hitl …

What does a run cost in a service built on LangGraph and LangChain before any runtime of its own?
This app answers with the least a server can do around the graph LangGraph Server runs in the
same benchmark (``bench/peer_graph.py``: ``create_agent``, the domain's tools, ``ChatOpenAI``
streamed from the fake model, the approval interrupt, the call limits, card-number redaction — or,
for ``create-agent-hitl``, the approval interrupt alone): a Starlette app on uvicorn (uvloop,
httptools) that awaits the graph inside the request, with LangGraph's ``AsyncSqliteSaver`` for
checkpoints and the heap settled as ``tiller serve`` settles its own. Nothing else: no queue, no
run records, no authentication, rate limits, idempotency ledger, approval rows, guards, trace or
event hub. The load client speaks LangGraph Server's API to it (``bench/load_peer_client.py``) —
the subset those users send:

- ``POST /threads`` → ``{"thread_id"}`` (nothing is stored until the first run checkpoints);
- ``POST /threads/{id}/runs/wait`` → the thread's state after the run (``__interrupt__`` if paused);
- ``POST /threads/{id}/runs/stream`` → SSE, ``updates`` and ``messages`` events (stream modes
  ``updates`` and ``messages-tuple``), ``error`` if the run raised;
- a body's ``input`` starts a turn, its ``command.resume`` answers the pending interrupt;
- ``GET /ok``, and ``GET /metrics`` with the collector's ``tiller_gc_*`` (as Tiller's service).

Its CPU per run under load is what the stack costs by itself; Tiller's row over this one is what
Tiller's own machinery costs (docs/BENCHMARKS.md §9).

    python -m bench.create_agent_app --config agent.json --checkpoints checkpoints.sqlite --port 8123
"""

from __future__ import annotations

import argparse
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bench.peer_graph import PeerAgentConfig, build_agent

STREAM_MODES = {"updates": "updates", "messages-tuple": "messages", "messages": "messages", "values": "values"}
"""LangGraph Server's stream mode names → LangGraph's (``messages-tuple`` is LangGraph's ``messages``)."""


def _default(value: Any) -> Any:
    """orjson's fallback, as LangGraph Server serialises: pydantic models (messages) and dataclasses
    (interrupts) as their fields, anything else as its text."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def _json(value: Any, status: int = 200) -> Response:
    return Response(dumps(value), status_code=status, media_type="application/json")


def run_input(body: dict[str, Any]) -> Any:
    """The graph's input for a run body: a turn's ``input``, or a ``Command`` resuming an interrupt."""
    from langgraph.types import Command

    command = body.get("command")
    if isinstance(command, dict) and "resume" in command:
        return Command(resume=command["resume"])
    return body.get("input")


class CreateAgentApp:
    """The app's routes around one compiled graph with its checkpointer (set in the lifespan)."""

    def __init__(self, config: PeerAgentConfig, checkpoints: Path) -> None:
        self.config = config
        self.checkpoints = checkpoints
        self.graph: Any = None
        self.registry: Any = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
        from prometheus_client import CollectorRegistry

        from agent.interfaces.service.heap import settle_heap
        from agent.interfaces.service.metrics import gc_collector

        async with AsyncSqliteSaver.from_conn_string(str(self.checkpoints)) as saver:
            await saver.setup()
            self.graph = build_agent(self.config).copy(update={"checkpointer": saver})
            self.registry = CollectorRegistry()
            self.registry.register(gc_collector())
            settle_heap()
            yield

    def app(self) -> Starlette:
        routes = [
            Route("/ok", self.ok, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/threads", self.create_thread, methods=["POST"]),
            Route("/threads/{thread_id}/runs/wait", self.wait, methods=["POST"]),
            Route("/threads/{thread_id}/runs/stream", self.stream, methods=["POST"]),
        ]
        return Starlette(routes=routes, lifespan=self.lifespan)

    async def ok(self, request: Request) -> Response:
        return _json({"ok": True})

    async def metrics(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def create_thread(self, request: Request) -> Response:
        return _json({"thread_id": str(uuid.uuid4())})

    def _run_config(self, request: Request) -> dict[str, Any]:
        return {"configurable": {"thread_id": request.path_params["thread_id"]}}

    async def wait(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        try:
            values = await self.graph.ainvoke(run_input(body), self._run_config(request))
        except Exception as exc:  # the run's failure is the answer, as LangGraph Server gives it
            values = {"__error__": {"error": type(exc).__name__, "message": str(exc)}}
        return _json(values)

    async def stream(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        modes = body.get("stream_mode") or ["updates"]
        modes = [STREAM_MODES.get(m, m) for m in ([modes] if isinstance(modes, str) else modes)]
        events = self._events(run_input(body), self._run_config(request), modes)
        return StreamingResponse(events, media_type="text/event-stream")

    async def _events(self, graph_input: Any, config: dict[str, Any], modes: list[str]) -> AsyncIterator[bytes]:
        yield b"event: metadata\ndata: " + dumps({"run_id": str(uuid.uuid4())}) + b"\n\n"
        try:
            async for mode, chunk in self.graph.astream(graph_input, config, stream_mode=modes):
                yield b"event: " + mode.encode() + b"\ndata: " + dumps(chunk) + b"\n\n"
        except Exception as exc:
            yield b"event: error\ndata: " + dumps({"error": type(exc).__name__, "message": str(exc)}) + b"\n\n"


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.create_agent_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the PeerAgentConfig JSON the load test wrote")
    parser.add_argument("--checkpoints", type=Path, required=True, help="the SQLite file for LangGraph's checkpoints")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = CreateAgentApp(PeerAgentConfig.read(args.config), args.checkpoints).app()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
