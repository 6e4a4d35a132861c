"""The graph: guard_input → call_model → plan_tools [runs allowed calls] → call_model … → finalize,
with plan_tools → request_approval → run_tools → call_model when a call waits for a reviewer.

Edges are declared by each node's return type (``Command[Literal[...]]``); this file only
registers the nodes. See ../shared/DESIGN.md, "The request path".
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.breakers import BreakerBoard
from agent.nodes.call_model import make_call_model
from agent.nodes.deps import AgentDeps, RunContext
from agent.nodes.finalize import finalize
from agent.nodes.guard_input import guard_input
from agent.nodes.plan_tools import make_plan_tools
from agent.nodes.request_approval import request_approval
from agent.nodes.run_tools import make_run_tools
from agent.state import AgentState

AgentGraph = CompiledStateGraph[AgentState, RunContext, AgentState, AgentState]


def build_graph(deps: AgentDeps, checkpointer: BaseCheckpointSaver[str] | None) -> AgentGraph:
    graph = StateGraph(AgentState, context_schema=RunContext)
    tool_breakers = BreakerBoard()  # one breaker per tool backend, whichever node runs the call
    graph.add_node("guard_input", guard_input)
    graph.add_node("call_model", make_call_model(deps))
    graph.add_node("plan_tools", make_plan_tools(deps, tool_breakers))
    graph.add_node("request_approval", request_approval)
    graph.add_node("run_tools", make_run_tools(deps, tool_breakers))
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "guard_input")
    graph.add_edge("finalize", END)
    return graph.compile(checkpointer=checkpointer, name="tiller")
