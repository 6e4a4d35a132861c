"""The four runtimes under test, each behind the same small interface (:class:`AgentRunner`).

1. ``floor`` — a plain Python loop doing the same message and tool work (no runtime at all);
2. ``langgraph`` — a minimal hand-written ``StateGraph``: a model node and a ``ToolNode``;
3. ``create_agent`` — LangChain's ``create_agent`` with human-in-the-loop (never triggered),
   model-call and tool-call limits and PII redaction middleware;
4. ``tiller`` — ``Tiller.ask`` with its default guards, validation, policy, ledger and tracing.

Each ``run(steps)`` plays one whole conversation on a new thread and returns how many tool
results it produced (the benchmark checks this equals ``steps``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Literal, Protocol

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agent.config import Limits, Settings
from agent.loop.context import Caller
from agent.loop.graph import build_graph
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from bench import toolkit
from bench.peer_graph import nearest_middleware
from tools.policy import ApprovalPolicy

Durability = Literal["sync", "async", "exit"]
RUNTIMES = ("floor", "langgraph", "create_agent", "tiller")
# Generous limits: the benchmark runs up to 20 tool steps; no limit may end a run early.
BENCH_LIMITS = Limits(max_steps=64, max_tool_calls=64, max_calls_per_tool=64, max_tokens=10_000_000)
MAX_MODEL_CALLS = 64


class AgentRunner(Protocol):
    name: str
    saver: BaseCheckpointSaver[str] | None

    def run(self, steps: int) -> int: ...

    def close(self) -> None: ...


def _thread() -> str:
    return "b_" + uuid.uuid4().hex[:12]


def _recursion_limit(steps: int) -> int:
    return 8 * steps + 20


class FloorRunner:
    """A plain loop: call the bound model, run the requested tools, append the results."""

    name = "floor"
    saver = None

    def __init__(self) -> None:
        self.model = toolkit.scripted_model()
        self.bound = self.model.bind_tools(toolkit.langchain_tools())

    def run(self, steps: int) -> int:
        messages: list[BaseMessage] = [SystemMessage(toolkit.PROMPT), HumanMessage(toolkit.request(steps))]
        results = 0
        while True:
            reply = self.bound.invoke(messages)
            messages.append(reply)
            if not isinstance(reply, AIMessage) or not reply.tool_calls:
                break
            for call in reply.tool_calls:
                output = toolkit.PLAIN_TOOLS[call["name"]](**call["args"])
                messages.append(ToolMessage(content=str(output), tool_call_id=call["id"], name=call["name"]))
                results += 1
        self.model.calls.clear()
        return results

    def close(self) -> None:
        pass


class LangGraphRunner:
    """The bare runtime: ``StateGraph(MessagesState)`` with a model node and a ``ToolNode``."""

    name = "langgraph"

    def __init__(self, saver: BaseCheckpointSaver[str] | None, durability: Durability = "sync") -> None:
        self.saver = saver
        # Durability only means something with a checkpointer (LangGraph warns otherwise).
        self.options: dict[str, Any] = {"durability": durability} if saver is not None else {}
        self.model = toolkit.scripted_model()
        tools = toolkit.langchain_tools()
        bound = self.model.bind_tools(tools)

        def call_model(state: MessagesState) -> dict[str, Any]:
            return {"messages": [bound.invoke([SystemMessage(toolkit.PROMPT), *state["messages"]])]}

        graph = StateGraph(MessagesState)
        graph.add_node("model", call_model)
        graph.add_node("tools", ToolNode(tools))
        graph.add_edge(START, "model")
        graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
        graph.add_edge("tools", "model")
        self.graph = graph.compile(checkpointer=saver)

    def run(self, steps: int) -> int:
        config = {"configurable": {"thread_id": _thread()}, "recursion_limit": _recursion_limit(steps)}
        out = self.graph.invoke({"messages": [HumanMessage(toolkit.request(steps))]}, config, **self.options)
        self.model.calls.clear()
        return sum(1 for m in out["messages"] if isinstance(m, ToolMessage))

    def close(self) -> None:
        pass


class CreateAgentRunner:
    """LangChain's ``create_agent`` with the middleware nearest to Tiller's defaults."""

    name = "create_agent"

    def __init__(self, saver: BaseCheckpointSaver[str] | None, durability: Durability = "sync") -> None:
        self.saver = saver
        # Durability only means something with a checkpointer (LangGraph warns otherwise).
        self.options: dict[str, Any] = {"durability": durability} if saver is not None else {}
        self.model = toolkit.scripted_model()
        # Review configured for a high-risk tool this workload never calls: inspected, not triggered.
        middleware = nearest_middleware(["issue_refund"], MAX_MODEL_CALLS, MAX_MODEL_CALLS)
        self.graph = create_agent(
            self.model,
            toolkit.langchain_tools(),
            system_prompt=toolkit.PROMPT,
            middleware=middleware,
            checkpointer=saver,
        )

    def run(self, steps: int) -> int:
        config = {"configurable": {"thread_id": _thread()}, "recursion_limit": _recursion_limit(steps)}
        out = self.graph.invoke({"messages": [HumanMessage(toolkit.request(steps))]}, config, **self.options)
        self.model.calls.clear()
        return sum(1 for m in out["messages"] if isinstance(m, ToolMessage))

    def close(self) -> None:
        pass


def open_tiller(
    home: Path, saver: BaseCheckpointSaver[str] | None, model: ScriptedChatModel, database_url: str | None = None
) -> Tiller:
    """A ``Tiller`` on the three benchmark tools; ``saver=None`` lets it open its own (SQLite or
    PostgreSQL, as it does in production)."""
    settings = Settings(home=home, database_url=database_url, retrieval_mode="bm25", policy_file=None)
    return Tiller(
        settings,
        model=model,
        registry=toolkit.tiller_registry(),
        policy=ApprovalPolicy(),
        limits=BENCH_LIMITS,
        checkpointer=saver,
    )


class TillerRunner:
    """``Tiller.ask``: guards, validation, policy, ledger, thread lease, tracing, durable steps."""

    name = "tiller"

    def __init__(self, home: Path, saver: BaseCheckpointSaver[str] | None, database_url: str | None = None) -> None:
        self.model = toolkit.scripted_model()
        self.tiller = open_tiller(home, saver, self.model, database_url)
        self.saver = self.tiller.graph.checkpointer  # type: ignore[assignment]

    def run(self, steps: int) -> int:
        result = self.tiller.ask(toolkit.request(steps), thread_id=_thread())
        self.model.calls.clear()
        if result.status is not RunStatus.COMPLETED:
            raise RuntimeError(f"tiller run ended {result.status}: {result.error or result.answer}")
        return len(result.executed_calls)

    def close(self) -> None:
        self.tiller.close()


class TillerGraphRunner:
    """Tiller's compiled graph without a checkpointer: the same nodes (guards, validation,
    policy, ledger) invoked directly, without ``ask``'s thread lease, state reads and trace
    store — which all need persistence. Approvals cannot pause such a graph."""

    name = "tiller"
    saver = None

    def __init__(self, home: Path) -> None:
        self.model = toolkit.scripted_model()
        self.tiller = open_tiller(home, InMemorySaver(), self.model)
        self.graph = build_graph(None)

    def run(self, steps: int) -> int:
        caller = Caller(tenant="acme", user="agent.demo", thread=_thread())
        ctx = self.tiller.runs.context(caller, BENCH_LIMITS)
        payload = {
            "messages": [HumanMessage(toolkit.request(steps))],
            **{"turn": 1, "planned": [], "steps": 0, "input_tokens": 0, "output_tokens": 0, "invalid_args": 0},
        }
        run = self.graph.ainvoke(payload, {"recursion_limit": _recursion_limit(steps)}, context=ctx)
        out = self.tiller.run_coroutine(run)
        self.model.calls.clear()
        return sum(1 for c in out.get("trajectory", []) if c.get("status") == "executed")

    def close(self) -> None:
        self.tiller.close()
