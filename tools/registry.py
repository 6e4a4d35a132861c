"""The tool registry: the set of tools one agent may call, by name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from langchain_core.tools import BaseTool

from tools.contract import Risk, ToolSpec
from tools.errors import ToolDefinitionError
from tools.langchain_in import LangChainToolResult, from_langchain
from tools.langchain_out import ReadOnlyInvoker, TillerTool, ToolInvoker

__all__ = ["LangChainToolResult", "ToolRegistry"]


class ToolRegistry:
    """Tools by name. Registration fails loudly on duplicates; lookups return ``None``."""

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ToolSpec) -> ToolSpec:
        """Add a Tiller tool; a second tool of the same name is a ``ToolDefinitionError``."""
        if spec.name in self._specs:
            raise ToolDefinitionError(f"a tool named {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def register_langchain(
        self,
        lc_tool: BaseTool,
        *,
        risk: Risk | None = None,
        idempotent: bool | None = None,
        examples: tuple[str, ...] = (),
        name: str | None = None,
        timeout_s: float = 30.0,
    ) -> ToolSpec:
        """Register an existing LangChain tool unchanged (see :mod:`tools.langchain_in`).

        Without a declared ``risk`` it is ``high_risk`` (a reviewer approves each call) until
        the approval policy or a declared risk says otherwise.
        """
        spec = from_langchain(
            lc_tool, risk=risk, idempotent=idempotent, examples=examples, name=name, timeout_s=timeout_s
        )
        return self.register(spec)

    def as_langchain_tools(
        self, invoke_call: ToolInvoker | None = None, names: Iterable[str] | None = None
    ) -> list[BaseTool]:
        """These tools as LangChain ``BaseTool``s, for other LangChain code (see :mod:`tools.langchain_out`).

        Each call goes to ``invoke_call(tool, args)``: give it a Tiller runtime's entry point
        (``Tiller.invoke_tool``) so validation, policy, approvals and the ledger apply. Without
        one, read tools run directly (validated) and side-effecting tools are refused.
        """
        invoker = invoke_call or ReadOnlyInvoker(self)
        wanted = self.names if names is None else list(names)
        if unknown := [n for n in wanted if n not in self._specs]:
            listed = ", ".join(map(repr, unknown))
            raise ToolDefinitionError(f"no tool named {listed} to export; the tools are: {', '.join(self.names)}")
        return [TillerTool.of(self._specs[n], invoker) for n in wanted]

    def get(self, name: str) -> ToolSpec | None:
        """The tool named ``name``, or ``None``."""
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def names(self) -> list[str]:
        """The names of the registered tools, in registration order."""
        return list(self._specs)

    def model_schemas(self) -> list[dict[str, Any]]:
        """Every tool as an OpenAI-style function schema (with ``x-tiller`` extensions)."""
        return [spec.model_schema() for spec in self._specs.values()]
