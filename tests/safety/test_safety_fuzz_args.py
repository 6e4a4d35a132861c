"""Property: arbitrary JSON from the model never crashes the loop and never runs an invalid call.

The model's tool calls carry any JSON: objects become ``tool_calls`` (with keys that are partly
the tools' own field names, so some of them validate), anything else becomes an
``invalid_tool_call`` as a provider adapter would report it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tools.validation import validate_args

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a dev dependency (pip install -e '.[dev]')")
st = hypothesis.strategies

TOOLS = ["get_order", "find_customer", "list_orders", "create_ticket", "update_shipping_address", "cancel_order"]
TOOLS += ["issue_refund", "search_knowledge_base"]
FIELDS = ["order_id", "customer_id", "email", "name", "amount", "reason", "query", "top_k", "status", "subject"]
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
SCALARS |= st.sampled_from(["W1000001", "C000001", "10.00", "damaged", "jane.doe@example.com"])
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
ARGS = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), JSON, max_size=5) | JSON
CALLS = st.lists(st.tuples(st.sampled_from(TOOLS) | st.text(max_size=20), ARGS), min_size=1, max_size=3)


def _turn(calls: list[tuple[str, Any]], n: int) -> AIMessage:
    good = [
        {"name": name, "args": args, "id": f"c{n}-{i}"}
        for i, (name, args) in enumerate(calls)
        if isinstance(args, dict)
    ]
    bad = [
        {"name": name, "args": json.dumps(args), "id": f"b{n}-{i}", "error": "arguments are not an object"}
        for i, (name, args) in enumerate(calls)
        if not isinstance(args, dict)
    ]
    return AIMessage(content="", tool_calls=good, invalid_tool_calls=bad)


def test_arbitrary_arguments_never_crash_and_never_run_invalid(settings: Settings) -> None:
    current: list[list[tuple[str, Any]]] = [[]]

    def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
        first = not any(isinstance(m, AIMessage) for m in messages)
        return _turn(current[0], len(messages)) if first and tools else "Done."

    with Tiller(settings, model=ScriptedChatModel(respond), checkpointer=InMemorySaver()) as tiller:

        @hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
        @hypothesis.given(calls=CALLS)
        def check(calls: list[tuple[str, Any]]) -> None:
            current[0] = calls
            result = tiller.ask("do it")
            assert result.status in (RunStatus.COMPLETED, RunStatus.AWAITING_APPROVAL, RunStatus.LIMIT_REACHED)
            for record in result.trajectory:
                spec = tiller.registry.get(record.tool)
                if record.status in (CallStatus.EXECUTED, CallStatus.REPLAYED, CallStatus.PENDING_APPROVAL):
                    assert spec is not None
                    validate_args(spec, record.args)  # raises if an invalid call got through
                    assert not (spec.risk.value == "high_risk" and record.status is CallStatus.EXECUTED)

        check()
