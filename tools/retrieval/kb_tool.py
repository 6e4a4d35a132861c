"""The ``search_knowledge_base`` tool: policy and FAQ passages the agent can cite."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from pydantic import BaseModel, Field, field_validator

from tools.contract import Risk, ToolContext, ToolSpec, tool
from tools.retrieval.index import KnowledgeIndex, Passage

_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.DOTALL)
_SUMMARY_MAX_CHARS = 300


class SearchKnowledgeBaseArgs(BaseModel):
    """Arguments of ``search_knowledge_base``."""

    query: str = Field(
        min_length=2,
        max_length=500,
        description="The customer's question or its key terms, in plain words, e.g. 'return window for a tent'.",
    )
    top_k: int = Field(default=4, ge=1, le=10, description="How many passages to return, best first.")

    @field_validator("query")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not re.search(r"\w", value):
            raise ValueError("query must contain at least one word")
        return value.strip()


class SearchKnowledgeBaseResult(BaseModel):
    """Passages best first, and a one-line summary of the best one with its citation."""

    passages: list[Passage]
    summary: str


def summarize(passages: list[Passage]) -> str:
    """The best passage's title and first sentence, cited as ``[chunk_id]``; other sources listed."""
    if not passages:
        return "No passage in the knowledge base matches this question."
    best = passages[0]
    flat = " ".join(best.text.split())
    match = _FIRST_SENTENCE.match(flat)
    sentence = match.group(1) if match else flat
    if len(sentence) > _SUMMARY_MAX_CHARS:
        sentence = sentence[: _SUMMARY_MAX_CHARS - 1].rstrip() + "…"
    summary = f"{best.title}: {sentence} [{best.chunk_id}]"
    others = list(dict.fromkeys(f"[{p.chunk_id}]" for p in passages[1:]))
    if others:
        summary += f" See also {', '.join(others)}."
    return summary


def knowledge_tools(
    index: KnowledgeIndex, *, description: str | None = None, examples: Sequence[str] = ()
) -> list[ToolSpec]:
    """The knowledge-base tools over ``index`` (one: ``search_knowledge_base``), described in the
    business's words when its domain gives them (``description``, ``examples``)."""

    @tool(
        risk=Risk.READ,
        cache_ttl_s=300.0,  # the index only changes when the process reloads it
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
        passages = index.search(args.query, k=args.top_k)
        return SearchKnowledgeBaseResult(passages=passages, summary=summarize(passages))

    changes: dict[str, object] = {}
    if description:
        changes["description"] = description
    if examples:
        changes["examples"] = tuple(examples)
    return [replace(search_knowledge_base, **changes)]
