"""The retrieval path, whole: rewrite the query → first-stage retrieval → rerank → top k.

::

    retriever = Retriever(index, RetrievalConfig())          # the defaults: every stage on
    found = retriever.search("and for tents?", k=4, earlier=["Return policy for electronics?"])
    found.query              # "Return policy for tents?"
    found.passages           # best first, scored by the reranker
    found.timings            # milliseconds per stage

Each stage can be turned off in :class:`tools.retrieval.config.RetrievalConfig`; with every
stage off, :meth:`Retriever.search` returns exactly what ``KnowledgeIndex.search`` does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tools.retrieval.config import RetrievalConfig
from tools.retrieval.dense import reciprocal_rank_fusion
from tools.retrieval.index import KnowledgeIndex, Passage
from tools.retrieval.rerank import Reranker, diversify, make_reranker
from tools.retrieval.rewrite import QueryRewrite, rewrite_query


@dataclass(frozen=True)
class StageTimings:
    """Milliseconds spent in each stage of one search."""

    rewrite_ms: float = 0.0
    first_stage_ms: float = 0.0
    rerank_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        """All stages together."""
        return self.rewrite_ms + self.first_stage_ms + self.rerank_ms


@dataclass(frozen=True)
class SearchOutcome:
    """What one search found and how: the passages, the query as searched, the stages' cost."""

    passages: list[Passage]
    rewrite: QueryRewrite
    reranker: str
    timings: StageTimings = field(default_factory=StageTimings)

    @property
    def query(self) -> str:
        """The query that was searched (the rewritten one when the original was a follow-up)."""
        return self.rewrite.query


class Retriever:
    """Runs the configured stages over one index; safe to share between threads."""

    def __init__(self, index: KnowledgeIndex, config: RetrievalConfig | None = None, reranker: Reranker | None = None):
        self.index = index
        self.config = config or RetrievalConfig()
        self.reranker = reranker or make_reranker(self.config)

    def rewrite(self, query: str, earlier: Sequence[str] = ()) -> QueryRewrite:
        """``query`` made standalone from the user's ``earlier`` messages, as configured."""
        return rewrite_query(query, earlier if self.config.rewrite else (), split=self.config.split)

    def search(self, query: str, k: int = 5, *, earlier: Sequence[str] = ()) -> SearchOutcome:
        """The ``k`` best passages for ``query`` (a follow-up of ``earlier`` user messages)."""
        started = time.perf_counter()
        rewrite = self.rewrite(query, earlier)
        rewritten = time.perf_counter()
        reranking = self.reranker.name != "none" or self.config.diversity > 0
        depth = max(k, self.config.rerank_depth) if reranking else k
        candidates = self._first_stage(rewrite, depth)
        retrieved = time.perf_counter()
        ranked = self.reranker.rerank(self.index, rewrite.query, candidates)
        top = diversify(self.index, ranked, k, self.config.diversity)
        done = time.perf_counter()
        timings = StageTimings(
            rewrite_ms=(rewritten - started) * 1000,
            first_stage_ms=(retrieved - rewritten) * 1000,
            rerank_ms=(done - retrieved) * 1000,
        )
        passages = [self.index.passage(position, score) for position, score in top]
        return SearchOutcome(passages, rewrite, self.reranker.name, timings)

    def _first_stage(self, rewrite: QueryRewrite, depth: int) -> list[tuple[int, float]]:
        """The whole query's ranking, fused with each sub-query's when the question has parts."""
        keywords = rewrite.keywords if self.config.rewrite else None
        whole = self.index.ranking(rewrite.query, depth, keywords=keywords)
        if not rewrite.sub_queries:
            return whole
        rankings = [[i for i, _ in whole]]
        for part in rewrite.sub_queries:
            lexical = QueryRewrite(part, part).keywords if self.config.rewrite else None
            rankings.append([i for i, _ in self.index.ranking(part, depth, keywords=lexical)])
        return reciprocal_rank_fusion(rankings)[:depth]
