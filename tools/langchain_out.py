"""Tiller tools out: a :class:`ToolSpec` as a LangChain ``BaseTool``, for other LangChain code.

The exported tool does not run the tool itself: it hands ``(tool name, arguments)`` to a
:class:`ToolInvoker`. Given a Tiller runtime's entry point (``Tiller.invoke_tool``, which answers
with a :class:`~tools.outcome.ToolOutcome`), a call goes through the same path as the agent's own
calls — validation, policy, approval, idempotency ledger — and an answer that is not a success
(invalid arguments, a business rule, a refusal, a call waiting for a reviewer) comes back to the
LangChain caller as an error ``ToolMessage`` with the message the model should read
(``handle_tool_error``), never as a success.

Without a runtime, :class:`ReadOnlyInvoker` validates and runs **read** tools directly and
refuses side-effecting ones: approvals and exactly-once need the runtime's stores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict, SkipValidation
from sqlalchemy.orm import Session, sessionmaker

from tools.canonical import to_jsonable
from tools.contract import ToolContext, ToolSpec
from tools.db import transaction
from tools.errors import ToolError, ToolRefused
from tools.outcome import ToolOutcome
from tools.validation import validate_args


class ToolLookup(Protocol):
    """Finds a tool by name (a ``ToolRegistry`` does; named here so this module, which the
    registry imports, does not import it back)."""

    def get(self, name: str) -> ToolSpec | None:
        """The tool named ``name``, or ``None``."""


class ToolInvoker(Protocol):
    """Runs one call of a named tool: its result data (or a :class:`ToolOutcome`, which a
    runtime gives), or a :class:`ToolError` raised."""

    def __call__(self, tool: str, args: dict[str, Any]) -> dict[str, Any] | ToolOutcome:
        """Run the call of ``tool`` with ``args``: its result data (or outcome), or the refusing ``ToolError``."""


class ReadOnlyInvoker:
    """The invoker used without a runtime: read tools run, side-effecting tools are refused.

    ``sessions`` opens the transaction a database-backed read tool needs (none: the tool gets
    no session, which is enough for tools that do not touch Tiller's database).
    """

    def __init__(
        self,
        registry: ToolLookup,
        *,
        sessions: sessionmaker[Session] | None = None,
        tenant_id: str = "default",
        user_id: str = "langchain",
        thread_id: str = "langchain",
    ) -> None:
        self._registry = registry
        self._sessions = sessions
        self._who = (tenant_id, user_id, thread_id)

    def __call__(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run a read tool (in a transaction of ``sessions`` when given); a side-effecting one is refused."""
        spec = self._registry.get(tool)
        if spec is None:
            raise ToolError(f"unknown tool {tool!r}")
        valid = validate_args(spec, args)
        if spec.risk.has_side_effects:
            raise ToolRefused(
                f"{tool} is a {spec.risk.value} tool: it runs only through a Tiller runtime, which asks for "
                "approval and records the effect exactly once: export it with Tiller.langchain_tools() "
                "(or as_langchain_tools(invoke_call=tiller.invoke_tool))"
            )
        tenant_id, user_id, thread_id = self._who
        if self._sessions is None:
            return self._run(spec, ToolContext(tenant_id, user_id, thread_id, None), valid)  # no database: no session
        with transaction(self._sessions) as session:
            return self._run(spec, ToolContext(tenant_id, user_id, thread_id, session), valid)

    @staticmethod
    def _run(spec: ToolSpec, ctx: ToolContext, args: Any) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(spec.result_model.model_validate(spec.func(ctx, args)))
        return data


class TillerTool(BaseTool):
    """A Tiller tool seen from LangChain: its name, description and args JSON schema; calls go
    to ``invoker``. Errors come back as error ``ToolMessage``s carrying the Tiller message.
    Inputs are argument dicts (tool calls); like any JSON-schema tool, no single-string input."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: SkipValidation[ToolSpec]
    invoker: SkipValidation[Callable[[str, dict[str, Any]], dict[str, Any] | ToolOutcome]]
    handle_tool_error: bool = True
    handle_validation_error: bool = True

    @classmethod
    def of(cls, spec: ToolSpec, invoker: ToolInvoker) -> TillerTool:
        """The LangChain tool of ``spec``, its calls handed to ``invoker``."""
        # The args are handed over as their JSON schema, as the model sees it: LangChain passes
        # the input through untouched and validation stays the invoker's — the runtime's, which
        # names each field and records the invalid call like any other.
        return cls(
            name=spec.name,
            description=spec.description,
            args_schema=spec.args_schema(),
            spec=spec,
            invoker=invoker,
            metadata={"tiller_risk": spec.risk.value, "tiller_idempotent": spec.idempotent},
        )

    def _run(self, run_manager: CallbackManagerForToolRun | None = None, **kwargs: Any) -> str:
        try:
            answer = self.invoker(self.spec.name, to_jsonable(kwargs))
            data = answer.unwrap() if isinstance(answer, ToolOutcome) else answer
        except ToolError as exc:
            raise ToolException(exc.message) from None
        return json.dumps(data, ensure_ascii=False, sort_keys=True)
