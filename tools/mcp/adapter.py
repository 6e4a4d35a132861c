"""MCP tools as :class:`ToolSpec`s: names, args, risk, results and errors translated once, here.

**Risk** comes from the tool's annotations, which are the server's *hints*:

- ``readOnlyHint: true`` → ``read``;
- ``destructiveHint: false`` (and not read-only) → ``write``;
- ``destructiveHint: true``, or read-only false with no ``destructiveHint`` (MCP's default for
  it is true) → ``high_risk``;
- no annotations at all → :data:`~tools.langchain_in.UNKNOWN_RISK` (``high_risk``): a reviewer
  approves each call until the servers file (``risk:``) or the approval policy says otherwise.

``idempotentHint: true`` makes a side-effecting tool idempotent (retried once on a dropped
connection) and is recorded in the tool's tags. Every call carries the idempotency key — the
one Tiller's ledger uses, :func:`tools.ledger.idempotency_key` — in the request's ``_meta``
(``tiller/idempotency_key``), and in the argument named ``idempotency_arg`` when the tool's input
schema declares it (that argument is then Tiller's, hidden from the model).
"""

from __future__ import annotations

import re
from typing import Any

from mcp import types
from pydantic import BaseModel, Field

from tools.canonical import to_jsonable
from tools.contract import Risk, ToolContext, ToolSpec
from tools.errors import ToolError
from tools.langchain_in import UNKNOWN_RISK
from tools.ledger import idempotency_key
from tools.mcp.config import ServerConfig
from tools.mcp.connection import McpConnection
from tools.schema_args import args_model_from_schema

META_KEY = "tiller/idempotency_key"


class McpToolResult(BaseModel):
    """What an MCP tool returned: its text, its structured content, other content blocks."""

    text: str = ""
    structured: dict[str, Any] | None = None
    content: list[dict[str, Any]] = Field(default_factory=list)
    """Content blocks other than text (images, resources), as the server sent them."""


def tiller_name(mcp_name: str, prefix: str = "") -> str:
    """``getWeather`` / ``get-weather`` → ``get_weather`` (Tiller names are lower_snake_case)."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", mcp_name)
    snake = re.sub(r"[^0-9A-Za-z]+", "_", snake).strip("_").lower()
    return f"{prefix}{snake}" if snake else f"{prefix}tool"


def risk_of(tool: types.Tool, override: Risk | None = None) -> tuple[Risk, str]:
    """The tool's risk and why (see the module docstring for the rules)."""
    if override is not None:
        return override, "set in the MCP servers file"
    hints = tool.annotations
    if hints is None or (hints.readOnlyHint is None and hints.destructiveHint is None):
        return UNKNOWN_RISK, "no readOnlyHint/destructiveHint annotations: unknown risk"
    if hints.readOnlyHint:
        return Risk.READ, "readOnlyHint"
    if hints.destructiveHint is False:
        return Risk.WRITE, "destructiveHint: false"
    return Risk.HIGH_RISK, "destructiveHint (MCP's default when not read-only)"


def _result(server: str, tool: str, result: types.CallToolResult) -> McpToolResult:
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    others = [to_jsonable(block.model_dump(mode="json")) for block in result.content if block.type != "text"]
    text = "\n".join(texts)
    if result.isError:  # the tool's own error: the model reads it; the call did not succeed
        raise ToolError(text or f"MCP tool {tool} on server {server!r} reported an error")
    return McpToolResult(text=text, structured=result.structuredContent, content=others)


def _model_schema(schema: dict[str, Any], hidden: str | None) -> dict[str, Any]:
    if hidden is None:
        return schema
    shown = {**schema, "properties": {k: v for k, v in schema.get("properties", {}).items() if k != hidden}}
    if "required" in schema:
        shown["required"] = [r for r in schema["required"] if r != hidden]
    return shown


def mcp_tool_spec(connection: McpConnection, tool: types.Tool) -> ToolSpec:
    """One MCP tool of ``connection``'s server as a Tiller tool."""
    config: ServerConfig = connection.config
    server = connection.name
    risk, why = risk_of(tool, config.risk.get(tool.name))
    hints = tool.annotations
    idempotent = risk is Risk.READ or bool(hints and hints.idempotentHint)
    schema = dict(tool.inputSchema or {})
    key_arg = config.idempotency_arg if config.idempotency_arg in schema.get("properties", {}) else None
    name = tiller_name(tool.name, config.prefix)

    def arguments(ctx: ToolContext, args: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
        values = to_jsonable(args)
        key = idempotency_key(ctx.tenant_id, ctx.thread_id, ctx.tool_call_id, name, args)
        if key_arg is not None:
            values[key_arg] = key
        return values, {META_KEY: key, "tiller/tool_call_id": ctx.tool_call_id, "tiller/thread_id": ctx.thread_id}

    async def arun(ctx: ToolContext, args: BaseModel) -> BaseModel:
        values, meta = arguments(ctx, args)
        return _result(server, tool.name, await connection.loop.run_async(connection.call(tool.name, values, meta)))

    def run(ctx: ToolContext, args: BaseModel) -> BaseModel:
        values, meta = arguments(ctx, args)
        wait_s = config.connect_timeout_s + config.timeout_s + 2
        reply = connection.loop.run(connection.call(tool.name, values, meta), wait_s)
        return _result(server, tool.name, reply)

    tags = [f"backend:mcp-{server}", "source:mcp", f"mcp:{server}/{tool.name}", f"risk-from:{why}"]
    if hints is not None and hints.idempotentHint is not None:
        tags.append(f"idempotent-hint:{str(hints.idempotentHint).lower()}")
    return ToolSpec(
        name=name,
        description=(tool.description or (hints.title if hints and hints.title else "") or tool.name).strip(),
        args_model=args_model_from_schema(name, _model_schema(schema, key_arg)),
        result_model=McpToolResult,
        func=run,
        afunc=arun,
        risk=risk,
        idempotent=idempotent,
        timeout_s=config.connect_timeout_s + config.timeout_s + 3,
        max_retries=1 if idempotent else 0,
        tags=tuple(tags),
        remote=True,
    )
