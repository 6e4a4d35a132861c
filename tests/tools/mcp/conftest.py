"""An MCP server of the tests' own (``effects_server.py``), on stdio or streamable HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.mcp import HttpServer, McpConfig, StdioServer

SERVER = Path(__file__).with_name("effects_server.py")


def effects(log: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The effects the server recorded (of one ``kind``: lookup, delete, tag)."""
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [e for e in entries if kind is None or e["effect"] == kind]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpProcess:
    """The server as a separate process on a port of 127.0.0.1; ``kill`` and ``start`` again."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "http", str(self.port)],
            env={"EFFECTS_LOG": str(self.log), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the MCP test server exited with {self.process.returncode}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the MCP test server did not listen within 20 s")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def effects_log(tmp_path: Path) -> Path:
    return tmp_path / "effects.jsonl"


@pytest.fixture
def http_server(effects_log: Path) -> Iterator[HttpProcess]:
    server = HttpProcess(port=_free_port(), log=effects_log)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def stdio_config(log: Path, **options: Any) -> McpConfig:
    command = StdioServer(command=sys.executable, args=(str(SERVER), "stdio"), env={"EFFECTS_LOG": str(log)}, **options)
    return McpConfig(servers={"warehouse": command})


def http_config(url: str, **options: Any) -> McpConfig:
    return McpConfig(servers={"warehouse": HttpServer(url=url, **options)})


@pytest.fixture(params=["stdio", "streamable_http"])
def server_config(request: pytest.FixtureRequest, effects_log: Path) -> Callable[..., McpConfig]:
    """``server_config(**options)``: the warehouse server on each transport in turn."""
    if request.param == "stdio":
        return lambda **options: stdio_config(effects_log, **options)
    http: HttpProcess = request.getfixturevalue("http_server")
    return lambda **options: http_config(http.url, **options)
