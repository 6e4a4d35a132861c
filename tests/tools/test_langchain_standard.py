"""LangChain's standard tool suites (``langchain-tests``) on Tiller tools exported as ``BaseTool``s.

Three kinds of tool are exported: a Tiller tool with a pydantic args model, one whose args are a
JSON schema (as MCP and many LangChain tools declare them), and a commerce read tool that needs
the database (through ``ReadOnlyInvoker(sessions=...)``). Nothing is skipped: every test of
``ToolsUnitTests`` and ``ToolsIntegrationTests`` applies to them.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests
from pydantic import BaseModel, Field

from agent.config import Settings
from tools.commerce.lookups import get_order
from tools.contract import Risk, ToolContext, ToolSpec, tool
from tools.db import make_engine, make_session_factory
from tools.langchain_out import ReadOnlyInvoker
from tools.registry import ToolRegistry
from tools.schema_args import args_model_from_schema


class ConvertArgs(BaseModel):
    amount: float = Field(gt=0, description="amount to convert")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO currency code")


class ConvertResult(BaseModel):
    amount_eur: float
    summary: str


@tool(risk=Risk.READ)
def convert_to_euro(ctx: ToolContext, args: ConvertArgs) -> ConvertResult:
    """Convert an amount to euros at a fixed rate."""
    value = round(args.amount * 0.9, 2)
    return ConvertResult(amount_eur=value, summary=f"{args.amount} {args.currency} is {value} EUR")


class _Text(BaseModel):
    text: str


def _lookup_station(ctx: ToolContext, args: Any) -> _Text:
    return _Text(text=f"station {args.code} is open")


lookup_station = ToolSpec(
    name="lookup_station",
    description="Look up a weather station by its code.",
    args_model=args_model_from_schema(
        "lookup_station", {"properties": {"code": {"type": "string", "pattern": "^[A-Z]{4}$"}}, "required": ["code"]}
    ),
    result_model=_Text,
    func=_lookup_station,
    risk=Risk.READ,
    idempotent=True,
)


def _exported(spec: ToolSpec, invoker: Any = None) -> BaseTool:
    registry = ToolRegistry([spec])
    return registry.as_langchain_tools(invoker or ReadOnlyInvoker(registry))[0]


class _PydanticArgsTool:
    @property
    def tool_constructor(self) -> BaseTool:
        return _exported(convert_to_euro)

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"amount": 10.0, "currency": "USD"}


class _JsonSchemaArgsTool:
    @property
    def tool_constructor(self) -> BaseTool:
        return _exported(lookup_station)

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"code": "ENGM"}


class TestPydanticArgsToolUnit(_PydanticArgsTool, ToolsUnitTests):
    pass


class TestPydanticArgsToolIntegration(_PydanticArgsTool, ToolsIntegrationTests):
    pass


class TestJsonSchemaArgsToolUnit(_JsonSchemaArgsTool, ToolsUnitTests):
    pass


class TestJsonSchemaArgsToolIntegration(_JsonSchemaArgsTool, ToolsIntegrationTests):
    pass


class TestDatabaseReadToolIntegration(ToolsIntegrationTests):
    """``get_order`` on the seeded demo database, through a read-only invoker with sessions."""

    @property
    def tool_constructor(self) -> BaseTool:
        return _exported(get_order)

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"order_id": "W1000002"}

    @pytest.fixture
    def tool(self, settings: Settings) -> Any:
        engine = make_engine(settings.db_url)
        registry = ToolRegistry([get_order])
        invoker = ReadOnlyInvoker(registry, sessions=make_session_factory(engine), tenant_id="acme")
        yield registry.as_langchain_tools(invoker)[0]
        engine.dispose()

    def test_the_order_is_read_not_refused(self, tool: BaseTool) -> None:
        """The standard suite accepts an error message as valid output; this one must be data."""
        reply = tool.invoke({"type": "tool_call", "name": "get_order", "args": {"order_id": "W1000002"}, "id": "c1"})
        assert reply.status == "success" and "1Z999AA10123456784" in reply.content
