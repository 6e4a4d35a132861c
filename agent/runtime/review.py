"""The review context of a high-risk call, as the inbox, the API and the CLI show it.

A domain declares, per high-risk tool, what its reviewer must see (``Domain.review``): facts read
fresh from the business system, the tool's own rules evaluated on the arguments, and a query for
the policy that applies. Here that becomes one plain view — facts, checks, policy passages from
the domain's knowledge base, and arguments as a person reads them — without the core knowing
what any of it is about. The same checks pre-check a reviewer's edit (``blocking_failures``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from tools.contract import ToolContext
from tools.errors import ArgumentsInvalid
from tools.review import ReviewUnavailable, blocking_failures, read_review_context
from tools.validation import validate_args

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent.runtime.domains import DomainRuntimes
    from tools.domain import ReviewContext, RuleCheck

log = logging.getLogger("tiller.review")
POLICY_SEARCH = "search_knowledge_base"  # the knowledge-base tool every domain with documents gets
MAX_POLICY_PASSAGES = 2


class ReviewFactView(BaseModel):
    """One business fact a reviewer sees (``Credited so far: $20.00``)."""

    label: str
    value: str


class RuleCheckView(BaseModel):
    """One business rule checked against the requested call, and whether it holds."""

    rule: str
    passed: bool
    message: str = ""
    label: str = ""
    blocking: bool = Field(True, description="a failing blocking rule makes the tool refuse the call")


class PolicyPassage(BaseModel):
    """A passage of the domain's policy documents that bears on the decision, with its citation."""

    citation: str
    title: str
    text: str


class ReviewView(BaseModel):
    """What a reviewer needs beside the arguments, read now from the business system."""

    facts: list[ReviewFactView] = Field(default_factory=list)
    checks: list[RuleCheckView] = Field(default_factory=list)
    policy: list[PolicyPassage] = Field(default_factory=list)
    arguments: dict[str, str] = Field(
        default_factory=dict, description="how arguments read for a person (money with its currency)"
    )
    unavailable: str | None = Field(None, description="why the facts could not be read, if they could not")

    @property
    def failing(self) -> list[RuleCheckView]:
        """The rule checks that fail."""
        return [c for c in self.checks if not c.passed]


class Reviews:
    """Review contexts of one runtime's domains."""

    def __init__(self, sessions: sessionmaker[Session], domains: DomainRuntimes) -> None:
        self._sessions = sessions
        self._domains = domains

    def context(self, tenant: str, tool: str, args: dict[str, Any]) -> ReviewView:
        """The view for ``tool(args)`` in ``tenant`` (empty when its domain declares none)."""
        raw, problem = self._read(tenant, tool, args)
        if raw is None:
            return ReviewView(unavailable=problem)
        return ReviewView(
            facts=[ReviewFactView(label=f.label, value=f.value) for f in raw.facts],
            checks=[RuleCheckView(**c.__dict__) for c in raw.checks],
            policy=self._policy(tenant, raw.policy_query) if raw.policy_query else [],
            arguments={a.label: a.value for a in raw.arguments},
        )

    def blocking_failures(self, tenant: str, tool: str, args: dict[str, Any]) -> list[RuleCheck]:
        """The tool's rules that ``args`` break and that would make it refuse the call."""
        raw, _ = self._read(tenant, tool, args)
        return blocking_failures(raw) if raw is not None else []

    def _read(self, tenant: str, tool: str, args: dict[str, Any]) -> tuple[ReviewContext | None, str | None]:
        provider = self._domains.domain_of(tenant).review.get(tool)
        spec = self._domains.registry(tenant).get(tool)
        if provider is None or spec is None:
            return None, None
        try:
            typed = validate_args(spec, args)
            return read_review_context(self._sessions, provider, tenant, typed), None
        except ArgumentsInvalid as exc:
            return None, exc.message
        except ReviewUnavailable as exc:
            return None, str(exc)

    def _policy(self, tenant: str, query: str) -> list[PolicyPassage]:
        spec = self._domains.registry(tenant).get(POLICY_SEARCH)
        if spec is None:
            return []
        try:
            found = spec.func(  # a search reads its index only: no session
                ToolContext(tenant_id=tenant, user_id="reviewer", thread_id="", session=None),
                spec.args_model.model_validate({"query": query[:500], "top_k": MAX_POLICY_PASSAGES}),
            )
        except Exception:  # the facts still help when the index cannot answer
            log.warning("policy search for a review failed", exc_info=True)
            return []
        passages = getattr(found, "passages", [])
        return [
            PolicyPassage(
                citation=f"{p.chunk_id}" if "#" in p.chunk_id else f"{p.doc_id}#{p.chunk_id}",
                title=p.title,
                text=p.text,
            )
            for p in passages[:MAX_POLICY_PASSAGES]
        ]
