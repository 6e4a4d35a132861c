"""Typed configuration, read once from the environment (``TILLER_*``) and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import ConfigError
from tools.domain import Domain, load_domain
from tools.errors import ToolDefinitionError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DOMAIN = "commerce"
"""The demo shop, run when nothing says otherwise (``make chat``); any installed domain can be."""


class Limits(BaseSettings):
    """Bounds of one run. Reaching any of them ends the run with ``limit_reached``."""

    model_config = SettingsConfigDict(env_prefix="TILLER_", frozen=True, extra="ignore")

    max_steps: int = Field(8, ge=1, description="model turns per run")
    max_tool_calls: int = Field(12, ge=0, description="tool calls per run, all tools")
    max_calls_per_tool: int = Field(6, ge=0, description="calls of any one tool per run")
    max_tokens: int = Field(60_000, ge=1, description="input + output tokens per run")
    deadline_s: float = Field(120.0, gt=0, description="wall-clock seconds per run segment")
    max_invalid_args: int = Field(2, ge=0, description="invalid tool arguments tolerated per run")
    max_cost_usd: float | None = Field(None, gt=0, description="model cost per run, USD (from the price table)")
    max_context_tokens: int = Field(
        24_000, ge=1_000, description="history sent to the model; older turns are trimmed whole"
    )


class Settings(BaseSettings):
    """Where Tiller keeps its data, which model it uses, who acts by default."""

    model_config = SettingsConfigDict(env_prefix="TILLER_", frozen=True, extra="ignore")

    home: Path = Field(Path(".tiller"), description="data directory (SQLite files, index)")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in home")
    # Below the tools' timeout (10 s by default): a call that times out while its write still waits
    # for a lock would otherwise commit later, after the model was told it failed.
    db_busy_timeout_s: float = Field(
        5.0, gt=0, description="SQLite: seconds a write waits for another process's lock before it fails"
    )
    model: str = Field(
        "offline",
        description="model spec: offline | openai:<name> | replay:<file> | llamacpp:<gguf>; a,b = fallback; "
        "router:CHEAP,STRONG = cheap tier first",
    )
    domain: str = Field(
        DEFAULT_DOMAIN,
        description="the business the agent runs: an installed domain (`tiller domains list`) or pkg.module:domain",
    )
    tenant_domains: dict[str, str] = Field(
        default_factory=dict,
        description='tenants bound to another domain than TILLER_DOMAIN, e.g. {"sierra": "tau2-retail"}',
    )
    kb_dir: Path | None = Field(None, description="Markdown knowledge base to index (default: the domain's)")
    retrieval_mode: Literal["auto", "bm25", "hybrid"] = Field(
        "auto", description="auto: hybrid (BM25 + dense) when the embeddings extra is installed, else BM25"
    )
    tenant: str = Field("", description="default tenant for the CLI (empty: the domain's)")
    user: str = Field("", description="default acting user for the CLI (empty: the domain's)")
    approval_ttl_s: int = Field(24 * 3600, gt=0, description="seconds before a pending approval expires")
    max_message_chars: int = Field(
        8000, ge=1, description="longest user message a run accepts, on every surface (the API answers 413)"
    )
    policy_file: Path | None = Field(None, description="YAML approval policy (tools.policy)")
    stream_tokens: bool = Field(
        True, description="models stream their answers, token by token, to the CLI, the SSE stream and the chat page"
    )
    mcp_servers: Path | None = Field(
        None, description="YAML file of MCP servers whose tools join the domain's (tools/mcp/config.py)"
    )
    guard_policy_file: Path | None = Field(None, description="YAML guard policy per tenant (agent/checks/policy.py)")
    tenant_daily_budgets: dict[str, float] = Field(
        default_factory=dict, description='USD per tenant per UTC day, e.g. {"tenant-a": 50}; unset = unlimited'
    )
    tool_cache: bool = Field(True, description="reuse results of read tools that declare cache_ttl_s")
    price_file: Path | None = Field(
        None, description="YAML prices per model, USD per 1M tokens (agent/models/pricing.py)"
    )
    model_cache: bool = Field(
        False,
        description="answer byte-identical model requests from a per-tenant cache (opt-in; never in pass^k evals)",
    )
    model_cache_ttl_s: float = Field(3600.0, gt=0, description="seconds a cached model reply stays valid")
    model_retries: int = Field(2, ge=0, description="retries of transient model errors")
    model_retry_initial_s: float = Field(1.0, gt=0, description="first retry back-off (jittered, doubling)")

    @property
    def db_url(self) -> str:
        """The business database's URL: ``TILLER_DATABASE_URL``, else a SQLite file in the home."""
        return self.database_url or f"sqlite:///{self.home / 'tiller.db'}"

    @property
    def uses_postgres(self) -> bool:
        """Whether the database is PostgreSQL (checkpoints then live there too)."""
        return self.db_url.startswith(("postgresql", "postgres:"))

    @property
    def checkpoint_path(self) -> Path:
        """The SQLite file that holds LangGraph's checkpoints when the database is SQLite."""
        return self.home / "checkpoints.db"

    @property
    def index_dir(self) -> Path:
        """Where each domain's search index is kept (one folder per domain)."""
        return self.home / "index"


def _explain(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        problems.append(f"TILLER_{field.upper()}: {err['msg']} (got {err.get('input')!r})")
    return "invalid configuration: " + "; ".join(problems)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (plus overrides), with the domain's defaults filled in; a bad
    value names its variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    return with_domain_defaults(settings)


def domain_of(settings: Settings, tenant: str | None = None) -> Domain:
    """The domain ``tenant`` is bound to (``TILLER_TENANT_DOMAINS``), else ``TILLER_DOMAIN``'s;
    an unknown one raises ``ConfigError`` saying which are installed."""
    spec = settings.tenant_domains.get(tenant or "", settings.domain)
    try:
        return load_domain(spec)
    except ToolDefinitionError as exc:
        raise ConfigError(str(exc)) from None


def with_domain_defaults(settings: Settings) -> Settings:
    """``settings`` with what it leaves to the domain filled in: tenant, user, knowledge base."""
    domain = domain_of(settings)
    filled: dict[str, object] = {}
    if not settings.tenant:
        filled["tenant"] = domain.tenant
    if not settings.user:
        filled["user"] = domain.user
    if settings.kb_dir is None and domain.knowledge is not None:
        filled["kb_dir"] = domain.knowledge.documents
    return settings.model_copy(update=filled) if filled else settings


def load_limits() -> Limits:
    """The limits from the environment (``TILLER_MAX_*``); a bad value names its variable."""
    try:
        return Limits()
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
