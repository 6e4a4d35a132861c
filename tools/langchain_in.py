"""LangChain tools in: any ``BaseTool`` becomes a :class:`ToolSpec`, translated once, here.

What is kept of LangChain's semantics, and how:

- **args**: a pydantic ``args_schema`` is used as the args model; a JSON-schema dict (MCP
  adapters, hand-written tools) becomes a :class:`~tools.schema_args.SchemaArgs` model that
  validates against it, so required fields, types, enums and patterns are enforced;
- **sync or async**: a tool with only a coroutine runs on the shared background loop
  (:mod:`tools.background`); ``afunc`` awaits it natively;
- **ToolException**: the tool's message is raised as a :class:`ToolError` — the model sees it,
  and the call is an error, never ``executed`` (with ``handle_tool_error`` LangChain hands the
  message back as an error ``ToolMessage``; without it the exception is caught here);
- **content_and_artifact**: the artifact is kept beside the content in the result
  (``model_hidden``: for the trajectory, not for the model's tool message).

**Unknown risk.** A LangChain tool says nothing about its effects, so one registered without a
declared risk is :data:`UNKNOWN_RISK` (``high_risk``): it goes through the ledger and needs a
reviewer until the approval policy says otherwise (``{tool: name, verdict: allow}``) or it is
registered with ``risk=Risk.READ`` / ``Risk.WRITE``.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel

from tools.background import shared_loop
from tools.canonical import to_jsonable
from tools.contract import Risk, ToolContext, ToolSpec
from tools.errors import ToolError
from tools.schema_args import args_model_from_schema

UNKNOWN_RISK = Risk.HIGH_RISK
"""The risk of a tool that declares none (LangChain tools, MCP tools without annotations)."""


class LangChainToolResult(BaseModel):
    """Result of a LangChain tool: its content as JSON-able data, and its artifact if it has one."""

    output: Any
    artifact: Any = None


def _args_model(lc_tool: BaseTool) -> type[BaseModel]:
    schema = lc_tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema
    if isinstance(schema, dict):
        return args_model_from_schema(lc_tool.name, schema)
    # No schema (a plain ``Tool``, or a pydantic v1 model): LangChain's own view of the input.
    view = cast(type[BaseModel], lc_tool.tool_call_schema)  # a pydantic v2 model built by LangChain here
    return args_model_from_schema(lc_tool.name, view.model_json_schema())


def _jsonable(value: Any) -> Any:
    try:
        return to_jsonable(value)
    except (TypeError, ValueError):
        return {"type": type(value).__name__, "repr": repr(value)[:2000]}


def _tool_call(lc_tool: BaseTool, ctx: ToolContext, args: BaseModel) -> dict[str, Any]:
    # Invoked with a ToolCall, a LangChain tool answers with a ToolMessage: status, content and
    # artifact in one value, whatever its response_format.
    return {
        "type": "tool_call",
        "name": lc_tool.name,
        "args": to_jsonable(args),
        "id": getattr(ctx, "tool_call_id", "") or "tiller",  # a LangChain ToolCall must have an id
    }


def _result(lc_tool: BaseTool, reply: Any) -> LangChainToolResult:
    if not isinstance(reply, ToolMessage):  # a tool returning a Command or such: keep it as data
        return LangChainToolResult(output=_jsonable(reply))
    if reply.status == "error":  # handle_tool_error turned a ToolException into this message
        raise ToolError(reply.text or f"{lc_tool.name} failed")
    return LangChainToolResult(output=_jsonable(reply.content), artifact=_jsonable(reply.artifact))


def _is_async_only(lc_tool: BaseTool) -> bool:
    has_coroutine = getattr(lc_tool, "coroutine", None) is not None
    return has_coroutine and getattr(lc_tool, "func", None) is None


def from_langchain(
    lc_tool: BaseTool,
    *,
    risk: Risk | None = None,
    idempotent: bool | None = None,
    examples: tuple[str, ...] = (),
    timeout_s: float = 30.0,
    tags: tuple[str, ...] = (),
    name: str | None = None,
) -> ToolSpec:
    """A :class:`ToolSpec` running ``lc_tool`` unchanged; ``risk=None`` means :data:`UNKNOWN_RISK`.

    ``name`` renames it for Tiller (whose names are ``lower_snake_case``); each LangChain tool is
    its own breaker target (``backend:langchain-<name>``) unless ``tags`` name a backend.
    """
    declared = UNKNOWN_RISK if risk is None else risk
    async_only = _is_async_only(lc_tool)

    def run(ctx: ToolContext, args: BaseModel) -> BaseModel:
        call = _tool_call(lc_tool, ctx, args)
        try:
            if async_only:
                return _result(lc_tool, shared_loop().run(lc_tool.ainvoke(call), timeout_s))
            try:
                return _result(lc_tool, lc_tool.invoke(call))
            except NotImplementedError:  # a BaseTool subclass with only _arun
                return _result(lc_tool, shared_loop().run(lc_tool.ainvoke(call), timeout_s))
        except ToolException as exc:
            raise ToolError(str(exc) or f"{lc_tool.name} failed") from None

    async def arun(ctx: ToolContext, args: BaseModel) -> BaseModel:
        try:
            return _result(lc_tool, await lc_tool.ainvoke(_tool_call(lc_tool, ctx, args)))
        except ToolException as exc:
            raise ToolError(str(exc) or f"{lc_tool.name} failed") from None

    tiller_name = name or lc_tool.name
    if not any(t.startswith("backend:") for t in tags):
        tags = (*tags, f"backend:langchain-{tiller_name}")
    return ToolSpec(
        name=tiller_name,
        description=lc_tool.description,
        args_model=_args_model(lc_tool),
        result_model=LangChainToolResult,
        func=run,
        afunc=arun,
        risk=declared,
        idempotent=(declared is Risk.READ) if idempotent is None else idempotent,
        timeout_s=timeout_s,
        examples=examples,
        tags=("source:langchain", *tags),
        model_hidden=("artifact",),
        remote=True,  # what a LangChain tool does happens outside Tiller's transaction
    )
