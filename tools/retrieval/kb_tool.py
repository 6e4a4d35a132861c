"""The ``search_knowledge_base`` tool: policy and FAQ passages the agent can cite.

The tool runs the whole retrieval path (:class:`tools.retrieval.Retriever`): a follow-up query
is first made standalone from the user's earlier messages — by the tool's ``contextualize``
hook, which the runtime applies before its result cache, so a cached result is always keyed
on the query that was really searched — then searched and reranked. The result says what was
searched and what each stage cost (``retrieval``), which the trace records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, Field, field_validator

from tools.contract import Risk, ToolContext, ToolSpec, tool
from tools.retrieval.config import RetrievalConfig
from tools.retrieval.index import KnowledgeIndex, Passage
from tools.retrieval.rerank import query_terms
from tools.retrieval.retriever import Retriever, SearchOutcome

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SUMMARY_MAX_CHARS = 300
_QUERY_MAX_CHARS = 500


class SearchKnowledgeBaseArgs(BaseModel):
    """Arguments of ``search_knowledge_base``."""

    query: str = Field(
        min_length=2,
        max_length=_QUERY_MAX_CHARS,
        description="The customer's question or its key terms, in plain words, standing on its own: for a "
        "follow-up such as 'and for tents?', write out what it refers to ('return policy for tents').",
    )
    top_k: int = Field(default=4, ge=1, le=10, description="How many passages to return, best first.")

    @field_validator("query")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not re.search(r"\w", value):
            raise ValueError("query must contain at least one word")
        return value.strip()


class RetrievalInfo(BaseModel):
    """How the passages were found: the query searched, the reranker, each stage's milliseconds."""

    query: str
    sub_queries: list[str] = Field(default_factory=list)
    reranker: str
    first_stage_ms: float
    rerank_ms: float


class SearchKnowledgeBaseResult(BaseModel):
    """Passages best first, a one-line summary of the best one with its citation, and how."""

    passages: list[Passage]
    summary: str
    retrieval: RetrievalInfo | None = None


def summarize(passages: list[Passage], index: KnowledgeIndex | None = None, query: str = "") -> str:
    """The best passage's title and its sentence that best answers ``query`` (its first sentence
    without an index or query), cited as ``[chunk_id]``; other sources listed."""
    if not passages:
        return "No passage in the knowledge base matches this question."
    best = passages[0]
    sentence = _best_sentence(best, index, query)
    if len(sentence) > _SUMMARY_MAX_CHARS:
        sentence = sentence[: _SUMMARY_MAX_CHARS - 1].rstrip() + "…"
    summary = f"{best.title}: {sentence} [{best.chunk_id}]"
    others = list(dict.fromkeys(f"[{p.chunk_id}]" for p in passages[1:]))
    if others:
        summary += f" See also {', '.join(others)}."
    return summary


def _best_sentence(passage: Passage, index: KnowledgeIndex | None, query: str) -> str:
    """The sentence with the most IDF weight of the query's terms that the passage's title does
    not already state ("Returns policy › Electronics" states "return policy electronics", so the
    sentence with the 15 days wins over "… in our electronics returns policy"); ties: the earliest."""
    candidates = [s for s in _SENTENCE_END.split(" ".join(passage.text.split())) if s]
    if not candidates or index is None or not query:
        return candidates[0] if candidates else ""
    stated = set(index.analyzer.tokens(passage.title))
    terms = {t: w for t, w in query_terms(index, query).items() if t not in stated}

    def covered(sentence: str) -> float:
        return sum(terms.get(token, 0.0) for token in set(index.analyzer.tokens(sentence)))

    return max(candidates, key=covered)


def _result(outcome: SearchOutcome, index: KnowledgeIndex) -> SearchKnowledgeBaseResult:
    info = RetrievalInfo(
        query=outcome.query,
        sub_queries=list(outcome.rewrite.sub_queries),
        reranker=outcome.reranker,
        first_stage_ms=round(outcome.timings.first_stage_ms, 3),
        rerank_ms=round(outcome.timings.rerank_ms, 3),
    )
    summary = summarize(outcome.passages, index, outcome.query)
    return SearchKnowledgeBaseResult(passages=outcome.passages, summary=summary, retrieval=info)


def knowledge_tools(
    index: KnowledgeIndex,
    config: RetrievalConfig | None = None,
    *,
    description: str | None = None,
    examples: Sequence[str] = (),
) -> list[ToolSpec]:
    """The knowledge-base tools over ``index`` (one: ``search_knowledge_base``), with the
    retrieval stages ``config`` turns on (default: :class:`RetrievalConfig`'s defaults), described
    in the business's words when its domain gives them (``description``, ``examples``)."""
    retriever = Retriever(index, config)

    def standalone(args: SearchKnowledgeBaseArgs, earlier: Sequence[str]) -> SearchKnowledgeBaseArgs:
        """The arguments with a follow-up query rewritten from the user's ``earlier`` messages."""
        rewrite = retriever.rewrite(args.query, earlier)
        if not rewrite.rewritten:
            return args
        return SearchKnowledgeBaseArgs(query=rewrite.query[-_QUERY_MAX_CHARS:], top_k=args.top_k)

    @tool(
        risk=Risk.READ,
        cache_ttl_s=300.0,  # the index only changes when the process reloads it
        contextualize=standalone,
        examples=(
            "What is your policy on this?",
            "How does this work?",
            "Where can I read the rules about it?",
        ),
    )
    def search_knowledge_base(ctx: ToolContext, args: SearchKnowledgeBaseArgs) -> SearchKnowledgeBaseResult:
        """Search the business's policy and FAQ documents and return passages to cite.

        Use it for general questions about how things work and what the rules are. It does not
        look up a specific customer's records, and it changes nothing. Answer only from the
        returned passages and cite them by chunk id, e.g. [some-policy#2].
        """
        return _result(retriever.search(args.query, k=args.top_k), index)

    changes: dict[str, Any] = {}
    if description:
        changes["description"] = description
    if examples:
        changes["examples"] = tuple(examples)
    return [replace(search_knowledge_base, **changes)]
