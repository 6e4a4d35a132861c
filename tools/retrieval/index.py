"""The search index over knowledge-base chunks: BM25 (bm25s), optionally fused with dense vectors.

BM25 indexes each chunk's title and text, tokenised by :class:`Analyzer` (lower-case words of
two or more characters, English stop words removed, Snowball English stemming). The same analyzer
tokenises queries, so both sides always agree. In ``hybrid`` mode the BM25 ranking and a dense
(embedding) ranking are fused by reciprocal rank (see :mod:`tools.retrieval.dense`).

:func:`build_index` builds in memory (tests, benchmarks); :func:`tools.retrieval.store.build_or_load`
persists the index and rebuilds it only when the documents or the parameters change.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from cachetools import LRUCache
from pydantic import BaseModel, TypeAdapter

from tools.retrieval import dense
from tools.retrieval.documents import TITLE_SEPARATOR, Chunk, ChunkingParams, Document, chunk_documents
from tools.retrieval.rewrite import content_words

if TYPE_CHECKING:
    from tools.retrieval.dense import DenseEncoder

RetrievalMode = Literal["bm25", "hybrid", "auto"]

_BM25_DIR = "bm25"
_CHUNKS_FILE = "chunks.json"
_VECTORS_FILE = "vectors.npy"
_CHUNK_LIST = TypeAdapter(list[Chunk])

# How deep each ranking goes before fusion: deep enough that a chunk ranked moderately by both
# retrievers can still win, shallow enough to stay cheap on a large index.
_FUSION_DEPTH = 50
QUERY_CACHE_SIZE = 1024
"""Query embeddings kept per index (a few KB each)."""


class Passage(BaseModel):
    """A retrieved chunk, with what an answer needs to cite it.

    ``score`` is the BM25 score in ``bm25`` mode, the reciprocal-rank-fusion score in ``hybrid``
    mode, and the reranker's score once reranked; either way, higher is better and it only orders
    passages of one query.
    """

    doc_id: str
    chunk_id: str
    title: str
    text: str
    score: float
    source_path: str | None = None


@dataclass(frozen=True)
class IndexParams:
    """Everything that shapes the index; persisted in the manifest, so a change forces a rebuild."""

    chunking: ChunkingParams = field(default_factory=ChunkingParams)
    language: str = "english"
    """Snowball stemmer language; English stop words are removed."""
    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"
    """bm25s scoring variant."""
    dense_model: str | None = None
    """Embedding model id when dense vectors are part of the index, else ``None``."""

    def as_json(self) -> dict[str, Any]:
        """Plain JSON form, as stored in the manifest."""
        return asdict(self)


@dataclass(frozen=True)
class ChunkTerms:
    """A chunk's analyzed terms by field, for rerankers (fielded retrieval, as in BM25F).

    ``doc``: its document's title; ``section``: its own headings below that title (empty for
    the document's opening section, ``lead``); ``body``: the heading path and the text.
    Headings keep only content words ("What can be exchanged" → ``exchang``).
    """

    doc: frozenset[str]
    section: frozenset[str]
    body: frozenset[str]
    lead: bool


class Analyzer:
    """Text → BM25 tokens. Stemmer objects are not thread-safe, so each thread gets its own."""

    _token = re.compile(r"(?u)\b\w\w+\b")

    def __init__(self, language: str = "english") -> None:
        self.language = language
        self._stopwords = frozenset(STOPWORDS_EN)
        self._local = threading.local()

    def tokens(self, text: str) -> list[str]:
        """Lower-cased, stop words removed, stemmed."""
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = self._local.stemmer = Stemmer.Stemmer(self.language)
        words = [w for w in self._token.findall(text.lower()) if w not in self._stopwords]
        stems: list[str] = stemmer.stemWords(words)
        return stems


def resolve_mode(mode: RetrievalMode) -> Literal["bm25", "hybrid"]:
    """``auto`` becomes ``hybrid`` when the embeddings extra is installed, else ``bm25``."""
    if mode == "auto":
        return "hybrid" if dense.dense_available() else "bm25"
    if mode not in ("bm25", "hybrid"):
        raise ValueError(f"unknown retrieval mode {mode!r}; use 'bm25', 'hybrid' or 'auto'")
    return mode


class KnowledgeIndex:
    """Searchable chunks. Build with :func:`build_index` or :func:`tools.retrieval.build_or_load`.

    ``rebuilt`` tells whether this index was (re)built rather than loaded from disk, and
    ``rebuild_reason`` why (e.g. ``"changed: returns-policy"``).
    """

    def __init__(
        self,
        chunks: Sequence[Chunk],
        bm25: bm25s.BM25,
        params: IndexParams,
        *,
        vectors: np.ndarray | None = None,
        rebuilt: bool = True,
        rebuild_reason: str = "built in memory",
        encoder: DenseEncoder | None = None,
    ) -> None:
        if vectors is not None and len(vectors) != len(chunks):
            raise ValueError(f"{len(vectors)} dense vectors for {len(chunks)} chunks")
        self.chunks: tuple[Chunk, ...] = tuple(chunks)
        self.params = params
        self.rebuilt = rebuilt
        self.rebuild_reason = rebuild_reason
        self._bm25 = bm25
        self._vectors = vectors
        self._analyzer = Analyzer(params.language)
        self._encoder = encoder
        # Query embeddings: the same question (a retry, a popular FAQ) is encoded once.
        self._query_vectors: LRUCache[str, np.ndarray] = LRUCache(maxsize=QUERY_CACHE_SIZE)
        self._query_lock = threading.Lock()
        self.query_cache_hits = 0
        self.query_cache_misses = 0
        # Filled on first use per chunk: a reranker only ever looks at a query's candidates.
        self._terms: dict[int, ChunkTerms] = {}

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def mode(self) -> Literal["bm25", "hybrid"]:
        """``hybrid`` when the index carries dense vectors, else ``bm25``."""
        return "bm25" if self._vectors is None else "hybrid"

    @property
    def doc_ids(self) -> list[str]:
        """Ids of the indexed documents, in index order."""
        return list(dict.fromkeys(chunk.doc_id for chunk in self.chunks))

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The ``k`` best passages for ``query``, best first (fewer if fewer match).

        This is first-stage retrieval only; :class:`tools.retrieval.Retriever` adds query
        rewriting and reranking on top.
        """
        return [self.passage(i, score) for i, score in self.ranking(query, k)]

    def ranking(self, query: str, k: int = 5, *, keywords: str | None = None) -> list[tuple[int, float]]:
        """(chunk position, score) of the ``k`` best chunks for ``query``, best first.

        ``keywords``, when given, is what BM25 searches instead of ``query`` (the dense side
        always embeds ``query``, which reads best as the customer wrote it).
        """
        if k < 1 or not self.chunks:
            return []
        words = query if keywords is None else keywords
        if self._vectors is None:
            return self._bm25_ranking(words, k)
        depth = max(k, _FUSION_DEPTH)
        lexical = [i for i, _ in self._bm25_ranking(words, depth)]
        semantic = dense.top_k(self._vectors, self.query_vector(query), depth)
        return dense.reciprocal_rank_fusion([lexical, semantic])[:k]

    @property
    def analyzer(self) -> Analyzer:
        """The analyzer that tokenised the chunks (use it for queries too)."""
        return self._analyzer

    def chunk_terms(self, position: int) -> ChunkTerms:
        """The analyzed terms of the chunk at ``position`` (computed once, then kept)."""
        terms = self._terms.get(position)
        if terms is None:
            chunk = self.chunks[position]
            headings = chunk.title.split(TITLE_SEPARATOR)
            terms = ChunkTerms(
                doc=self._heading_terms(headings[:1]),
                section=self._heading_terms(headings[1:]),
                body=frozenset(self._analyzer.tokens(index_text(chunk))),
                lead=len(headings) == 1,
            )
            self._terms[position] = terms
        return terms

    def _heading_terms(self, headings: Sequence[str]) -> frozenset[str]:
        return frozenset(self._analyzer.tokens(" ".join(content_words(" ".join(headings)))))

    def idf(self, token: str) -> float:
        """BM25's inverse document frequency of an analyzed token; 0 for a token no chunk has."""
        token_id = self._bm25.vocab_dict.get(token)
        if token_id is None:
            return 0.0
        # bm25s keeps a CSC matrix, one column per token: its length is the token's document count.
        indptr = self._bm25.scores["indptr"]
        df = int(indptr[token_id + 1] - indptr[token_id])
        if df == 0:
            return 0.0
        n = len(self.chunks)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def query_vector(self, query: str) -> np.ndarray:
        """The dense embedding of ``query`` (hybrid mode), from the LRU cache when seen before."""
        with self._query_lock:
            cached = self._query_vectors.get(query)
            if cached is not None:
                self.query_cache_hits += 1
                return cached
            self.query_cache_misses += 1
        vector: np.ndarray = self._encoder_for_queries().encode([query])[0]
        with self._query_lock:
            self._query_vectors[query] = vector
        return vector

    def similarities(self, query: str, positions: Sequence[int]) -> list[float] | None:
        """Cosine similarity of ``query`` to each chunk at ``positions``; ``None`` without vectors."""
        if self._vectors is None:
            return None
        return [float(s) for s in self._vectors[list(positions)] @ self.query_vector(query)]

    def clear_query_cache(self) -> None:
        """Forget every cached query embedding (the next search of each query encodes it again)."""
        with self._query_lock:
            self._query_vectors.clear()

    def save(self, directory: Path) -> None:
        """Write the index's files into ``directory`` (which :meth:`load` reads back)."""
        directory.mkdir(parents=True, exist_ok=True)
        self._bm25.save(directory / _BM25_DIR, show_progress=False)
        (directory / _CHUNKS_FILE).write_bytes(_CHUNK_LIST.dump_json(list(self.chunks)))
        if self._vectors is not None:
            np.save(directory / _VECTORS_FILE, self._vectors, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, params: IndexParams, *, rebuild_reason: str = "") -> KnowledgeIndex:
        """Read an index written by :meth:`save` with the same ``params``; the encoder loads lazily."""
        bm25 = bm25s.BM25.load(directory / _BM25_DIR, show_progress=False)
        chunks = _CHUNK_LIST.validate_json((directory / _CHUNKS_FILE).read_bytes())
        vectors = None
        if params.dense_model is not None:
            vectors = np.load(directory / _VECTORS_FILE, allow_pickle=False)
        return cls(chunks, bm25, params, vectors=vectors, rebuilt=False, rebuild_reason=rebuild_reason)

    def warm_up(self) -> None:
        """Load the query encoder now (hybrid mode) instead of on the first search."""
        if self._vectors is not None:
            self._encoder_for_queries()

    def _bm25_ranking(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk position, score) of the best BM25 matches; chunks sharing no term are left out.

        The top k are picked among the matching chunks only: bm25s's own selection runs
        ``argpartition`` over every chunk, which is ~10x slower when almost all scores are 0
        (a query of rare words: 11 ms instead of 1 ms at 50k chunks).
        """
        vocab = self._bm25.vocab_dict
        tokens = [t for t in self._analyzer.tokens(query) if t in vocab]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        matching = np.flatnonzero(scores > 0)
        if len(matching) > k:
            matching = matching[np.argpartition(-scores[matching], k - 1)[:k]]
        # Best first; equal scores in index order, so a ranking never depends on the selection.
        best = sorted(matching.tolist(), key=lambda i: (-float(scores[i]), i))
        return [(int(i), float(scores[i])) for i in best]

    def _encoder_for_queries(self) -> DenseEncoder:
        if self._encoder is None:
            assert self.params.dense_model is not None, "a hybrid index records its dense model"
            self._encoder = dense.load_encoder(self.params.dense_model)
        return self._encoder

    def passage(self, position: int, score: float) -> Passage:
        """The chunk at ``position`` as a citable :class:`Passage` with ``score``."""
        chunk = self.chunks[position]
        return Passage(
            doc_id=chunk.doc_id,
            chunk_id=chunk.chunk_id,
            title=chunk.title,
            text=chunk.text,
            score=round(score, 6),
            source_path=chunk.source_path,
        )


def index_text(chunk: Chunk) -> str:
    """What is indexed for a chunk (lexically and densely): its heading path, then its text."""
    return f"{chunk.title}\n{chunk.text}"


def fit_bm25(chunks: Sequence[Chunk], params: IndexParams) -> bm25s.BM25:
    """A BM25 model fitted on the chunks' titles and texts."""
    analyzer = Analyzer(params.language)
    corpus_tokens = [analyzer.tokens(index_text(chunk)) for chunk in chunks]
    bm25 = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
    bm25.index(corpus_tokens, show_progress=False)
    return bm25


