"""A FastMCP server for the MCP tests: a read, a destructive and an idempotent write tool.

Every effect is appended to the file named by ``EFFECTS_LOG`` (one JSON line each), so a test
can count how often each really ran. ``python effects_server.py stdio`` or
``python effects_server.py http PORT``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
from mcp.server.fastmcp import Context, FastMCP
from mcp.types import ToolAnnotations

LOG = Path(os.environ["EFFECTS_LOG"])
server = FastMCP("effects", host="127.0.0.1", port=int(sys.argv[2]) if len(sys.argv) > 2 else 8000, log_level="ERROR")


def _log(entry: dict[str, object]) -> None:
    with LOG.open("a", encoding="utf-8") as f:
        f.write(json.dumps({**entry, "pid": os.getpid()}) + "\n")


def _effects() -> list[dict[str, object]]:
    return [json.loads(line) for line in LOG.read_text().splitlines()] if LOG.exists() else []


def _key(ctx: Context) -> str | None:
    meta = ctx.request_context.meta
    return (meta.model_extra or {}).get("tiller/idempotency_key") if meta is not None else None


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def lookup_item(item_id: str) -> str:
    """Look up an item of the warehouse by its id (I-<digits>)."""
    _log({"effect": "lookup", "item_id": item_id, "saw_openai_key": "OPENAI_API_KEY" in os.environ})
    return f"item {item_id}: blue widget, 3 in stock"


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True))
def deleteItem(item_id: str, ctx: Context) -> str:  # a camelCase MCP name: Tiller calls it delete_item
    """Delete an item of the warehouse for good."""
    _log({"effect": "delete", "item_id": item_id, "key": _key(ctx)})
    return f"deleted {item_id}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True))
def tag_item(item_id: str, tag: str, idempotency_key: str | None = None) -> str:
    """Add a tag to an item; repeating a call with the same idempotency key changes nothing."""
    if idempotency_key and any(e.get("key") == idempotency_key for e in _effects()):
        return f"{item_id} already tagged {tag}"
    _log({"effect": "tag", "item_id": item_id, "tag": tag, "key": idempotency_key})
    return f"tagged {item_id} with {tag}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
async def count_items(delay_s: float = 0.0) -> str:
    """Count the items of the warehouse (slowly, when asked to)."""
    await anyio.sleep(delay_s)
    return "42 items"


@server.tool()
def refuse_item(item_id: str) -> str:
    """A tool without annotations that always fails."""
    raise ValueError(f"item {item_id} cannot be handled")


if __name__ == "__main__":
    server.run("streamable-http" if sys.argv[1] == "http" else "stdio")
