"""The tool registry: the set of tools one agent may call, by name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from langchain_core.tools import BaseTool

from tools.contract import Risk, ToolSpec
from tools.errors import ToolDefinitionError
from tools.langchain_in import LangChainToolResult, from_langchain
from tools.langchain_out import ReadOnlyInvoker, TillerTool, ToolInvoker

__all__ = ["LangChainToolResult", "ToolRegistry"]


class ToolRegistry:
    """Tools by name. Registration fails loudly on duplicates, on an args model without a JSON
    schema and on a ``lookup_first`` naming no read tool of the registry; lookups return ``None``.

    ``ToolRegistry(specs)`` checks each ``lookup_first`` once all of ``specs`` are in, so their
    order does not matter; a tool added later with :meth:`register` must name one already there.
    """

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            self._add(spec)
        for spec in self._specs.values():
            if problem := _lookup_problem(spec, self._specs):
                raise ToolDefinitionError(problem)

    def register(self, spec: ToolSpec) -> ToolSpec:
        """Add a Tiller tool; a second tool of the same name, or a ``lookup_first`` naming no read
        tool registered before it, is a ``ToolDefinitionError``."""
        if spec.name not in self._specs and (problem := _lookup_problem(spec, {**self._specs, spec.name: spec})):
            later = spec.lookup_first not in self._specs and spec.lookup_first != spec.name
            raise ToolDefinitionError(f"{problem} (register it before {spec.name!r})" if later else problem)
        return self._add(spec)

    def _add(self, spec: ToolSpec) -> ToolSpec:
        if spec.name in self._specs:
            raise ToolDefinitionError(f"a tool named {spec.name!r} is already registered")
        spec.args_schema()  # an args model incomplete when declared (a forward reference) is checked here
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


def _lookup_problem(spec: ToolSpec, specs: Mapping[str, ToolSpec]) -> str | None:
    """What is wrong with ``spec.lookup_first`` among ``specs`` (which include ``spec``), if anything."""
    name = spec.lookup_first
    if name is None:
        return None
    prefix = f"tool {spec.name!r}: lookup_first names {name!r}"
    target = specs.get(name)
    if target is None:
        return f"{prefix}, which is not a tool of this registry; its tools are: {', '.join(specs)}"
    if name == spec.name:
        return f"{prefix}, the tool itself; it must name a read tool to run before this one"
    if target.risk.has_side_effects:
        return (
            f"{prefix}, which is a {target.risk.value} tool; lookup_first must name a read tool "
            "(risk=Risk.READ) that looks the record up before this one"
        )
    return None
