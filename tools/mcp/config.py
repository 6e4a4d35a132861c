"""The MCP servers file: which servers to read tools from, how to reach them, what to trust.

A YAML (or JSON) file, named by ``TILLER_MCP_SERVERS`` or a domain::

    servers:
      files:                              # the server's name: lower_snake_case
        transport: stdio                  # a process Tiller starts and talks to on stdin/stdout
        command: python
        args: [-m, files_server]
        env: {FILES_TOKEN: "${FILES_TOKEN}"}   # ${VAR} is read from the environment at load
      crm:
        transport: streamable_http
        url: http://127.0.0.1:8931/mcp
        headers: {Authorization: "Bearer ${CRM_TOKEN}"}
        timeout_s: 20                     # per call; connect_timeout_s bounds (re)connecting
        prefix: crm_                      # tool names become crm_<tool>
        include: [lookup_customer, update_customer]
        risk: {update_customer: high_risk}    # overrides the server's annotations
        idempotency_arg: idempotency_key  # tools declaring this argument get the key in it

A server that cannot be reached when the tools are loaded fails the load, naming it, unless it
is ``optional: true`` (then its tools are left out and a warning is logged).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.contract import Risk
from tools.errors import ToolDefinitionError
from tools.files import read_yaml_model

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def expand_env(value: str, environ: dict[str, str] | None = None) -> str:
    """``${VAR}`` replaced by the environment's value; a missing variable is an error, not ''."""
    env = os.environ if environ is None else environ

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ToolDefinitionError(f"MCP servers file uses ${{{name}}}, which is not set in the environment")
        return env[name]

    return _VAR.sub(one, value)


class _Server(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=30.0, gt=0)
    """Longest wait for one tool call's answer."""
    connect_timeout_s: float = Field(default=15.0, gt=0)
    """Longest wait for (re)connecting: starting the process or opening the HTTP session."""
    prefix: str = ""
    """Prepended to every tool name of this server (keeps two servers' names apart)."""
    include: tuple[str, ...] | None = None
    """Only these tools (their MCP names); default: all."""
    exclude: tuple[str, ...] = ()
    risk: dict[str, Risk] = Field(default_factory=dict)
    """Per tool (MCP name): the risk to use instead of what its annotations say."""
    idempotency_arg: str = "idempotency_key"
    """A tool whose input schema declares this argument receives the idempotency key in it."""
    optional: bool = False


class StdioServer(_Server):
    """A server Tiller starts as a child process, talking MCP over its stdin and stdout."""

    transport: Literal["stdio"] = "stdio"
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    """The child's environment on top of the SDK's safe default (PATH, HOME, …); nothing else of
    Tiller's environment is passed, so name here the secrets the server needs."""
    cwd: Path | None = None
    stderr_file: Path | None = None
    """Where the server's stderr goes (default: discarded)."""


class HttpServer(_Server):
    """A server reached over MCP's streamable HTTP transport."""

    transport: Literal["streamable_http"] = "streamable_http"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


ServerConfig = Annotated[StdioServer | HttpServer, Field(discriminator="transport")]


class McpConfig(BaseModel):
    """Every MCP server whose tools the agent may call, by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    servers: dict[str, ServerConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> McpConfig:
        for name in self.servers:
            if not _NAME.match(name):
                raise ValueError(f"server name {name!r} must be lower_snake_case (it names tools and breakers)")
        return self


def _expanded(value: Any) -> Any:
    if isinstance(value, str):
        return expand_env(value)
    if isinstance(value, dict):
        return {k: _expanded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expanded(v) for v in value]
    return value


def load_mcp_config(path: Path) -> McpConfig:
    """Read a servers file; ``${VAR}`` in strings come from the environment; errors name the file."""
    raw = read_yaml_model(_RawConfig, path, "MCP servers file", ToolDefinitionError)
    try:
        return McpConfig.model_validate({"servers": _expanded(raw.servers)})
    except ToolDefinitionError as exc:
        raise ToolDefinitionError(f"invalid MCP servers file {path}: {exc}") from None
    except ValueError as exc:
        raise ToolDefinitionError(f"invalid MCP servers file {path}: {exc}") from None


class _RawConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    servers: dict[str, dict[str, Any]] = Field(default_factory=dict)
