"""The load test's peer: LangChain's ``create_agent`` over the same domain, as LangGraph Server runs it.

``langgraph dev`` imports ``bench.peer_app:graph`` (see ``bench/load_peer.py``), which builds the
agent here from a :class:`PeerAgentConfig` file the load test writes. The agent is the peer's
equivalent of what ``tiller serve`` runs in the same benchmark:

- **the same tools over the same data**: the domain's own tool functions (``get_order``,
  ``issue_refund``, … and ``search_knowledge_base`` over the same BM25 index), bound to the model
  exactly as Tiller binds them (same names, descriptions and argument schemas), each call validated
  with the tool's schema and run in one transaction on the same SQLite home — without Tiller's
  runtime around it (no idempotency ledger, approval rows, guards, trace or cache);
- **the same model path**: ``ChatOpenAI`` streamed against the fake chat-completions server;
- **an approval for each high-risk call**: ``HumanInTheLoopMiddleware`` pauses the run with a
  LangGraph ``interrupt`` and the load client resumes it with ``Command(resume={"decisions": …})``;
- the middleware nearest to Tiller's defaults (call limits, card-number redaction), the same set
  as the ``create_agent`` peer of the per-step benchmark (``bench/runtimes.py``).

This module imports only ``tools/`` (not Tiller's runtime), so the peer's process holds LangGraph
Server, LangChain and the domain's tools — not ``agent/``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.canonical import to_jsonable
from tools.contract import Risk, ToolContext, ToolSpec
from tools.db import make_engine, transaction
from tools.domain import Domain, load_domain
from tools.errors import ToolError
from tools.registry import ToolRegistry
from tools.validation import validate_args

if TYPE_CHECKING:  # LangChain's agents (the bench extra) load only where the agent is built
    from langchain.agents.middleware import AgentMiddleware
    from sqlalchemy.orm import Session, sessionmaker

CONFIG_ENV = "TILLER_PEER_CONFIG"
"""Names the :class:`PeerAgentConfig` file the server's ``bench.peer_app`` builds the agent from."""


@dataclass(frozen=True)
class PeerAgentConfig:
    """Everything the peer's graph needs, written as JSON by the load test and read by the server."""

    database_url: str
    """The Tiller home's business database (the same one ``tiller serve`` uses in its run)."""
    index_dir: Path
    """The domain's saved search index (``TILLER_HOME/index/<domain>``), built by the load test."""
    model: str
    """The model name sent to the chat-completions server."""
    model_url: str
    """The chat-completions server's base URL (``…/v1``)."""
    api_key: str
    prompt: str
    """The system prompt: Tiller's own for the domain, so both send the model the same text."""
    tenant: str
    user: str
    domain: str = "tools.commerce.domain:domain"
    """The domain as an import path (the peer's venv does not install Tiller, so no entry points)."""
    max_model_calls: int = 8
    max_tool_calls: int = 12
    approval_only: bool = False
    """Only the approval interrupt, none of the other middleware (the ``create-agent-hitl`` runtime of the
    load test: the least ``create_agent`` that still pauses every refund for a reviewer)."""

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), default=str, indent=2))

    @classmethod
    def read(cls, path: Path) -> PeerAgentConfig:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the peer agent's config {path}: {exc}") from exc
        data["index_dir"] = Path(data["index_dir"])
        return cls(**data)


class DirectInvoker:
    """Runs one call of a domain tool: arguments validated with its schema, the function run in one
    transaction. The peer's own machinery decides what may run (its approval interrupt); there is
    no ledger, approval row or guard here — that is the difference being measured."""

    def __init__(self, registry: ToolRegistry, sessions: sessionmaker[Session], tenant: str, user: str) -> None:
        self._registry = registry
        self._sessions = sessions
        self._tenant = tenant
        self._user = user
        # One side-effecting call at a time. SQLite has one writer anyway; Tiller's effect
        # transaction takes its write lock first (it consumes the approval row before the tool
        # runs), so two refunds never read the same "next refund id". Without this the peer's
        # concurrent refunds would collide on it and fail ("another change … try again").
        self._writer = threading.Lock()

    def __call__(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        spec = self._registry.get(tool)
        if spec is None:
            raise ToolError(f"unknown tool {tool!r}")
        valid = validate_args(spec, args)
        if not spec.risk.has_side_effects:
            return self._run(spec, valid)
        with self._writer:
            return self._run(spec, valid)

    def _run(self, spec: ToolSpec, args: Any) -> dict[str, Any]:
        with transaction(self._sessions) as session:
            result = spec.func(ToolContext(self._tenant, self._user, "peer", session), args)
            data: dict[str, Any] = to_jsonable(spec.result_model.model_validate(result))
        return data


def domain_specs(domain: Domain, index_dir: Path) -> list[ToolSpec]:
    """The domain's tools plus the search over its knowledge base (as ``domain_registry`` gives
    Tiller, without MCP servers), the index loaded from ``index_dir``."""
    from tools.retrieval import build_or_load, knowledge_tools

    specs = domain.tool_specs()
    kb = domain.knowledge
    if kb is not None:
        index = build_or_load(kb.documents, index_dir, mode="bm25")
        specs += knowledge_tools(index, kb.retrieval, description=kb.tool_description, examples=kb.tool_examples)
    return specs


def nearest_middleware(
    review: Iterable[str], max_model_calls: int, max_tool_calls: int
) -> list[AgentMiddleware[Any, Any, Any]]:
    """``create_agent``'s middleware nearest to Tiller's defaults: a reviewer for the ``review``
    tools (an interrupt), run limits on model and tool calls, card numbers redacted both ways."""
    from langchain.agents.middleware import (
        HumanInTheLoopMiddleware,
        ModelCallLimitMiddleware,
        PIIMiddleware,
        ToolCallLimitMiddleware,
    )

    return [
        HumanInTheLoopMiddleware(interrupt_on=dict.fromkeys(review, True)),
        ModelCallLimitMiddleware(run_limit=max_model_calls),
        ToolCallLimitMiddleware(run_limit=max_tool_calls),
        PIIMiddleware("credit_card", strategy="redact", apply_to_input=True, apply_to_output=True),
    ]


def build_agent(config: PeerAgentConfig) -> Any:
    """The compiled ``create_agent`` graph (no checkpointer: LangGraph Server brings its own)."""
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langchain_openai import ChatOpenAI
    from sqlalchemy.orm import sessionmaker

    from tools.langchain_out import TillerTool

    specs = domain_specs(load_domain(config.domain), config.index_dir)
    sessions = sessionmaker(make_engine(config.database_url), expire_on_commit=False)
    invoker = DirectInvoker(ToolRegistry(specs), sessions, config.tenant, config.user)
    tools = [TillerTool.of(spec, invoker) for spec in specs]
    model = ChatOpenAI(
        model=config.model, base_url=config.model_url, api_key=config.api_key, streaming=True, stream_usage=True
    )
    review = [s.name for s in specs if s.risk is Risk.HIGH_RISK]
    middleware = nearest_middleware(review, config.max_model_calls, config.max_tool_calls)
    if config.approval_only:
        middleware = [m for m in middleware if isinstance(m, HumanInTheLoopMiddleware)]
    return create_agent(
        model,
        tools,
        system_prompt=config.prompt,
        middleware=middleware,
    )
