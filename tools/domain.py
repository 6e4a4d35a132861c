"""A domain: one business brought to Tiller — its tools, tables, seed, knowledge, prompt, policy
and what the runtime's checks must know about it — as one object a package provides.

    from tools.domain import Domain
    domain = Domain(name="shop", title="Shop & Co", tools=[get_order, issue_refund], metadata=Base.metadata, ...)

A package exposes its domain through the ``tiller.domains`` entry-point group (``name =
"pkg.module:domain"``) or as an import path (``TILLER_DOMAIN=pkg.module:domain``); the object may
also be a zero-argument callable returning the domain (to defer heavy imports). Every surface —
CLI, service, workflows, evals, worker processes — runs the domain ``TILLER_DOMAIN`` names
without anything under ``agent/`` or ``evals/`` knowing its concepts. See docs/DOMAINS.md.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tools.canonical import digest
from tools.contract import ToolSpec
from tools.errors import ToolDefinitionError
from tools.policy import ApprovalPolicy

if TYPE_CHECKING:
    from sqlalchemy import Engine, MetaData
    from sqlalchemy.orm import Session

    from tools.retrieval.config import RetrievalConfig

DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Fixtures(BaseModel):
    """What a seed is told to build: a domain subclasses it with its own fields (sizes, a random
    seed, named records…). Scenarios and ``tiller db seed --set`` give values as plain data; the
    domain's model validates them, so a wrong field name or value is an error naming the field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def key(self) -> str:
        """A stable short name for these values (seeded templates are cached by it)."""
        return digest(self.model_dump_json())[:12]


class AlreadySeeded(RuntimeError):
    """The database already holds this domain's data; ``tiller db reset`` starts over."""


@dataclass(frozen=True)
class Seed:
    """How a domain fills its tables with deterministic data."""

    fixtures: type[Fixtures] = Fixtures
    """The model of the values a seed takes (defaults for every field)."""
    run: Callable[[Engine, Any], str] | None = None
    """``run(engine, fixtures) -> one-line report``; raises :class:`AlreadySeeded` when the data
    is there already. ``None``: the domain has nothing to seed."""
    sizes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Named sets of values (``tiller db seed --size NAME``), e.g. ``{"test": {"orders": 120}}``."""
    scenario_size: str | None = None
    """The size a scenario's ``fixtures`` start from (``None``: the fixtures model's defaults):
    small data keeps every eval trial's fresh database cheap."""

    def parse(self, values: Mapping[str, Any] | None = None, size: str | None = None) -> Fixtures:
        """The fixtures of a named size (if any) overridden by ``values``; a bad size or value
        raises ``ValueError`` naming it."""
        base: dict[str, Any] = {}
        if size is not None:
            if size not in self.sizes:
                known = ", ".join(sorted(self.sizes)) or "none"
                raise ValueError(f"unknown seed size {size!r} (sizes: {known})")
            base = dict(self.sizes[size])
        try:
            return self.fixtures.model_validate({**base, **(values or {})})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(fixtures)'}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"invalid fixtures: {problems}") from None


@dataclass(frozen=True)
class KnowledgeBase:
    """Documents the agent searches (``search_knowledge_base``), and how that tool reads."""

    documents: Path
    """A folder of Markdown files, chunked by section and indexed (BM25, + dense vectors with the
    ``embeddings`` extra)."""
    tool_description: str | None = None
    """The search tool's description in this business's words (None: a neutral default)."""
    tool_examples: tuple[str, ...] = ()
    """Requests that should lead to the search (the offline model chooses tools by them)."""
    questions: Path | None = None
    """Labelled retrieval questions (YAML) for ``tiller index eval``."""
    retrieval: RetrievalConfig | None = None
    """Which retrieval stages run (query rewriting, reranking…); ``None``: the measured defaults."""


@dataclass(frozen=True)
class Entity:
    """A kind of record the business talks about, as the answer checks must know it.

    With ``id_pattern`` an answer may only name ids of this kind that a tool result (or the user)
    gave in the conversation; with ``status_field`` and ``status_words`` a status stated about one
    record must be the status a tool returned for it."""

    name: str
    id_pattern: str
    """A regular expression matching one public id, e.g. ``W\\d{7}``."""
    id_fields: tuple[str, ...] = ()
    """Fields of tool results that hold this kind's id (``order_id``)."""
    status_field: str | None = None
    """The field of a result record that holds its status."""
    status_words: Mapping[str, str] = field(default_factory=dict)
    """How people say each status (``"in transit": "shipped"``), lower case, to canonical value."""
    owner_field: str | None = None
    """The field that says whose record it is (e.g. ``customer_id``), for customer-scoped keys."""


@dataclass(frozen=True)
class Vocabulary:
    """What the output checks must know of a business: its kinds of records."""

    entities: tuple[Entity, ...] = ()

    def entity(self, name: str) -> Entity | None:
        """The entity named ``name``, if the business has one."""
        return next((e for e in self.entities if e.name == name), None)


@dataclass(frozen=True)
class ReviewFact:
    """One fact a reviewer sees next to a high-risk call (read fresh from the business system)."""

    label: str
    value: str


@dataclass(frozen=True)
class RuleCheck:
    """A business rule evaluated against the call's arguments: passed, or the rule's message."""

    rule: str
    passed: bool
    message: str = ""
    label: str = ""
    """What the rule requires, in a reviewer's words ("within the refundable balance")."""
    blocking: bool = True
    """A failing blocking rule makes the tool refuse the call, so a reviewer cannot approve it as
    it is, and an edit that breaks one is refused before it is recorded; a non-blocking one is
    advice for the reviewer (a policy exception)."""


