"""Per-domain retrieval settings: which stages run after first-stage retrieval, and how.

A domain passes one :class:`RetrievalConfig` to :func:`tools.retrieval.knowledge_tools` (and the
eval takes the same object), so a business whose documents behave differently can turn a
stage off without code. The defaults are the ones the commerce eval justifies; see
docs/RETRIEVAL.md for the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

RerankerName = Literal["none", "fielded", "cross-encoder"]


@dataclass(frozen=True)
class RetrievalConfig:
    """The retrieval path after the index: rewriting, then first stage, then reranking."""

    rewrite: bool = True
    """Rewrite a follow-up ("and for tents?") into a standalone query from the user's earlier
    messages (:mod:`tools.retrieval.rewrite`), and search BM25 with the query's content words
    only (no "what", "can", "how" to match headings such as "What happens next")."""
    split: bool = False
    """Search each part of a two-part question too, and fuse the rankings by reciprocal rank.
    Off: on the commerce questions it cost a little everywhere, two-part questions included."""
    rerank: RerankerName = "fielded"
    """``fielded``: the model-free reranker (:class:`tools.retrieval.rerank.FieldedReranker`);
    ``cross-encoder``: a sentence-transformers cross-encoder from ``cross_encoder_model``;
    ``none``: first-stage order."""
    rerank_depth: int = 30
    """How many first-stage candidates the reranker sees."""
    diversity: float = 0.0
    """Maximal marginal relevance: 0 keeps the reranker's order; up to 1 trades relevance for
    passages unlike those already chosen. Off: it changed nothing measurable on commerce."""
    cross_encoder_model: str | None = None
    """Local directory of a sentence-transformers cross-encoder (never downloaded)."""

    def __post_init__(self) -> None:
        if self.rerank not in ("none", "fielded", "cross-encoder"):
            raise ValueError(f"unknown reranker {self.rerank!r}; use 'none', 'fielded' or 'cross-encoder'")
        if self.rerank == "cross-encoder" and not self.cross_encoder_model:
            raise ValueError("rerank='cross-encoder' needs cross_encoder_model (a local model directory)")
        if self.rerank_depth < 1:
            raise ValueError("rerank_depth must be at least 1")
        if not 0.0 <= self.diversity <= 1.0:
            raise ValueError("diversity must be between 0 and 1")

    def with_(self, **changes: Any) -> RetrievalConfig:
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)


FIRST_STAGE_ONLY = RetrievalConfig(rewrite=False, split=False, rerank="none")
"""No stage after the index: what ``KnowledgeIndex.search`` alone returns."""
