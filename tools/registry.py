"""The tool registry: the set of tools one agent may call, by name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, create_model

from tools.canonical import to_jsonable
from tools.contract import Risk, ToolContext, ToolSpec
from tools.errors import ToolDefinitionError


class LangChainToolResult(BaseModel):
    """Result of a registered LangChain tool: its output as JSON-able data."""

    output: Any


class ToolRegistry:
    """Tools by name. Registration fails loudly on duplicates; lookups return ``None``."""

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ToolSpec) -> ToolSpec:
        if spec.name in self._specs:
            raise ToolDefinitionError(f"a tool named {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def register_langchain(
        self, lc_tool: BaseTool, *, risk: Risk, idempotent: bool | None = None, examples: tuple[str, ...] = ()
    ) -> ToolSpec:
        """Register an existing LangChain tool unchanged, with a declared risk."""
        schema = lc_tool.args_schema
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            args_model: type[BaseModel] = schema
        else:
            args_model = create_model(f"{lc_tool.name}_args")

        def run(ctx: ToolContext, args: BaseModel) -> BaseModel:
            return LangChainToolResult(output=to_jsonable(lc_tool.invoke(args.model_dump())))

        return self.register(
            ToolSpec(
                name=lc_tool.name,
                description=lc_tool.description,
                args_model=args_model,
                result_model=LangChainToolResult,
                func=run,
                risk=risk,
                idempotent=(risk is Risk.READ) if idempotent is None else idempotent,
                examples=examples,
            )
        )

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def model_schemas(self) -> list[dict[str, Any]]:
        """Every tool as an OpenAI-style function schema (with ``x-tiller`` extensions)."""
        return [spec.model_schema() for spec in self._specs.values()]
