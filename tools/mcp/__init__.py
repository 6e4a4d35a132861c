"""MCP servers as tool sources: a servers file in, :class:`ToolSpec`s out.

    with McpTools.from_file(Path("mcp.yaml")) as mcp:
        registry = ToolRegistry([*commerce_tools(), *mcp.specs()])
        ...

``config`` (the servers file), ``connection`` (one long-lived session per server on the shared
background loop, reconnecting after a failure) and ``adapter`` (names, args, risk, results).
"""

from __future__ import annotations

import logging
from pathlib import Path

from tools.background import BackgroundLoop, shared_loop
from tools.contract import ToolSpec
from tools.errors import ToolDefinitionError, ToolError
from tools.mcp.adapter import META_KEY, McpToolResult, mcp_tool_spec, risk_of, tiller_name
from tools.mcp.config import HttpServer, McpConfig, StdioServer, load_mcp_config
from tools.mcp.connection import McpConnection

__all__ = [
    "META_KEY",
    "HttpServer",
    "McpConfig",
    "McpConnection",
    "McpToolResult",
    "McpTools",
    "StdioServer",
    "load_mcp_config",
    "mcp_tool_spec",
    "risk_of",
    "tiller_name",
]

log = logging.getLogger("tiller.tools.mcp")


class McpTools:
    """The configured servers' connections and their tools; close it to end the sessions."""

    def __init__(self, config: McpConfig, loop: BackgroundLoop | None = None) -> None:
        self.config = config
        self.loop = loop or shared_loop()
        self.connections = {name: McpConnection(name, server, self.loop) for name, server in config.servers.items()}
        self._specs: list[ToolSpec] | None = None

    @classmethod
    def from_file(cls, path: Path, loop: BackgroundLoop | None = None) -> McpTools:
        """The tools of the servers an MCP servers file names (``${VAR}`` read from the environment;
        errors name the file)."""
        return cls(load_mcp_config(path), loop)

    def specs(self) -> list[ToolSpec]:
        """Every server's tools (listed once, on first use); an unreachable server that is not
        ``optional`` raises :class:`ToolDefinitionError` naming it."""
        if self._specs is None:
            self._specs = [spec for name in self.connections for spec in self._server_specs(name)]
        return list(self._specs)

    def _server_specs(self, name: str) -> list[ToolSpec]:
        connection = self.connections[name]
        server = connection.config
        wait_s = server.connect_timeout_s + server.timeout_s + 2
        try:
            tools = self.loop.run(connection.list_tools(), wait_s)
        except (ToolError, TimeoutError) as exc:
            message = exc.message if isinstance(exc, ToolError) else str(exc)
            if server.optional:
                log.warning("MCP server %s left out: %s", name, message)
                return []
            raise ToolDefinitionError(f"cannot load the tools of MCP server {name!r}: {message}") from None
        chosen = [t for t in tools if (server.include is None or t.name in server.include)]
        return [mcp_tool_spec(connection, t) for t in chosen if t.name not in server.exclude]

    def close(self) -> None:
        """End every session (child processes stop, HTTP sessions are terminated)."""
        for connection in self.connections.values():
            try:
                self.loop.run(connection.aclose(), 10)
            except Exception:  # a server that will not close must not stop the others from closing
                log.warning("MCP server %s did not close cleanly", connection.name, exc_info=True)

    def __enter__(self) -> McpTools:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