@dataclass(frozen=True)
class ReviewContext:
    """What a reviewer needs to decide one call: facts, the rules' verdicts, and what to search
    in the knowledge base for the policy that applies."""

    facts: tuple[ReviewFact, ...] = ()
    checks: tuple[RuleCheck, ...] = ()
    policy_query: str | None = None
    arguments: tuple[ReviewFact, ...] = ()
    """How arguments read for a person (``amount`` → ``$74.97 USD``); others are shown as they are."""


ReviewProvider = Callable[["Session", str, BaseModel], ReviewContext]
"""``(session, tenant_id, args) -> ReviewContext`` for one high-risk tool: facts read in a
read-only session (rolled back afterwards), and the tool's own rules evaluated on ``args``. The
runtime also checks a reviewer's decision with it, read again at that moment: a failing blocking
check refuses an approval of the call as requested, and an edit that does not fix it."""


@dataclass(frozen=True)
class Domain:
    """One business: everything Tiller's runtime, checks, CLI, service and evals need to run it."""

    name: str
    """Short name (``TILLER_DOMAIN``), lower case: letters, digits, ``-`` and ``_``."""
    title: str
    """The business as people call it (the chat header, the prompt's ``{title}``)."""
    tools: Sequence[ToolSpec] | Callable[[], Sequence[ToolSpec]] = ()
    """The domain's own tools (the knowledge-base search is added by the runtime)."""
    metadata: MetaData | None = None
    """SQLAlchemy metadata of the business tables (created beside the runtime's own)."""
    migrations: Path | None = None
    """An Alembic script folder for those tables (its ``env.py`` calls
    ``tools.migrations.run_domain_migrations``); ``None``: ``db upgrade`` only creates missing tables."""
    seed: Seed = field(default_factory=Seed)
    knowledge: KnowledgeBase | None = None
    system_prompt: str = ""
    """The agent's instructions for this business (``{title}`` is replaced)."""
    approval_policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    """Defaults of the approval policy (a ``TILLER_POLICY_FILE`` replaces them)."""
    guard_policy: Mapping[str, Any] = field(default_factory=dict)
    """Defaults of the guard policy, as the YAML of ``TILLER_GUARD_POLICY_FILE`` would give them."""
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    review: Mapping[str, ReviewProvider] = field(default_factory=dict)
    """Per high-risk tool: the context its reviewer sees."""
    welcome: str = ""
    """One line for the chat's start ("Ask about your orders, returns and refunds.")."""
    examples: tuple[str, ...] = ()
    """Example requests shown in the chat and on the chat page."""
    scenarios: Path | None = None
    """The folder of the domain's own scenarios (``tiller eval run`` without paths)."""
    mcp_servers: Path | None = None
    """An MCP servers file (``tools/mcp/config.py``) whose tools join the domain's own."""
    tenant: str = "default"
    """The tenant the CLI acts in unless told otherwise."""
    user: str = "agent"
    """The acting user of the CLI unless told otherwise."""
    role: str = "support_agent"
    """The role of a user without one (policy rules can depend on it)."""

    def __post_init__(self) -> None:
        if not DOMAIN_NAME.match(self.name):
            raise ToolDefinitionError(f"domain name {self.name!r} must match {DOMAIN_NAME.pattern}")
        if not self.title.strip():
            raise ToolDefinitionError(f"domain {self.name!r} needs a title")
        for entity in self.vocabulary.entities:
            try:
                re.compile(entity.id_pattern)
            except re.error as exc:
                raise ToolDefinitionError(f"domain {self.name!r}: {entity.name} id_pattern: {exc}") from None

    def tool_specs(self) -> list[ToolSpec]:
        """The domain's tools, in the order a model should read them."""
        specs = self.tools() if callable(self.tools) else self.tools
        return list(specs)

    def prompt(self) -> str:
        """The system prompt with the business's title filled in."""
        return self.system_prompt.replace("{title}", self.title)


ENTRY_POINTS = "tiller.domains"


def installed_domains() -> dict[str, str]:
    """Domains installed as packages: entry-point name → ``module:attribute``."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINTS)}


_LOADED: dict[str, Domain] = {}


def load_domain(spec: str) -> Domain:
    """The domain ``spec`` names: an installed entry point (``commerce``) or an import path
    (``pkg.module:domain``), whose object is a :class:`Domain` or a callable returning one.
    Loaded once per process; a bad spec raises ``ToolDefinitionError`` saying what exists."""
    if spec not in _LOADED:
        _LOADED[spec] = _load(spec)
    return _LOADED[spec]


def _load(spec: str) -> Domain:
    target = spec if ":" in spec else installed_domains().get(spec)
    if target is None:
        known = ", ".join(sorted(installed_domains())) or "none installed"
        raise ToolDefinitionError(
            f"no domain {spec!r}: installed domains are {known}; give an import path pkg.module:domain, "
            "or install the package that provides it (entry-point group tiller.domains)"
        )
    module_name, _, attribute = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ToolDefinitionError(f"domain {spec!r}: cannot import {module_name} ({exc})") from None
    for part in (attribute or "domain").split("."):
        if not hasattr(obj, part):
            raise ToolDefinitionError(f"domain {spec!r}: {module_name} has no attribute {attribute or 'domain'!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, Domain) and callable(obj):
        obj = obj()
    if not isinstance(obj, Domain):
        raise ToolDefinitionError(f"domain {spec!r}: {target} is a {type(obj).__name__}, not a tools.domain.Domain")
    return obj
