"""LangChain tools in (any kind: sync, async-only, JSON-schema args, ToolException, artifacts)
through the real runtime, and Tiller tools out as LangChain ``BaseTool``s."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.tools import BaseTool, StructuredTool, ToolException, tool

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tools.contract import Risk, ToolContext
from tools.domain import load_domain
from tools.errors import ArgumentsInvalid, ToolError
from tools.langchain_in import UNKNOWN_RISK, from_langchain
from tools.policy import ApprovalPolicy, PolicyRule, Verdict
from tools.registry import ToolRegistry
from tools.validation import validate_args

CTX = ToolContext("acme", "u1", "t1", None, "tc_1_1_0")
CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "enum": ["Oslo", "Lima"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "station": {"type": "string", "pattern": "^[A-Z]{4}$"},
    },
    "required": ["city"],
}
effects: list[dict[str, Any]] = []


async def _forecast(city: str, days: int = 1, station: str | None = None) -> str:
    return f"{city}: sunny for {days} day(s)"


async_forecast = StructuredTool.from_function(
    coroutine=_forecast, name="get_forecast", description="Weather forecast for a city.", args_schema=CITY_SCHEMA
)


def _write_note(text: str) -> str:
    if text == "forbidden":
        raise ToolException("notes may not say 'forbidden'")
    effects.append({"note": text})
    return "noted"


write_note = StructuredTool.from_function(
    _write_note, name="write_note", description="Write a note.", handle_tool_error=True
)
write_note_unhandled = StructuredTool.from_function(
    _write_note, name="write_note_raw", description="Write a note (errors raised)."
)


@tool(response_format="content_and_artifact")
def search_files(query: str) -> tuple[str, dict[str, Any]]:
    """Search the files."""
    return f"2 files match {query}", {"paths": ["/a.txt", "/b.txt"]}


def test_a_json_schema_dict_becomes_an_enforced_args_model() -> None:
    spec = from_langchain(async_forecast, risk=Risk.READ)
    assert spec.args_schema() == CITY_SCHEMA  # the model sees the schema as declared
    assert validate_args(spec, {"city": "Oslo", "days": 3}).model_dump() == {"city": "Oslo", "days": 3}
    with pytest.raises(ArgumentsInvalid) as info:
        validate_args(spec, {"days": 9, "station": "abc"})
    assert {p.field for p in info.value.problems} == {"", "days", "station"}  # required, maximum, pattern
    with pytest.raises(ArgumentsInvalid, match="is not one of"):
        validate_args(spec, {"city": "Paris"})
    with pytest.raises(ValueError, match="required"):  # no path builds unchecked args
        spec.args_model.model_validate({})


def test_an_async_only_tool_runs_from_the_sync_path_and_natively() -> None:
    import asyncio

    spec = from_langchain(async_forecast, risk=Risk.READ)
    args = validate_args(spec, {"city": "Lima", "days": 2})
    assert spec.func(CTX, args).model_dump()["output"] == "Lima: sunny for 2 day(s)"
    assert spec.afunc is not None
    assert asyncio.run(spec.afunc(CTX, args)).model_dump()["output"] == "Lima: sunny for 2 day(s)"  # type: ignore[union-attr]


@pytest.mark.parametrize("lc", [write_note, write_note_unhandled], ids=["handle_tool_error", "raised"])
def test_a_tool_exception_is_an_error_the_model_reads(lc: BaseTool) -> None:
    spec = from_langchain(lc, risk=Risk.WRITE)
    with pytest.raises(ToolError, match="may not say 'forbidden'"):
        spec.func(CTX, validate_args(spec, {"text": "forbidden"}))


def test_an_artifact_is_kept_beside_the_content() -> None:
    spec = from_langchain(search_files, risk=Risk.READ)
    result = spec.func(CTX, validate_args(spec, {"query": "invoice"}))
    assert result.model_dump() == {"output": "2 files match invoice", "artifact": {"paths": ["/a.txt", "/b.txt"]}}
    assert spec.model_hidden == ("artifact",)


def test_a_tool_without_a_declared_risk_needs_a_reviewer() -> None:
    spec = from_langchain(write_note)
    assert spec.risk is UNKNOWN_RISK is Risk.HIGH_RISK and not spec.idempotent
    decision = ApprovalPolicy().decide(spec, validate_args(spec, {"text": "x"}), "support_agent")
    assert decision.verdict is Verdict.NEEDS_APPROVAL
    allowed = ApprovalPolicy(rules=(PolicyRule(tool="write_note", verdict=Verdict.ALLOW),))
    assert allowed.decide(spec, validate_args(spec, {"text": "x"}), "support_agent").verdict is Verdict.ALLOW


def _registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.register_langchain(async_forecast, risk=Risk.READ)
    registry.register_langchain(write_note, risk=Risk.WRITE)
    registry.register_langchain(search_files, risk=Risk.READ)
    return registry


def test_langchain_tools_run_through_the_runtime_with_their_semantics(settings: Settings) -> None:
    effects.clear()
    turns = [
        {
            "tool_calls": [
                {"name": "get_forecast", "args": {"city": "Oslo", "days": 2}},
                {"name": "get_forecast", "args": {"city": "Paris"}},
                {"name": "write_note", "args": {"text": "forbidden"}},
                {"name": "search_files", "args": {"query": "invoice"}},
            ]
        },
        "Done.",
    ]
    with Tiller(settings, registry=_registry(), model=ScriptedChatModel(turns)) as tiller:
        result = tiller.ask("forecast, note and search")
    assert result.status is RunStatus.COMPLETED
    forecast, invalid, note, search = sorted(result.trajectory, key=lambda c: c.id)
    assert forecast.status is CallStatus.EXECUTED
    assert forecast.result == {"output": "Oslo: sunny for 2 day(s)", "artifact": None}
    assert invalid.status is CallStatus.INVALID and invalid.error is not None
    assert invalid.error["kind"] == "invalid_arguments" and "Paris" in invalid.error["message"]
    assert note.status is CallStatus.ERROR and note.error is not None  # never "executed" for a failed write
    assert note.error["kind"] == "tool_error" and "forbidden" in note.error["message"]
    assert effects == []
    assert search.result is not None and search.result["artifact"] == {"paths": ["/a.txt", "/b.txt"]}


def _call(name: str, **args: Any) -> dict[str, Any]:
    return {"type": "tool_call", "name": name, "args": args, "id": "call_1"}


class _Recorder:
    """An invoker standing in for a runtime's entry point: records what it is asked to run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((tool, args))
        if args.get("text") == "wait":
            raise ToolError("write_note waits for a reviewer (approval ap_1)")
        return {"summary": f"{tool} ran"}


