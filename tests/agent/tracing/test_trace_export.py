"""Trace export to LangSmith and OTLP, checked against a local receiver (never the internet)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agent.config import Settings
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from agent.tracing.export import exporters_from_env
from tests.fakes.collector import collector

TURNS = [{"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000002"}}]}, "card 4111 1111 1111 1111 is fine"]


def test_nothing_is_exported_unless_configured() -> None:
    assert exporters_from_env({}) == []
    assert exporters_from_env({"LANGSMITH_TRACING": "true"}) == []  # no key: still off


def test_langsmith_receives_the_run_tree(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with collector() as receiver:
        monkeypatch.setenv("LANGSMITH_TRACING", "true")
        monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test-key")
        monkeypatch.setenv("LANGSMITH_ENDPOINT", receiver.url)
        monkeypatch.setenv("LANGSMITH_PROJECT", "tiller-tests")
        with Tiller(settings, model=ScriptedChatModel(TURNS)) as tiller:
            result = tiller.ask("where is W1000002?")
    runs: list[dict[str, Any]] = [r.json() for r in receiver.requests if r.method == "POST" and r.path == "/runs"]
    by_id = {r["id"]: r for r in runs}
    [root] = [r for r in runs if not r.get("parent_run_id")]
    assert root["name"] == "tiller.ask" and root["session_name"] == "tiller-tests"
    assert root["extra"]["metadata"]["tiller_run_id"] == result.run_id
    nodes = [r["name"] for r in runs if r.get("parent_run_id") == root["id"]]
    assert nodes == ["guard_input", "call_model", "plan_tools", "call_model", "finalize"]
    [tool] = [r for r in runs if r["run_type"] == "tool"]  # run by plan_tools: nothing waited for approval
    assert tool["name"] == "get_order" and by_id[tool["parent_run_id"]]["name"] == "plan_tools"
    assert [by_id[r["parent_run_id"]]["name"] for r in runs if r["run_type"] == "llm"] == ["call_model"] * 2
    assert all("4111 1111 1111 1111" not in r.body.decode() for r in receiver.requests)


def test_otlp_collector_receives_spans(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with collector() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        with Tiller(settings, model=ScriptedChatModel(TURNS)) as tiller:
            result = tiller.ask("where is W1000002?")
    spans = []
    for request in receiver.requests:
        assert request.path == "/v1/traces"
        message = ExportTraceServiceRequest()
        message.ParseFromString(request.body)
        spans += [s for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans]
    names = {s.name for s in spans}
    assert {"tiller.ask", "node.call_model", "node.plan_tools", "tool.get_order", "model.scripted"} <= names
    root = next(s for s in spans if s.name == "tiller.ask")
    attrs = {a.key: a.value for a in root.attributes}
    assert attrs["tiller.run_id"].string_value == result.run_id
    tool = next(s for s in spans if s.name == "tool.get_order")
    plan_tools = next(s for s in spans if s.name == "node.plan_tools")
    assert tool.parent_span_id == plan_tools.span_id and plan_tools.parent_span_id == root.span_id
    assert all(b"4111 1111 1111 1111" not in r.body for r in receiver.requests)
