"""Reranking: a second look at the first stage's best candidates, before the top k are cut.

First-stage retrieval scores a chunk as one bag of words (BM25) or one vector (dense). That
misses what a reader sees at once: "Returns policy › Electronics" is *about* electronics
returns, while "Exchanges › What can be exchanged" merely mentions them. A reranker sees a
few dozen candidates, so it can afford features per passage.

- :class:`FieldedReranker` (the default, model-free): the first-stage rank as a prior, plus how
  much of the query — each analyzed term weighted by its IDF — the chunk's **heading path**
  covers, and how much its heading and text together cover. Heading coverage is fielded
  retrieval in miniature (BM25F's insight that a title match means more than a body match);
  text coverage rewards a passage that answers every part of the question over one that
  repeats a single rare word.
- :class:`CrossEncoderReranker`: a sentence-transformers cross-encoder loaded from a local
  directory, for a domain that has one (no PyPI wheel ships cross-encoder weights today, see
  docs/RETRIEVAL.md; models are never downloaded).
- :func:`diversify`: maximal marginal relevance (Carbonell & Goldstein, 1998) over the
  reranked list, so near-duplicate passages do not crowd out a second source.

A reranker maps ``(index, query, candidates)`` to ``candidates`` reordered with new scores,
where a candidate is ``(chunk position, score)``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from tools.retrieval.config import RetrievalConfig
from tools.retrieval.index import KnowledgeIndex, index_text
from tools.retrieval.rewrite import content_words

Candidates = list[tuple[int, float]]


class Reranker(Protocol):
    """Reorders first-stage candidates for one query."""

    name: str

    def rerank(self, index: KnowledgeIndex, query: str, candidates: Sequence[tuple[int, float]]) -> Candidates:
        """``candidates`` (chunk position, score), best first by this reranker's scores."""
        ...


class KeepOrder:
    """No reranking: the first stage's order and scores."""

    name = "none"

    def rerank(self, index: KnowledgeIndex, query: str, candidates: Sequence[tuple[int, float]]) -> Candidates:
        """``candidates`` unchanged."""
        return list(candidates)


@dataclass(frozen=True)
class FieldWeights:
    """How the fielded reranker weighs its features (each in [0, 1]; ``lead`` is subtracted)."""

    prior: float = 1.0
    """First-stage rank r as ``1 / (1 + (r - 1) / prior_scale)``."""
    doc: float = 0.0
    """IDF-weighted share of the query's terms in the document's title: the page is about them."""
    section: float = 0.0
    """IDF-weighted Dice overlap of the query's terms and the chunk's own headings: the section
    is about them, and not about something else ("Exchanges of electronics" for "electronics
    returns" overlaps less than "Electronics")."""
    body: float = 1.0
    """IDF-weighted share of the query's terms in the heading path or the text."""
    coord: float = 0.0
    """Share of the query's terms present at all, unweighted (Lucene's classic coordination
    factor): a passage matching "return" and "policy" beats one matching only the rarer "tent"."""
    lead: float = 0.0
    """Subtracted for a document's opening section, which overviews the page ("This page
    covers…") and so resembles many questions without answering them."""
    dense: float = 0.0
    """Cosine similarity of the query and chunk embeddings (hybrid indexes only)."""
    prior_scale: float = 10.0


BM25_WEIGHTS = FieldWeights(prior=1.0, doc=1.0, section=0.5, body=0.5, coord=0.5, lead=0.25)
"""Chosen on the 76 original labelled questions for a BM25 index (docs/RETRIEVAL.md)."""
HYBRID_WEIGHTS = FieldWeights(prior=0.5, body=0.0, dense=5.0)
"""Chosen the same way for a hybrid index. Reciprocal-rank fusion keeps only ranks; the cosine
similarity puts back how close the closest passages really are, and once it does, the lexical
features add nothing measurable (the dense ranking already saw the words)."""


