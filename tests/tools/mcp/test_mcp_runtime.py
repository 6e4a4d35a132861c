"""MCP tools through the real runtime: a read runs, a destructive call waits for a reviewer and
runs once after it however often it is resumed, an idempotent write gets the ledger's key, a dead
server is a clear tool error and then an open breaker, and a restarted server is picked up."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from agent.config import Settings
from agent.loop.state import CallStatus, RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tests.tools.mcp.conftest import HttpProcess, effects, http_config, stdio_config
from tools.contract import Risk
from tools.db import make_engine
from tools.ledger import ToolEffect
from tools.mcp import McpConfig, McpTools
from tools.registry import ToolRegistry


def _call(tool: str, **args: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": tool, "args": args}]}


@contextmanager
def _runtime(settings: Settings, config: McpConfig, turns: list[Any]) -> Iterator[Tiller]:
    with (
        McpTools(config) as mcp,
        Tiller(settings, registry=ToolRegistry(mcp.specs()), model=ScriptedChatModel(turns)) as tiller,
    ):
        yield tiller


def test_the_annotations_decide_each_tools_risk(server_config: Callable[..., McpConfig]) -> None:
    with McpTools(server_config()) as mcp:
        specs = {s.name: s for s in mcp.specs()}
    assert {n: (s.risk, s.idempotent) for n, s in specs.items()} == {
        "lookup_item": (Risk.READ, True),
        "delete_item": (Risk.HIGH_RISK, False),  # deleteItem on the server: destructiveHint
        "tag_item": (Risk.WRITE, True),  # destructiveHint false, idempotentHint true
        "count_items": (Risk.READ, True),
        "refuse_item": (Risk.HIGH_RISK, False),  # no annotations: unknown, so a reviewer decides
    }
    assert "idempotency_key" not in specs["tag_item"].args_schema()["properties"]  # the runtime's, not the model's
    assert all("backend:mcp-warehouse" in s.tags for s in specs.values())


def test_a_read_tool_runs_and_its_text_reaches_the_model(
    settings: Settings, server_config: Callable[..., McpConfig], effects_log: Path
) -> None:
    turns = [_call("lookup_item", item_id="I-7"), "Item I-7 is a blue widget."]
    with _runtime(settings, server_config(), turns) as tiller:
        result = tiller.ask("what is item I-7?")
    assert result.status is RunStatus.COMPLETED
    [call] = result.trajectory
    assert (call.tool, call.status) == ("lookup_item", CallStatus.EXECUTED)
    assert call.result is not None and "blue widget" in call.result["text"]
    assert [e["item_id"] for e in effects(effects_log, "lookup")] == ["I-7"]


def test_a_destructive_tool_waits_for_approval_and_runs_once(
    settings: Settings, server_config: Callable[..., McpConfig], effects_log: Path
) -> None:
    turns = [_call("delete_item", item_id="I-9"), "Item I-9 is deleted."]
    with _runtime(settings, server_config(), turns) as tiller:
        waiting = tiller.ask("delete item I-9")
        assert waiting.status is RunStatus.AWAITING_APPROVAL
        assert effects(effects_log, "delete") == []  # nothing is sent before a reviewer decides
        [approval] = waiting.pending_approvals
        assert approval.tool == "delete_item" and approval.args == {"item_id": "I-9"}
        tiller.decide(approval.id, decision="approve", decided_by="rita")
        done = tiller.resume(waiting.thread_id)
        again = tiller.resume(waiting.thread_id)
    assert done.status is RunStatus.COMPLETED and again.status is RunStatus.COMPLETED
    assert [c.status for c in done.trajectory] == [CallStatus.EXECUTED]
    [deleted] = effects(effects_log, "delete")  # once, however often the thread is resumed
    engine = make_engine(settings.db_url)
    with engine.connect() as conn:
        ledger_keys = conn.execute(select(ToolEffect.key).where(ToolEffect.tool == "delete_item")).scalars().all()
    engine.dispose()
    assert ledger_keys == [deleted["key"]]  # the server received the ledger's own idempotency key


def test_an_idempotent_write_runs_without_approval_and_gets_the_key_as_its_argument(
    settings: Settings, server_config: Callable[..., McpConfig], effects_log: Path
) -> None:
    turns = [_call("tag_item", item_id="I-3", tag="fragile"), "Tagged."]
    with _runtime(settings, server_config(), turns) as tiller:
        result = tiller.ask("tag I-3 as fragile")
    assert result.status is RunStatus.COMPLETED
    assert [c.status for c in result.trajectory] == [CallStatus.EXECUTED]
    [tagged] = effects(effects_log, "tag")
    assert tagged["tag"] == "fragile" and len(tagged["key"]) == 64


def test_a_tool_error_reaches_the_model_as_an_error(settings: Settings, effects_log: Path) -> None:
    config = stdio_config(effects_log, risk={"refuse_item": Risk.READ})  # the servers file overrides the risk
    turns = [_call("refuse_item", item_id="I-1"), "That item cannot be handled."]
    with _runtime(settings, config, turns) as tiller:
        result = tiller.ask("handle item I-1")
    [call] = result.trajectory
    assert call.status is CallStatus.ERROR and call.error is not None
    assert call.error["kind"] == "tool_error" and "cannot be handled" in call.error["message"]


def test_a_killed_server_is_a_clear_error_then_an_open_breaker(
    settings: Settings, http_server: HttpProcess, effects_log: Path
) -> None:
    asks = 7
    turns: list[Any] = []
    for i in range(asks):
        turns += [_call("lookup_item", item_id=f"I-{i}"), "Sorry, the warehouse is unavailable."]
    with _runtime(settings, http_config(http_server.url, connect_timeout_s=3), turns) as tiller:
        http_server.kill()
        thread = None
        kinds = []
        for i in range(asks):
            result = tiller.ask(f"what is item I-{i}?", thread_id=thread)
            thread = result.thread_id
            kinds.append(result.trajectory[-1].error["kind"])  # type: ignore[index]
            if i == 0:
                message = result.trajectory[-1].error["message"]  # type: ignore[index]
                assert "MCP server 'warehouse'" in message and "not reachable" in message
    assert kinds[:5] == ["unavailable"] * 5  # five failures in a row open the server's breaker
    assert kinds[5:] == ["circuit_open"] * 2
    assert effects(effects_log, "lookup") == []


def test_a_restarted_server_is_reconnected(settings: Settings, http_server: HttpProcess, effects_log: Path) -> None:
    turns = [_call("lookup_item", item_id="I-1"), "ok", _call("lookup_item", item_id="I-2"), "ok"]
    with McpTools(http_config(http_server.url)) as mcp:
        registry = ToolRegistry(mcp.specs())
        with Tiller(settings, registry=registry, model=ScriptedChatModel(turns)) as tiller:
            first = tiller.ask("what is item I-1?")
            http_server.kill()
            http_server.start()  # a new process on the same port: the old session is gone
            second = tiller.ask("what is item I-2?", thread_id=first.thread_id)
        connects = mcp.connections["warehouse"].connects
    assert [c.status for c in second.trajectory] == [CallStatus.EXECUTED]
    assert connects == 2
    assert [e["item_id"] for e in effects(effects_log, "lookup")] == ["I-1", "I-2"]
    assert len({e["pid"] for e in effects(effects_log, "lookup")}) == 2


def test_a_killed_stdio_server_is_started_again_for_the_next_read(settings: Settings, effects_log: Path) -> None:
    turns = [_call("lookup_item", item_id="I-1"), "ok", _call("lookup_item", item_id="I-2"), "ok"]
    with McpTools(stdio_config(effects_log)) as mcp:
        with Tiller(settings, registry=ToolRegistry(mcp.specs()), model=ScriptedChatModel(turns)) as tiller:
            first = tiller.ask("what is item I-1?")
            [looked_up] = effects(effects_log, "lookup")
            os.kill(looked_up["pid"], signal.SIGKILL)
            second = tiller.ask("what is item I-2?", thread_id=first.thread_id)
        connects = mcp.connections["warehouse"].connects
    # The read found the session dead, was retried once (reads are idempotent) on a new process.
    assert [c.status for c in second.trajectory] == [CallStatus.EXECUTED]
    assert connects == 2
    assert len({e["pid"] for e in effects(effects_log, "lookup")}) == 2


def test_the_servers_file_of_the_settings_adds_its_tools_to_the_domains(
    settings: Settings, tmp_path: Path, effects_log: Path, monkeypatch: Any
) -> None:
    servers = tmp_path / "mcp.yaml"
    config = stdio_config(effects_log, prefix="wh_").model_dump(mode="json", exclude_none=True)
    servers.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("TILLER_MCP_SERVERS", str(servers))
    from agent.config import load_settings

    loaded = load_settings(home=settings.home, retrieval_mode="bm25")
    assert loaded.mcp_servers == servers
    turns = [_call("wh_lookup_item", item_id="I-7"), "Item I-7 is a blue widget."]
    with Tiller(loaded, model=ScriptedChatModel(turns)) as tiller:
        names = set(tiller.registry.names)
        assert {"wh_lookup_item", "wh_delete_item", "get_order"} <= names  # beside the domain's own
        result = tiller.ask("what is item I-7?")
    assert result.status is RunStatus.COMPLETED and result.trajectory[0].status is CallStatus.EXECUTED
    assert [e["item_id"] for e in effects(effects_log, "lookup")] == ["I-7"]

    servers.write_text("servers:\n  warehouse: {transport: stdio, command: /nonexistent/server}\n")
    from tools.errors import ToolDefinitionError

    with pytest.raises(ToolDefinitionError, match="warehouse"):
        Tiller(load_settings(home=settings.home, retrieval_mode="bm25"))
