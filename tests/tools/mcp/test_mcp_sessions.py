"""MCP sessions: one per server, shared by concurrent calls from many threads, bounded by a
per-call timeout after which the session is reset and the next call works again."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.tools.mcp.conftest import effects, stdio_config
from tools.contract import ToolContext, ToolSpec
from tools.errors import ToolUnavailable
from tools.mcp import McpTools
from tools.validation import validate_args


def _ctx(call: int) -> ToolContext:
    return ToolContext("acme", "u1", "t1", None, f"tc_1_1_{call}")


def _run(spec: ToolSpec, call: int, **args: object) -> str:
    result = spec.func(_ctx(call), validate_args(spec, args))
    return str(result.model_dump()["text"])


def test_concurrent_calls_from_many_threads_share_one_session(
    effects_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    with McpTools(stdio_config(effects_log)) as mcp:
        lookup = next(s for s in mcp.specs() if s.name == "lookup_item")
        with ThreadPoolExecutor(max_workers=8) as pool:
            texts = list(pool.map(lambda i: _run(lookup, i, item_id=f"I-{i}"), range(24)))
        connects = mcp.connections["warehouse"].connects
    assert all("blue widget" in t for t in texts)
    logged = effects(effects_log, "lookup")
    assert sorted(e["item_id"] for e in logged) == sorted(f"I-{i}" for i in range(24))
    assert connects == 1 and len({e["pid"] for e in logged}) == 1  # one process, one handshake
    assert not any(e["saw_openai_key"] for e in logged)  # the child gets its config's env, not Tiller's secrets


def test_the_async_path_uses_the_same_session(effects_log: Path) -> None:
    with McpTools(stdio_config(effects_log)) as mcp:
        lookup = next(s for s in mcp.specs() if s.name == "lookup_item")
        assert lookup.afunc is not None
        afunc = lookup.afunc

        async def both() -> list[object]:
            calls = [afunc(_ctx(i), validate_args(lookup, {"item_id": f"I-{i}"})) for i in range(3)]
            return list(await asyncio.gather(*calls))

        results = asyncio.run(both())
        _run(lookup, 9, item_id="I-9")
        connects = mcp.connections["warehouse"].connects
    assert len(results) == 3 and connects == 1


def test_a_call_past_its_timeout_fails_and_the_next_one_reconnects(effects_log: Path) -> None:
    with McpTools(stdio_config(effects_log, timeout_s=0.5)) as mcp:
        count = next(s for s in mcp.specs() if s.name == "count_items")
        with pytest.raises(ToolUnavailable, match=r"did not answer count_items within 0\.5s"):
            _run(count, 1, delay_s=5)
        assert _run(count, 2) == "42 items"
        connects = mcp.connections["warehouse"].connects
    assert connects == 2
