"""The tool contract: how a tool is declared once and described to models.

A tool is a plain function ``fn(ctx: ToolContext, args: ArgsModel) -> ResultModel`` plus its
declaration (risk, idempotency, timeout, retries, examples). The ``@tool`` decorator builds a
:class:`ToolSpec` from the function's signature and docstring.

Tenant and caller identity come from :class:`ToolContext`, never from model-chosen arguments.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, get_type_hints

from pydantic import BaseModel, create_model
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticUserError

from tools.errors import ToolDefinitionError, ToolRefused

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Risk(StrEnum):
    """How much harm a tool can do; drives the default approval policy."""

    READ = "read"
    WRITE = "write"
    HIGH_RISK = "high_risk"

    @property
    def has_side_effects(self) -> bool:
        """Whether the tool changes something (writes and high-risk tools do; reads do not)."""
        return self is not Risk.READ


@dataclass(frozen=True)
class ToolContext:
    """Who is calling and with which resources; filled by the runtime, never by the model.

    ``session`` is an open SQLAlchemy session inside the transaction the call runs in: for
    side-effecting tools that transaction also records the idempotency key and consumes the
    approval, so the effect commits exactly once or not at all. It is ``None`` where no database
    is at hand (an async read tool on the event loop, a read tool run without a runtime, a
    reviewer's policy search); a tool that needs one reads :attr:`db`, which says so.
    """

    tenant_id: str
    user_id: str
    thread_id: str
    session: Session | None
    tool_call_id: str = ""
    subject: str | None = None
    """The principal inside the tenant this call acts for — e.g. one customer's id — or ``None``
    for tenant-wide (staff) access. A tool scopes every read and write to the subject's own
    records (``Entity.owner_field``); another subject's records look like records that do not
    exist, as another tenant's do."""

    @property
    def db(self) -> Session:
        """The call's database session; a refusal the model can read when the call has none."""
        if self.session is None:
            raise ToolRefused(
                "This tool reads or writes the business database, but it was called without one: run it "
                "through a Tiller runtime, or give the invoker a session factory (ReadOnlyInvoker(sessions=...))."
            )
        return self.session


ToolFunc = Callable[[ToolContext, Any], BaseModel]
AsyncToolFunc = Callable[[ToolContext, Any], Awaitable[BaseModel]]
Contextualize = Callable[[Any, tuple[str, ...]], BaseModel]
"""``(args, earlier user messages, oldest first) -> args``: see ``ToolSpec.contextualize``."""


@dataclass(frozen=True)
class ToolSpec:
    """A declared tool.

    ``examples`` are user phrasings that should lead to this tool (used by the offline model's
    tool selection and in docs). ``lookup_first`` names a read tool that should run before this
    one on the same entity (e.g. ``get_order`` before ``issue_refund``).
    """

    name: str
    description: str
    args_model: type[BaseModel]
    result_model: type[BaseModel]
    func: ToolFunc
    risk: Risk
    idempotent: bool
    timeout_s: float = 10.0
    max_retries: int = 0
    examples: tuple[str, ...] = ()
    lookup_first: str | None = None
    tags: tuple[str, ...] = field(default=())
    cache_ttl_s: float | None = None  # read tools only: results may be reused this long
    afunc: AsyncToolFunc | None = None
    """The same call as an awaitable, for an async runtime (tools whose client is async: MCP,
    async LangChain tools). ``func`` stays the synchronous path and must always work."""
    model_hidden: tuple[str, ...] = ()
    """Result fields kept in the trajectory but not meant for the model's tool message (a
    LangChain tool's ``artifact``)."""
    untrusted_fields: tuple[str, ...] | None = None
    """Result fields that hold untrusted free text — what people outside the business wrote (a
    customer's note, a ticket body, a document, an email) — as dotted paths (list items keep
    their list's path: ``"passages.text"``); ``"*"`` or ``None`` (the default, e.g. LangChain and
    MCP tools): every field. The rest of a result counts as the business system's own trusted
    data (ids, amounts, statuses). The approval policy weighs where a write's arguments came from
    (``tools.provenance``); a result's trust is never a matter of the model's say."""
    contextualize: Contextualize | None = None
    """Read tools only: completes the model's arguments from the user's earlier messages in the
    thread (trusted text, never model output), e.g. a follow-up search made standalone. The
    runtime applies it before the result cache and the call, so both see the completed args."""
    remote: bool = False
    """Its effect happens outside Tiller's database (an MCP server, a LangChain tool calling an
    API), so it cannot commit with the ledger row: the ledger records the call as *sent* before
    sending it (``tools.ledger.execute_remote_once``)."""

    @property
    def sent_once(self) -> bool:
        """A remote effect that is not idempotent: recorded as sent before it goes out, never
        sent twice under one key, and of unknown outcome when its answer does not come."""
        return self.remote and self.risk.has_side_effects and not self.idempotent

    def __post_init__(self) -> None:
        if not self.name.replace("_", "").isalnum() or not self.name.islower():
            raise ToolDefinitionError(f"tool name {self.name!r} must be lower_snake_case (verb_object)")
        if not self.description.strip():
            raise ToolDefinitionError(f"tool {self.name!r} needs a description (its docstring)")
        if self.max_retries and self.risk.has_side_effects and not self.idempotent:
            raise ToolDefinitionError(f"tool {self.name!r}: only idempotent tools may be retried")
        if self.cache_ttl_s is not None and self.risk.has_side_effects:
            raise ToolDefinitionError(f"tool {self.name!r}: side-effecting tools are never cached")
        if self.contextualize is not None and self.risk.has_side_effects:
            # An approval covers the exact args a reviewer saw; nothing may rewrite them after.
            raise ToolDefinitionError(f"tool {self.name!r}: only read tools may contextualize their arguments")
        if getattr(self.args_model, "__pydantic_complete__", True):
            # The model sees the schema, so a model without one is a definition mistake: say so now,
            # not at the first model call. (One still waiting on a forward reference is checked
            # when it is registered.)
            self.args_schema()

    def args_schema(self) -> dict[str, Any]:
        """JSON schema of the arguments, as the model sees it (a fresh copy each call); an args
        model pydantic cannot describe in JSON schema is a ``ToolDefinitionError`` naming the field."""
        try:
            return copy.deepcopy(_args_schema(self.args_model))
        except PydanticInvalidForJsonSchema as exc:
            raise ToolDefinitionError(_no_schema_message(self.name, self.args_model, exc)) from None

    def model_schema(self) -> dict[str, Any]:
        """OpenAI-style function schema, plus Tiller extensions under ``x-tiller``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.args_schema(),
            },
            "x-tiller": {
                "risk": self.risk.value,
                "examples": list(self.examples),
                "lookup_first": self.lookup_first,
            },
        }


@functools.cache
def _args_schema(args_model: type[BaseModel]) -> dict[str, Any]:
    """Generating a JSON schema costs milliseconds per model, and every runtime asks for each
    tool's: computed once per args model per process."""
    schema = args_model.model_json_schema()
    schema.pop("title", None)
    return schema


def _no_schema_message(tool_name: str, args_model: type[BaseModel], exc: PydanticInvalidForJsonSchema) -> str:
    found = _field_without_schema(args_model)
    where = f"its field {found[0]!r} ({found[1]})" if found else "one of its fields"
    return (
        f"tool {tool_name!r}: its args model {args_model.__name__} has no JSON schema to show the model: "
        f"{where} is not JSON-representable ({exc.message}). Use JSON-representable types: str, int, "
        "float, Decimal, bool, date/datetime, lists, dicts, nested pydantic models, enums, Literal; "
        "pass anything else (a client, a callable) through the tool's code, not its arguments."
    )


def _field_without_schema(model: type[BaseModel], seen: frozenset[type] = frozenset()) -> tuple[str, str] | None:
    """``(dotted path, type)`` of the first field pydantic cannot describe in JSON schema, found
    by describing each field alone; ``None`` when no single field is to blame."""
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
            inner = _field_without_schema(annotation, seen | {model})
            if inner is not None:
                return f"{name}.{inner[0]}", inner[1]
        try:
            field_alone: dict[str, Any] = {name: (annotation, info)}
            alone = create_model(model.__name__, __config__=model.model_config, **field_alone)
            alone.model_json_schema()
        except PydanticInvalidForJsonSchema:
            return name, _type_name(annotation)
        except (PydanticUserError, NameError, TypeError):
            continue  # this field alone cannot even be probed: the search goes on
    return None


def _type_name(annotation: Any) -> str:
    return annotation.__qualname__ if isinstance(annotation, type) else repr(annotation).replace("typing.", "")


def tool(
    *,
    risk: Risk,
    idempotent: bool | None = None,
    timeout_s: float = 10.0,
    max_retries: int = 0,
    examples: tuple[str, ...] = (),
    lookup_first: str | None = None,
    name: str | None = None,
    cache_ttl_s: float | None = None,
    contextualize: Contextualize | None = None,
    untrusted: tuple[str, ...] | None = None,
) -> Callable[[Callable[..., BaseModel]], ToolSpec]:
    """Declare a tool from ``fn(ctx: ToolContext, args: ArgsModel) -> ResultModel``.

    Read tools are idempotent by default; side-effecting tools are not unless said so.
    ``untrusted``: the result fields that hold untrusted free text (``ToolSpec.untrusted_fields``;
    ``()``: none, ``None``: all).
    """

    def wrap(fn: Callable[..., BaseModel]) -> ToolSpec:
        hints = get_type_hints(fn)
        params = list(inspect.signature(fn).parameters)
        if len(params) != 2:
            raise ToolDefinitionError(f"{fn.__name__}: a tool takes (ctx, args), got {params}")
        args_model = hints.get(params[1])
        result_model = hints.get("return")
        for what, model in (("args", args_model), ("result", result_model)):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ToolDefinitionError(f"{fn.__name__}: {what} must be annotated with a pydantic model")
        assert args_model is not None and result_model is not None
        return ToolSpec(
            name=name or fn.__name__,
            description=inspect.cleandoc(fn.__doc__ or ""),
            args_model=args_model,
            result_model=result_model,
            func=fn,
            risk=risk,
            idempotent=(risk is Risk.READ) if idempotent is None else idempotent,
            timeout_s=timeout_s,
            max_retries=max_retries,
            examples=examples,
            lookup_first=lookup_first,
            cache_ttl_s=cache_ttl_s,
            contextualize=contextualize,
            untrusted_fields=untrusted,
        )

    return wrap
