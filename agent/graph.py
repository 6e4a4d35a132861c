"""The graph: guard_input → call_model → plan_tools [runs allowed calls] → call_model … → finalize,
with plan_tools → request_approval → run_tools → call_model when a call waits for a reviewer.

Edges are declared by each node's return type (``Command[Literal[...]]``); this file only
registers the nodes. See ../shared/DESIGN.md, "The request path".
"""

from __future__ import annotations

from functools import cache

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.nodes.call_model import call_model
from agent.nodes.deps import RunContext
from agent.nodes.finalize import finalize
from agent.nodes.guard_input import guard_input
from agent.nodes.plan_tools import plan_tools
from agent.nodes.request_approval import request_approval
from agent.nodes.run_tools import run_tools
from agent.state import AgentState

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
    graph.add_node("guard_input", guard_input)
    graph.add_node("call_model", call_model)
    graph.add_node("plan_tools", plan_tools)
    graph.add_node("request_approval", request_approval)
    graph.add_node("run_tools", run_tools)
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "guard_input")
    graph.add_edge("finalize", END)
    return graph.compile(name="tiller")
