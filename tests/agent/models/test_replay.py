"""Cassettes: record a model's turns, replay them exactly, and fail clearly on bad files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.models import (
    Cassette,
    CassetteError,
    CassetteRecorder,
    CassetteTurn,
    OfflineChatModel,
    ReplayChatModel,
    ScriptedChatModel,
    load_cassette,
    save_cassette,
)
from tools.envelope import tool_result_message

ORDER = {"order_id": "W1000001", "status": "delivered", "refundable_amount": "42.00"}


def run(model: Any, schemas: list[dict[str, Any]]) -> list[BaseMessage]:
    """A lookup-then-answer conversation; returns every message."""
    bound = model.bind_tools(schemas)
    messages: list[BaseMessage] = [HumanMessage("where is my order W1000001?")]
    lookup = bound.invoke(messages)
    messages += [lookup, tool_result_message("get_order", lookup.tool_calls[0]["id"], ORDER)]
    messages.append(bound.invoke(messages))
    return messages


def test_recorded_turns_replay_identically(tmp_path: Path, schemas: list[dict[str, Any]]) -> None:
    path = tmp_path / "cassettes" / "lookup.yaml"
    recorded = run(CassetteRecorder(OfflineChatModel(), path, model="offline"), schemas)
    cassette = load_cassette(path)
    assert cassette.model == "offline" and len(cassette.turns) == 2
    assert cassette.turns[0].tool_calls[0].name == "get_order"

    replayed = run(ReplayChatModel(path), schemas)
    for before, after in zip(recorded[1::2], replayed[1::2], strict=True):
        assert isinstance(before, AIMessage) and isinstance(after, AIMessage)
        assert (after.content, after.tool_calls) == (before.content, before.tool_calls)
        assert after.usage_metadata == before.usage_metadata


def test_recording_again_from_an_earlier_turn_drops_the_later_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    recorder = CassetteRecorder(ScriptedChatModel(["one", "two", "again"]), path)
    recorder.invoke([HumanMessage("a")])
    recorder.invoke([HumanMessage("a"), AIMessage("one"), HumanMessage("b")])
    assert [t.content for t in load_cassette(path).turns] == ["one", "two"]
    CassetteRecorder(ScriptedChatModel(["fresh"]), path).invoke([HumanMessage("a")])
    assert [t.content for t in load_cassette(path).turns] == ["fresh"]


class ProviderLikeModel(ScriptedChatModel):
    """A scripted model that, like a provider's, does not accept Tiller's tool extensions."""

    accepts_tiller_extensions: ClassVar[bool] = False


def test_the_recorder_strips_extensions_for_an_inner_model_that_rejects_them(
    tmp_path: Path, schemas: list[dict[str, Any]]
) -> None:
    seen: list[dict[str, Any]] = []

    def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        seen.extend(tools)
        return "ok"

    CassetteRecorder(ProviderLikeModel(respond), tmp_path / "c.yaml").bind_tools(schemas[:1]).invoke(
        [HumanMessage("a")]
    )
    assert [t["function"]["name"] for t in seen] == ["get_order"] and "x-tiller" not in seen[0]


def test_the_recorder_records_async_calls_too(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    reply = asyncio.run(CassetteRecorder(ScriptedChatModel(["async"]), path).ainvoke([HumanMessage("a")]))
    assert reply.content == "async" and load_cassette(path).turns[0].content == "async"


def test_replay_keeps_recorded_ids_and_usage(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nmodel: openai:gpt-4o-mini\nturns:\n"
        "  - tool_calls: [{name: get_order, args: {order_id: W1000001}, id: call_abc}]\n"
        "    usage: {input_tokens: 812, output_tokens: 19, total_tokens: 831}\n"
    )
    reply = ReplayChatModel(cassette_path=path).invoke([HumanMessage("where is W1000001?")])
    assert reply.tool_calls[0]["id"] == "call_abc"
    assert reply.usage_metadata == {"input_tokens": 812, "output_tokens": 19, "total_tokens": 831}
    assert reply.response_metadata["model_name"] == "openai:gpt-4o-mini"


def test_an_exhausted_cassette_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "short.yaml"
    save_cassette(path, Cassette(model="offline", turns=[CassetteTurn(content="only")]))
    model = ReplayChatModel(path)
    with pytest.raises(CassetteError, match=r"short\.yaml: cassette exhausted: it holds 1 turn\(s\) but turn 2"):
        model.invoke([HumanMessage("a"), AIMessage("only"), HumanMessage("b")])


def test_a_missing_cassette_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"nope\.yaml: cassette not found"):
        ReplayChatModel(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\nturns: [\n", r"not valid YAML at line \d"),
        ("- just a list\n", "must be a mapping"),
        ("version: 2\nturns: []\n", "malformed cassette: version"),
        ("version: 1\nturns:\n  - tool_calls: [{args: {}}]\n", r"malformed cassette: turns\.0\.tool_calls\.0\.name"),
        ("version: 1\nturns:\n  - contents: typo\n", r"turns\.0\.contents: Extra inputs"),
    ],
)
def test_a_malformed_cassette_is_an_error_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CassetteError, match=rf"bad\.yaml: .*{problem}"):
        load_cassette(path)
