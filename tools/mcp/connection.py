"""One long-lived MCP client session per server, owned by the background event loop.

An MCP session (and the process or HTTP stream under it) is opened and closed inside one task:
anyio's cancel scopes demand it. So each :class:`McpConnection` keeps a *holder* task on the
shared :class:`~tools.background.BackgroundLoop` that opens the transport and the session,
hands the session out, and waits until told to close. Calls from any thread run as their own
tasks on that loop against the shared session — no process or handshake per call.

A call that fails because the connection failed (the process died, the HTTP server went away,
no answer in time) discards the session and raises :class:`ToolUnavailable`; the next call
connects again, so a restarted server is picked up without restarting Tiller. An error the
server answers with (a JSON-RPC error, a tool result flagged ``isError``) leaves the session
alone. MCP and transport errors are translated here, once, into ``tools.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from mcp import ClientSession, McpError, StdioServerParameters, types
from mcp.client.stdio import get_default_environment, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tools.background import BackgroundLoop
from tools.errors import ToolError, ToolUnavailable
from tools.mcp.config import HttpServer, ServerConfig, StdioServer

# JSON-RPC error codes that mean the connection, not the request, failed.
_CONNECTION_CODES = frozenset({types.CONNECTION_CLOSED, 408})
# What the SDK's HTTP client answers when the server no longer knows our session id (it was
# restarted): the request was refused before it ran, so it is safe to send again on a new session.
_SESSION_TERMINATED = 32600


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups: what the message should name."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


T = TypeVar("T")


class McpConnection:
    """The session to one server; ``call``/``list_tools`` are coroutines for the background loop."""

    def __init__(self, name: str, config: ServerConfig, loop: BackgroundLoop) -> None:
        self.name = name
        self.config = config
        self.loop = loop
        self.connects = 0
        """How many sessions were opened so far (1 + reconnections)."""
        self._session: ClientSession | None = None
        self._holder: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None

    # -- the session's life ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[tuple[Any, Any]]:
        config = self.config
        if isinstance(config, StdioServer):
            # The SDK's safe default environment (PATH, HOME, …), never all of Tiller's: a server
            # gets the secrets its config names (env:), not the model provider's key.
            params = StdioServerParameters(
                command=config.command,
                args=list(config.args),
                env={**get_default_environment(), **config.env},
                cwd=config.cwd,
            )
            errlog_path = config.stderr_file or os.devnull
            with open(errlog_path, "a", encoding="utf-8") as errlog:
                async with stdio_client(params, errlog=errlog) as (read, write):
                    yield read, write
        else:
            assert isinstance(config, HttpServer)
            client = create_mcp_http_client(headers=config.headers or None)
            async with client, streamable_http_client(config.url, http_client=client) as (read, write, _):
                yield read, write

    async def _hold(self, ready: asyncio.Future[ClientSession], stop: asyncio.Event) -> None:
        try:
            async with self._transport() as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                ready.set_result(session)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else ConnectionError(repr(exc)))
            if not isinstance(exc, Exception):
                raise

    async def _open(self) -> tuple[ClientSession, asyncio.Task[None]]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._session is not None and self._holder is not None and not self._holder.done():
                return self._session, self._holder
            await self._discard()
            ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
            stop = asyncio.Event()
            self._stop, self._holder = stop, asyncio.create_task(self._hold(ready, stop))
            try:
                session = await asyncio.wait_for(asyncio.shield(ready), self.config.connect_timeout_s)
            except BaseException as exc:
                await self._discard()
                raise self._unreachable(exc) from None
            self._session = session
            self.connects += 1
            return session, self._holder

    async def _discard(self, session: ClientSession | None = None) -> None:
        """Close the current session (only if it is still ``session``, when one is given)."""
        if session is not None and session is not self._session:
            return  # another call already replaced it
        holder, stop = self._holder, self._stop
        self._session = self._holder = self._stop = None
        if holder is None or stop is None:
            return
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(holder), 5)
        except BaseException:  # a stuck transport: cancel it; its errors are the reason we are here
            holder.cancel()
            with contextlib.suppress(BaseException):
                await holder

    async def aclose(self) -> None:
        """End the session and stop its transport."""
        await self._discard()

    def _unreachable(self, exc: BaseException) -> ToolUnavailable:
        where = self.config.url if isinstance(self.config, HttpServer) else self.config.command
        exc = _leaf(exc)
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError):
            detail = f"no answer within {self.config.connect_timeout_s:g}s"
        return ToolUnavailable(f"MCP server {self.name!r} ({where}) is not reachable ({detail[:300]})")

    # -- requests ----------------------------------------------------------------------------

    async def _bounded(self, request: Coroutine[Any, Any, T], holder: asyncio.Task[None], timeout_s: float) -> T:
        """``request``'s answer; fails as soon as the connection ends (a dead server's pending
        requests would otherwise wait out their timeout) or after ``timeout_s``."""
        task = asyncio.ensure_future(request)
        done, _ = await asyncio.wait({task, holder}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if holder in done:
            raise ConnectionError("the connection to the server closed")
        raise TimeoutError(f"no answer within {timeout_s:g}s")

    async def list_tools(self) -> list[types.Tool]:
        """Every tool the server lists (all pages)."""
        session, holder = await self._open()
        tools: list[types.Tool] = []
        cursor: str | None = None
        try:
            while True:
                params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
                page = await self._bounded(session.list_tools(params=params), holder, self.config.timeout_s)
                tools.extend(page.tools)
                cursor = page.nextCursor
                if not cursor:
                    return tools
        except BaseException as exc:
            raise await self._failed(session, exc, "tools/list") from None

    async def call(self, tool: str, arguments: dict[str, Any], meta: dict[str, Any] | None) -> types.CallToolResult:
        """One ``tools/call``; connection failures raise :class:`ToolUnavailable` and reset the session."""
        timeout = self.config.timeout_s
        for attempt in (1, 2):
            session, holder = await self._open()
            request = session.call_tool(tool, arguments, read_timeout_seconds=timedelta(seconds=timeout), meta=meta)
            try:
                return await self._bounded(request, holder, timeout + 1)
            except McpError as exc:
                if exc.error.code == _SESSION_TERMINATED and attempt == 1:
                    await self._discard(session)  # the server restarted: nothing ran; again, on a new session
                    continue
                raise await self._failed(session, exc, tool) from None
            except BaseException as exc:
                raise await self._failed(session, exc, tool) from None
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _failed(self, session: ClientSession, exc: BaseException, what: str) -> Exception:
        exc = _leaf(exc)
        if isinstance(exc, McpError) and exc.error.code not in _CONNECTION_CODES | {_SESSION_TERMINATED}:
            return ToolError(f"MCP server {self.name!r} refused {what}: {exc.error.message}")
        if isinstance(exc, asyncio.CancelledError):
            await self._discard(session)
            raise exc
        await self._discard(session)
        timed_out = isinstance(exc, TimeoutError) or (isinstance(exc, McpError) and exc.error.code == 408)
        if timed_out:
            return ToolUnavailable(
                f"MCP server {self.name!r} did not answer {what} within {self.config.timeout_s:g}s; "
                "the connection was reset"
            )
        return ToolUnavailable(
            f"MCP server {self.name!r} failed during {what} ({type(exc).__name__}: {str(exc)[:200]}); "
            "the connection was reset and the next call reconnects"
        )