def test_exported_tools_delegate_every_call_to_the_invoker() -> None:
    recorder = _Recorder()
    exported = {t.name: t for t in _registry().as_langchain_tools(recorder)}
    assert sorted(exported) == ["get_forecast", "search_files", "write_note"]
    assert exported["write_note"].metadata == {"tiller_risk": "write", "tiller_idempotent": False}
    assert json.loads(exported["write_note"].invoke({"text": "hello"})) == {"summary": "write_note ran"}
    reply = exported["write_note"].invoke(
        {"type": "tool_call", "name": "write_note", "args": {"text": "wait"}, "id": "1"}
    )
    assert reply.status == "error" and "waits for a reviewer" in reply.content
    assert recorder.calls == [("write_note", {"text": "hello"}), ("write_note", {"text": "wait"})]


def test_without_a_runtime_reads_run_and_side_effects_are_refused() -> None:
    effects.clear()
    exported = {t.name: t for t in _registry().as_langchain_tools()}
    read = exported["get_forecast"].invoke({"city": "Oslo"})
    assert json.loads(read)["output"] == "Oslo: sunny for 1 day(s)"
    refused = exported["write_note"].invoke(
        {"type": "tool_call", "name": "write_note", "args": {"text": "x"}, "id": "1"}
    )
    assert refused.status == "error" and "runs only through a Tiller runtime" in refused.content
    invalid = exported["get_forecast"].invoke(
        {"type": "tool_call", "name": "get_forecast", "args": {"city": "Rome"}, "id": "2"}
    )
    assert invalid.status == "error" and "is not one of" in invalid.content
    assert effects == []


def test_a_database_tool_exported_without_a_database_says_what_it_needs() -> None:
    exported = {t.name: t for t in ToolRegistry(load_domain("commerce").tool_specs()).as_langchain_tools()}
    reply = exported["get_order"].invoke(
        {"type": "tool_call", "name": "get_order", "args": {"order_id": "W1000001"}, "id": "1"}
    )
    assert reply.status == "error"
    assert "called without one" in reply.content and "ReadOnlyInvoker(sessions=...)" in reply.content
