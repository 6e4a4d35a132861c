"""Tiller's own models stream, honour ``tool_choice``, and read names in any alphabet.

A streamed turn is the invoked turn cut into chunks: aggregating them gives the same content,
tool calls, usage and metadata; text comes in several pieces, tool-call arguments split across
chunks, usage once, on the last chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from agent.models import (
    Cassette,
    CassetteTurn,
    OfflineChatModel,
    ReplayChatModel,
    ScriptedChatModel,
    ToolChoiceViolated,
    save_cassette,
)
from agent.models.tokens import TokenRelay

REFUND = {"tool_calls": [{"name": "issue_refund", "args": {"order_id": "W1000001", "amount": "42.00"}, "id": "c1"}]}
PEOPLE_TOOL = {
    "type": "function",
    "function": {
        "name": "find_person",
        "description": "Find a person by their full name.",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    },
}


def _cassette(tmp_path: Path, *turns: CassetteTurn) -> Path:
    path = tmp_path / "t.cassette.yaml"
    save_cassette(path, Cassette(model="openai:gpt-4o-mini", turns=list(turns)))
    return path


def _models(tmp_path: Path) -> dict[str, BaseChatModel]:
    recorded = CassetteTurn(content="", tool_calls=[{"name": "get_order", "args": {"order_id": "W1000001"}}])
    return {
        "offline": OfflineChatModel(),
        "scripted": ScriptedChatModel(turns=[REFUND]),
        "replay": ReplayChatModel(_cassette(tmp_path, recorded)),
    }


def _aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


@pytest.mark.parametrize("kind", ["offline", "scripted", "replay"])
def test_a_streamed_turn_aggregates_to_the_invoked_one(
    kind: str, tmp_path: Path, schemas: list[dict[str, Any]]
) -> None:
    bound = _models(tmp_path)[kind].bind_tools(schemas)
    question = [HumanMessage("please refund order W1000001, it arrived damaged: $42")]
    whole = bound.invoke(question)
    chunks = list(bound.stream(question))
    full = _aggregate(chunks)
    assert whole.tool_calls and full.tool_calls == whole.tool_calls
    assert full.content == whole.content and full.usage_metadata == whole.usage_metadata
    assert full.response_metadata["model_name"] == whole.response_metadata["model_name"]
    pieces = [c for chunk in chunks for c in chunk.tool_call_chunks]
    assert len(pieces) > len(whole.tool_calls) + 1  # arguments arrive in several pieces
    assert [bool(c.usage_metadata) for c in chunks].count(True) == 1 and chunks[-1].usage_metadata
    assert chunks[-1].chunk_position == "last"


def test_text_streams_in_pieces_and_tokens_reach_a_callback_during_invoke() -> None:
    tokens: list[str] = []
    model = ScriptedChatModel(turns=["Your order W1000001 was delivered on 2 May."], streaming=True)
    reply = model.invoke([HumanMessage("where is W1000001?")], config={"callbacks": [TokenRelay(tokens.append)]})
    assert reply.content == "Your order W1000001 was delivered on 2 May."
    assert len(tokens) > 3 and "".join(tokens) == reply.content


def test_a_model_that_streams_content_blocks_relays_their_text() -> None:
    tokens: list[str] = []
    model = ScriptedChatModel(turns=["Your order was delivered on 2 May."], streaming=True, output_version="v1")
    model.invoke([HumanMessage("where is it?")], config={"callbacks": [TokenRelay(tokens.append)]})
    assert len(tokens) > 3 and "".join(tokens) == "Your order was delivered on 2 May."


async def test_astream_yields_the_same_chunks() -> None:
    model = ScriptedChatModel(turns=["Hello there, how can I help?"])
    chunks = [c async for c in model.astream([HumanMessage("hi")])]
    assert len(chunks) > 2 and _aggregate(chunks).content == "Hello there, how can I help?"


# -- tool_choice --------------------------------------------------------------------------------


def test_the_offline_model_honours_every_tool_choice(schemas: list[dict[str, Any]]) -> None:
    hello = [HumanMessage("hello!")]
    refund = [HumanMessage("please refund order W1000001, it arrived damaged: $42")]
    model = OfflineChatModel()
    assert model.bind_tools(schemas).invoke(hello).tool_calls == []  # auto: small talk is answered
    forced = model.bind_tools(schemas, tool_choice="any").invoke(hello)
    assert len(forced.tool_calls) == 1  # "any": some call, even for small talk
    named = model.bind_tools(schemas, tool_choice="create_ticket").invoke(hello)
    assert [c["name"] for c in named.tool_calls] == ["create_ticket"]
    assert model.bind_tools(schemas, tool_choice="required").invoke(refund).tool_calls
    held = model.bind_tools(schemas, tool_choice="none").invoke(refund)
    assert held.tool_calls == [] and held.content  # "none": an answer in words, never a call
    with pytest.raises(ValueError, match="names no bound tool"):
        model.bind_tools(schemas, tool_choice="drop_tables")


@pytest.mark.parametrize(
    ("turn", "choice", "problem"),
    [
        ("Sure.", "any", "calls no tool"),
        (REFUND, "none", "only no tools may be called"),
        (REFUND, "get_order", "only \\['get_order'\\] may be called"),
    ],
)
def test_a_script_that_contradicts_tool_choice_fails_loudly(
    turn: Any, choice: str, problem: str, schemas: list[dict[str, Any]]
) -> None:
    model = ScriptedChatModel(turns=[turn]).bind_tools(schemas, tool_choice=choice)
    with pytest.raises(ToolChoiceViolated, match=problem):
        model.invoke([HumanMessage("refund W1000001")])


def test_a_responder_is_told_what_tool_choice_demands(schemas: list[dict[str, Any]]) -> None:
    seen: list[Any] = []

    def respond(messages: Any, tools: list[dict[str, Any]], tool_choice: str | None) -> dict[str, Any]:
        seen.append((tool_choice, [t["function"]["name"] for t in tools]))
        return {"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000001"}}]}

    ScriptedChatModel(respond).bind_tools(schemas, tool_choice="get_order").invoke([HumanMessage("x")])
    assert seen == [("get_order", ["get_order"])]


def test_a_recording_that_contradicts_tool_choice_names_the_cassette(
    tmp_path: Path, schemas: list[dict[str, Any]]
) -> None:
    model = ReplayChatModel(_cassette(tmp_path, CassetteTurn(content="Hello!")))
    with pytest.raises(ToolChoiceViolated, match=r"t\.cassette\.yaml: recorded turn 1"):
        model.bind_tools(schemas, tool_choice="any").invoke([HumanMessage("hi")])


def test_the_replay_model_has_the_recorded_model_name(tmp_path: Path) -> None:
    model = ReplayChatModel(_cassette(tmp_path, CassetteTurn(content="Hello!")))
    assert model.model_name == "openai:gpt-4o-mini"
    assert model.invoke("hi").response_metadata["model_name"] == "openai:gpt-4o-mini"
    assert model._identifying_params["model_name"] == "openai:gpt-4o-mini"


# -- names in any alphabet ------------------------------------------------------------------------

NAMES: list[tuple[str, str]] = [
    ("Please find the person José Müller", "José Müller"),
    ("find the person Zoë Ångström-Berg for me", "Zoë Ångström-Berg"),
    ("find the person named '你好啊集团'", "你好啊集团"),
    ("find the person called “Дмитрий Иванов”", "Дмитрий Иванов"),
]


@pytest.mark.parametrize(("text", "name"), NAMES)
def test_person_names_are_read_in_any_alphabet(text: str, name: str) -> None:
    reply: Callable[..., AIMessage] = OfflineChatModel().bind_tools([PEOPLE_TOOL]).invoke
    assert reply([HumanMessage(text)]).tool_calls[0]["args"] == {"name": name}