class FieldedReranker:
    """Model-free reranking on the query's coverage by a chunk's fields (see the module docstring).

    Without explicit ``weights`` it uses :data:`BM25_WEIGHTS` or :data:`HYBRID_WEIGHTS`,
    following the index's mode.
    """

    name = "fielded"

    def __init__(self, weights: FieldWeights | None = None) -> None:
        self.weights = weights

    def rerank(self, index: KnowledgeIndex, query: str, candidates: Sequence[tuple[int, float]]) -> Candidates:
        """``candidates`` by the weighted sum of the features of :class:`FieldWeights`."""
        w = self.weights or (HYBRID_WEIGHTS if index.mode == "hybrid" else BM25_WEIGHTS)
        terms = query_terms(index, query)
        total = sum(terms.values())
        if total == 0 and not w.dense:
            return list(candidates)  # no query term is in the index: nothing to judge by
        positions = [position for position, _ in candidates]
        dense = (index.similarities(query, positions) if w.dense else None) or [0.0] * len(positions)
        scored = []
        for rank, position in enumerate(positions, start=1):
            fields = index.chunk_terms(position)
            heading = sum(index.idf(term) for term in fields.section)
            score = (
                w.prior / (1.0 + (rank - 1) / w.prior_scale)
                + w.doc * _share(terms, fields.doc, total)
                + w.section * 2 * _share(terms, fields.section, total + heading)
                + w.body * _share(terms, fields.body, total)
                + w.coord * (sum(term in fields.body for term in terms) / len(terms) if terms else 0.0)
                + w.dense * dense[rank - 1]
                - w.lead * fields.lead
            )
            scored.append((position, score))
        # sorted() is stable: equal scores keep the first stage's order.
        return sorted(scored, key=lambda pair: pair[1], reverse=True)


def _share(terms: dict[str, float], field: frozenset[str], total: float) -> float:
    """The IDF weight of ``terms`` found in ``field``, over ``total``."""
    return sum(weight for term, weight in terms.items() if term in field) / total if total else 0.0


def query_terms(index: KnowledgeIndex, query: str) -> dict[str, float]:
    """The query's content terms that occur in the index, analyzed, each with its IDF.

    Question and function words go first ("what", "can", "how"): the index keeps them (its
    stop list is Lucene's 33 words), and headings such as "What can be exchanged" would
    otherwise match every question that starts with "what can".
    """
    terms = {token: index.idf(token) for token in index.analyzer.tokens(" ".join(content_words(query)))}
    return {term: weight for term, weight in terms.items() if weight > 0}


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` read from ``model_dir``, offline, on CPU."""

    name = "cross-encoder"

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise FileNotFoundError(f"no cross-encoder directory at {self.model_dir} (models are never downloaded)")
        self._lock = threading.Lock()

    def rerank(self, index: KnowledgeIndex, query: str, candidates: Sequence[tuple[int, float]]) -> Candidates:
        """``candidates`` by the cross-encoder's score of (query, heading + text)."""
        if not candidates:
            return []
        pairs = [(query, index_text(index.chunks[position])) for position, _ in candidates]
        with self._lock:  # one predict at a time: the model is shared by every thread
            scores = _load_cross_encoder(str(self.model_dir)).predict(pairs, show_progress_bar=False)
        scored = [(position, float(score)) for (position, _), score in zip(candidates, scores, strict=True)]
        return sorted(scored, key=lambda pair: pair[1], reverse=True)


@lru_cache(maxsize=2)
def _load_cross_encoder(model_dir: str) -> Any:
    # As for the dense encoder: offline before huggingface_hub is first imported.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import CrossEncoder  # noqa: PLC0415  # the embeddings extra: optional
    from transformers.utils import logging as transformers_logging  # noqa: PLC0415  # the embeddings extra: optional

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers ships no annotation
    return CrossEncoder(model_dir, device="cpu", local_files_only=True)


def make_reranker(config: RetrievalConfig) -> Reranker:
    """The reranker ``config`` names."""
    if config.rerank == "fielded":
        return FieldedReranker()
    if config.rerank == "cross-encoder":
        assert config.cross_encoder_model is not None, "RetrievalConfig checks this"
        return CrossEncoderReranker(config.cross_encoder_model)
    return KeepOrder()


def diversify(index: KnowledgeIndex, ranked: Sequence[tuple[int, float]], k: int, weight: float) -> Candidates:
    """The ``k`` passages picked by maximal marginal relevance from ``ranked`` (best first).

    Each pick maximises ``(1 - weight) * relevance - weight * max similarity to those already
    picked``, relevance being the score scaled to [0, 1] and similarity the Jaccard overlap of
    the chunks' terms. ``weight`` 0 returns the first ``k`` unchanged.
    """
    if weight <= 0 or len(ranked) <= 1:
        return list(ranked[:k])
    top, low = ranked[0][1], min(score for _, score in ranked)
    spread = (top - low) or 1.0
    pool = [(position, (score - low) / spread, index.chunk_terms(position).body) for position, score in ranked]
    picked: list[tuple[int, float, frozenset[str]]] = []

    def marginal(i: int) -> float:
        redundancy = max((_jaccard(pool[i][2], p[2]) for p in picked), default=0.0)
        return (1 - weight) * pool[i][1] - weight * redundancy

    while pool and len(picked) < k:
        picked.append(pool.pop(max(range(len(pool)), key=marginal)))
    scores = dict(ranked)
    return [(position, scores[position]) for position, _, _ in picked]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0
