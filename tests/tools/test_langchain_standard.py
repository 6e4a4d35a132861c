"""LangChain's standard tool suites (``langchain-tests``) on Tiller tools exported as ``BaseTool``s.

Three kinds of tool are exported without a runtime: a Tiller tool with a pydantic args model,
one whose args are a JSON schema (as MCP and many LangChain tools declare them), and a commerce
read tool that needs the database (through ``ReadOnlyInvoker(sessions=...)``). Two commerce tools
are exported by a Tiller runtime (``Tiller.langchain_tools``), every call a turn of its graph: a
read and a write, which goes through policy and the ledger. Nothing is skipped: every test of
``ToolsUnitTests`` and ``ToolsIntegrationTests`` applies to them.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests
from pydantic import BaseModel, Field

from agent.config import Settings
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
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


class _RuntimeExported:
    """A tool of the demo domain exported by a Tiller runtime (``Tiller.langchain_tools``): its
    calls go through ``Tiller.invoke_tool``. The runtime's model has no turns: it is never asked."""

    tool_name: ClassVar[str] = ""
    example: ClassVar[dict[str, Any]] = {}
    runtime: Tiller

    @pytest.fixture(autouse=True)
    def _runtime(self, settings: Settings) -> Any:
        with Tiller(settings, model=ScriptedChatModel([])) as tiller:
            self.runtime = tiller
            self._exported = tiller.langchain_tools([self.tool_name])[0]
            yield

    @property
    def tool_constructor(self) -> BaseTool:
        return self._exported

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return self.example


class _RuntimeRead(_RuntimeExported):
    tool_name: ClassVar[str] = "get_order"
    example: ClassVar[dict[str, Any]] = {"order_id": "W1000002"}


class _RuntimeWrite(_RuntimeExported):
    tool_name: ClassVar[str] = "create_ticket"
    example: ClassVar[dict[str, Any]] = {"subject": "Late parcel", "body": "My parcel W1000002 has not arrived yet."}


class TestRuntimeReadToolUnit(_RuntimeRead, ToolsUnitTests):
    pass


class TestRuntimeReadToolIntegration(_RuntimeRead, ToolsIntegrationTests):
    pass


class TestRuntimeWriteToolUnit(_RuntimeWrite, ToolsUnitTests):
    pass


class TestRuntimeWriteToolIntegration(_RuntimeWrite, ToolsIntegrationTests):
    def test_the_ticket_is_opened_once_through_the_runtime(self, tool: BaseTool) -> None:
        """The standard suite accepts an error message as valid output; this call must run, as a
        turn of the runtime: traced, its effect in the ledger under the runtime's call id."""
        reply = tool.invoke({"type": "tool_call", "name": "create_ticket", "args": self.example, "id": "call_0"})
        assert reply.status == "success" and json.loads(reply.content)["ticket_id"].startswith("T")
        [trace] = self.runtime.traces.list("acme")
        assert trace.kind == "invoke_tool" and trace.status == "completed"
        [record] = self.runtime.result(trace.thread_id).trajectory
        assert (record.id, record.tool, record.status.value) == ("tc_1_1_0", "create_ticket", "executed")
