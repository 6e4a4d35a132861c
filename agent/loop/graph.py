"""The graph: guard_input → call_model → plan_tools [runs allowed calls] → call_model … → finalize,
with plan_tools → request_approval → run_tools → call_model when a call waits for a reviewer.
Every node is ``async def``: the graph runs with ``ainvoke`` on the runtime's event loop.

Edges are declared by each node's return type (``Command[Literal[...]]``); this file only
registers the nodes. See ../shared/DESIGN.md, "The request path".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache, wraps
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphInterrupt
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent.loop.context import RunContext
from agent.loop.events import NodeEvent
from agent.loop.nodes.call_model import call_model
from agent.loop.nodes.finalize import finalize
from agent.loop.nodes.guard_input import guard_input
from agent.loop.nodes.plan_tools import plan_tools
from agent.loop.nodes.request_approval import request_approval
from agent.loop.nodes.run_tools import run_tools
from agent.loop.state import AgentState

AgentGraph = CompiledStateGraph[AgentState, RunContext, AgentState, AgentState]


def build_graph(checkpointer: BaseCheckpointSaver[str] | None) -> AgentGraph:
    """The graph with ``checkpointer``. Nodes take the runtime's dependencies from the run
    context (``RunContext.deps``), so every runtime of a process shares one compiled graph; a
    compile costs ~10 ms (LangGraph inspects every node for subgraphs), paid once, not per
    ``Tiller`` (an eval opens one per trial)."""
    return _compiled().copy(update={"checkpointer": checkpointer})


@cache
def _compiled() -> AgentGraph:
    graph = StateGraph(AgentState, context_schema=RunContext)
    for node in (guard_input, call_model, plan_tools, request_approval, run_tools, finalize):
        graph.add_node(node.__name__, _timed(node))  # type: ignore[call-overload]  # async (state, runtime) nodes: no overload spells it
    graph.add_edge(START, "guard_input")
    graph.add_edge("finalize", END)
    return graph.compile(name="tiller")


Node = Callable[[AgentState, Runtime[RunContext]], Awaitable[Any]]


def _timed(node: Node) -> Node:
    """``node``, announcing its start and end (``NodeEvent``) to the run's event sink
    (``RunContext.emit``), which the trace recorder turns into the node's span, and writing its
    own events (``runtime.stream_writer``) to the same sink, as each event happens."""
    name = node.__name__

    @wraps(node)  # keeps the signature and the Command[Literal[...]] return type LangGraph reads edges from
    async def run(state: AgentState, runtime: Runtime[RunContext]) -> Any:
        emit = runtime.context.emit
        emit(NodeEvent(phase="start", name=name))
        try:
            out = await node(state, runtime.override(stream_writer=emit))
        except GraphInterrupt:
            emit(NodeEvent(phase="end", name=name, interrupted=True))
            raise
        except Exception as exc:
            emit(NodeEvent(phase="end", name=name, error=f"{type(exc).__name__}: {exc}"[:300]))
            raise
        emit(NodeEvent(phase="end", name=name))
        return out

    return run