def index_params(mode: RetrievalMode, chunking: ChunkingParams | None = None) -> IndexParams:
    """Parameters for a new index in ``mode`` (``auto`` resolved here)."""
    model = dense.MODEL_ID if resolve_mode(mode) == "hybrid" else None
    return IndexParams(chunking=chunking or ChunkingParams(), dense_model=model)


def build_index(
    documents: Sequence[Document],
    *,
    mode: RetrievalMode = "bm25",
    chunking: ChunkingParams | None = None,
) -> KnowledgeIndex:
    """Chunk and index documents in memory (nothing is written to disk)."""
    params = index_params(mode, chunking)
    chunks = chunk_documents(documents, params.chunking)
    return index_chunks(chunks, params)


def index_chunks(
    chunks: Sequence[Chunk], params: IndexParams, *, rebuild_reason: str = "built in memory"
) -> KnowledgeIndex:
    """Index already-cut chunks: BM25, plus dense vectors when ``params.dense_model`` is set."""
    if not chunks:
        raise ValueError("cannot index an empty knowledge base")
    vectors = None
    encoder = None
    if params.dense_model is not None:
        encoder = dense.load_encoder(params.dense_model)
        vectors = encoder.encode([index_text(chunk) for chunk in chunks])
    bm25 = fit_bm25(chunks, params)
    return KnowledgeIndex(chunks, bm25, params, vectors=vectors, rebuild_reason=rebuild_reason, encoder=encoder)
