"""ScriptedChatModel: turns by index, recorded inputs, a clear error when the script runs out."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.models import ScriptedChatModel, ScriptExhausted
from tools.envelope import tool_result_message

LOOKUP = {"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000001"}}]}


def test_turns_play_in_order_as_ai_messages(schemas: list[dict[str, Any]]) -> None:
    model = ScriptedChatModel([LOOKUP, "Delivered."])
    bound = model.bind_tools(schemas)
    first = bound.invoke([HumanMessage("where is W1000001?")])
    assert first.tool_calls == [
        {"name": "get_order", "args": {"order_id": "W1000001"}, "id": first.tool_calls[0]["id"], "type": "tool_call"}
    ]
    assert first.tool_calls[0]["id"] is None  # the script gave none: a script sends what it holds
    history = [HumanMessage("where is W1000001?"), first, tool_result_message("get_order", "x", {"a": 1})]
    second = bound.invoke(history)
    assert (second.content, second.tool_calls) == ("Delivered.", [])
    assert second.usage_metadata is not None and second.usage_metadata["total_tokens"] > 0


def test_the_turn_is_chosen_by_the_ai_messages_already_in_the_input() -> None:
    model = ScriptedChatModel(["first", "second"])
    resumed = [HumanMessage("hi"), AIMessage("earlier"), HumanMessage("again")]
    assert model.invoke(resumed).content == "second"
    assert model.invoke(resumed).content == "second"  # a re-call for the same step replays it
    assert model.invoke([HumanMessage("hi")]).content == "first"


def test_calls_record_messages_and_bound_tool_names(schemas: list[dict[str, Any]]) -> None:
    model = ScriptedChatModel(["ok", "ok"])
    model.bind_tools(schemas[:2]).invoke([HumanMessage("a")])
    model.invoke([HumanMessage("a"), AIMessage("x"), HumanMessage("b")])
    assert [c.tools for c in model.calls] == [["get_order", "list_orders"], []]
    assert [c.turn for c in model.calls] == [0, 1]
    assert model.calls[1].messages[-1].content == "b"


def test_ai_messages_in_the_script_keep_their_ids_and_none_is_invented() -> None:
    """The runtime names calls itself (agent.loop.identity): the model sends ids as scripted."""
    scripted = AIMessage(content="", tool_calls=[{"name": "get_order", "args": {}, "id": "keep-me"}])
    unnamed = AIMessage(content="", tool_calls=[{"name": "get_order", "args": {}, "id": None}])
    model = ScriptedChatModel([scripted, unnamed])
    assert model.invoke([HumanMessage("a")]).tool_calls[0]["id"] == "keep-me"
    assert model.invoke([HumanMessage("a"), AIMessage("x")]).tool_calls[0]["id"] is None


def test_running_out_of_script_names_the_turn() -> None:
    model = ScriptedChatModel(["only"])
    with pytest.raises(ScriptExhausted, match=r"has 1 turn\(s\) but turn 2 was requested .*human: 'more\?'"):
        model.invoke([HumanMessage("hi"), AIMessage("only"), HumanMessage("more?")])


def test_a_function_answers_every_turn_with_messages_and_tools(schemas: list[dict[str, Any]]) -> None:
    seen: list[tuple[int, list[str]]] = []

    def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> dict[str, Any]:
        seen.append((len(messages), [t["function"]["name"] for t in tools]))
        return {"content": f"{len(messages)} messages"}

    model = ScriptedChatModel(respond).bind_tools(schemas[:1])
    assert model.invoke([HumanMessage("a")]).content == "1 messages"
    assert seen == [(1, ["get_order"])]


def test_an_awaited_turn_runs_on_the_event_loop_not_a_worker_thread() -> None:
    import asyncio
    import threading

    from agent.models import ToolBindingChatModel
    from agent.models.llamacpp.model import LlamaCppChatModel
    from agent.models.offline.model import OfflineChatModel

    seen: list[int] = []

    def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        seen.append(threading.get_ident())
        return "done"

    async def ask() -> tuple[str, int]:
        reply = await ScriptedChatModel(respond=respond).ainvoke([HumanMessage("hi")])
        return str(reply.content), threading.get_ident()

    answer, loop_thread = asyncio.run(ask())
    assert answer == "done" and seen == [loop_thread]  # no hop to a thread and back per model call
    assert OfflineChatModel.generates_in_place is True
    # A model of your own may do I/O in _generate, llama.cpp long native work: a worker thread.
    assert ToolBindingChatModel.generates_in_place is False and LlamaCppChatModel.generates_in_place is False
