"""Retrieval latency: ``KnowledgeIndex.search`` p50/p95 over 1k and 50k chunks, and per stage of
the retrieval path (``Retriever.search``: first stage, + query rewriting, + reranking).

The corpus is synthetic but shaped like the real knowledge base: documents whose sections are
made of sentences drawn (deterministically) from ``tools/commerce/kb``, each section short
enough to be one chunk, plus a document-specific product code so documents differ. Queries are
the 76 labelled customer questions of ``scenarios/commerce/kb_questions.yaml``, each searched
for the top 5. BM25 always; hybrid (BM25 + MiniLM vectors, fused by reciprocal rank) at 1k
chunks when the ``embeddings`` extra is installed.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass

import yaml

from agent.config import PROJECT_ROOT
from bench.report import Column
from bench.stats import median, percentile
from tools.commerce.domain import KB_DIR
from tools.retrieval import (
    KnowledgeIndex,
    RetrievalConfig,
    Retriever,
    build_index,
    dense_available,
    load_documents,
    make_document,
)
from tools.retrieval.config import FIRST_STAGE_ONLY
from tools.retrieval.documents import Document

QUESTIONS = PROJECT_ROOT / "scenarios" / "commerce" / "kb_questions.yaml"
SECTIONS_PER_DOC = 10
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class RetrievalRow:
    mode: str
    queries_seen: str
    """``new``: every timed search encodes its query; ``repeated``: from the query-embedding cache."""
    chunks: int
    build_s: float
    queries: int
    p50_ms: float
    p95_ms: float


def kb_sentences() -> list[str]:
    """Every prose sentence of the real knowledge base (headings, lists' markers and tables out)."""
    sentences: list[str] = []
    for doc in load_documents(KB_DIR):
        for paragraph in doc.text.split("\n\n"):
            lines = [ln.strip().lstrip("-* ") for ln in paragraph.splitlines()]
            prose = " ".join(ln for ln in lines if ln and not ln.startswith(("#", "|", "```")))
            sentences += [s for s in _SENTENCE.split(prose) if len(s) > 20]
    return sentences


def synthetic_corpus(chunks: int, seed: int = 11) -> list[Document]:
    """Documents of ``SECTIONS_PER_DOC`` one-chunk sections, ``chunks`` sections in all."""
    rng = random.Random(seed)
    sentences = kb_sentences()
    docs = []
    for d in range(max(1, chunks // SECTIONS_PER_DOC)):
        code = f"X{rng.randrange(10**5):05d}"
        sections = [f"# Policy {d} for model {code}"]
        for s in range(SECTIONS_PER_DOC):
            body = " ".join(rng.sample(sentences, 3))[:600]
            sections.append(f"## Topic {s} ({code})\n\n{body}")
        docs.append(make_document(f"policy-{d:05d}", "\n\n".join(sections)))
    return docs


def questions() -> list[str]:
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [q["question"] for q in data["questions"]]


def time_queries(
    index: KnowledgeIndex, queries: list[str], k: int = 5, repeats: int = 3, *, new: bool = True
) -> list[float]:
    """Milliseconds per search: one warm-up pass over every query, then ``repeats`` timed ones;
    ``new``: the query-embedding cache is emptied before each timed search (hybrid mode caches
    a query's embedding, so a repeated question costs a lookup, not an encoding)."""
    for query in queries:
        index.search(query, k)
    times = []
    for query in queries * repeats:
        if new:
            index.clear_query_cache()
        started = time.perf_counter()
        index.search(query, k)
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(mode: str, chunks: int, queries: list[str], *, repeated: bool = False) -> list[RetrievalRow]:
    """The ``new``-query row (and, with ``repeated``, the cached-query row) of one index."""
    started = time.perf_counter()
    index = build_index(synthetic_corpus(chunks), mode=mode)  # type: ignore[arg-type]
    built = time.perf_counter() - started
    rows = []
    for seen in ("new", "repeated") if repeated else ("new",):
        times = time_queries(index, queries, new=seen == "new")
        rows.append(RetrievalRow(mode, seen, len(index), built, len(times), median(times), percentile(times, 95)))
    return rows


def run_retrieval(sizes: tuple[int, ...] = (1_000, 50_000), hybrid_at: int | None = 1_000) -> list[RetrievalRow]:
    """BM25 at every size; hybrid at ``hybrid_at`` chunks when embeddings are installed, for new
    and for repeated queries."""
    queries = questions()
    rows = [row for size in sizes for row in measure("bm25", size, queries)]
    if hybrid_at and dense_available():
        rows.extend(measure("hybrid", hybrid_at, queries, repeated=True))
    return rows


RETRIEVAL_COLUMNS = [
    Column("mode", lambda r: r.mode),
    Column("queries seen", lambda r: r.queries_seen),
    Column("chunks", lambda r: r.chunks, "{:,}"),
    Column("index build s", lambda r: r.build_s, "{:.2f}"),
    Column("queries", lambda r: r.queries),
    Column("p50 ms", lambda r: r.p50_ms, "{:.3f}"),
    Column("p95 ms", lambda r: r.p95_ms, "{:.3f}"),
]


# --- Per stage of the retrieval path (issue 19) -------------------------------------------------

STAGE_CONFIGS = (
    ("first stage", FIRST_STAGE_ONLY),
    ("+ rewrite", RetrievalConfig(rerank="none")),
    ("+ rewrite + rerank", RetrievalConfig()),
)
"""The stages timed, cumulatively: the last is the default path."""


@dataclass(frozen=True)
class StageRow:
    mode: str
    stage: str
    chunks: int
    queries: int
    p50_ms: float
    p95_ms: float
    rewrite_p95_ms: float
    rerank_p50_ms: float
    rerank_p95_ms: float


def labelled_turns() -> list[tuple[str, list[str]]]:
    """Every labelled question with the earlier turns of the conversation it belongs to."""
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [(q["question"], list(q.get("history", []))) for q in data["questions"]]


def time_stage(index: KnowledgeIndex, config: RetrievalConfig, turns: list[tuple[str, list[str]]], repeats: int = 3):
    """(total, rewrite, rerank) milliseconds per search: a warm-up pass over every turn, then
    ``repeats`` timed ones; in hybrid mode each timed search embeds its query afresh."""
    retriever = Retriever(index, config)
    for query, earlier in turns:
        retriever.search(query, 5, earlier=earlier)
    total, rewrite, rerank = [], [], []
    for query, earlier in turns * repeats:
        index.clear_query_cache()
        started = time.perf_counter()
        found = retriever.search(query, 5, earlier=earlier)
        total.append((time.perf_counter() - started) * 1000)
        rewrite.append(found.timings.rewrite_ms)
        rerank.append(found.timings.rerank_ms)
    return total, rewrite, rerank


def run_stages(sizes: tuple[int, ...] = (1_000, 50_000), hybrid_at: int | None = 1_000) -> list[StageRow]:
    """Each stage's latency on BM25 indexes of ``sizes`` chunks, and on a hybrid one of
    ``hybrid_at`` chunks when the embeddings extra is installed."""
    turns = labelled_turns()
    plan = [("bm25", size) for size in sizes]
    if hybrid_at and dense_available():
        plan.append(("hybrid", hybrid_at))
    rows = []
    for mode, size in plan:
        index = build_index(synthetic_corpus(size), mode=mode)  # type: ignore[arg-type]
        for name, config in STAGE_CONFIGS:
            total, rewrite, rerank = time_stage(index, config, turns)
            rows.append(
                StageRow(
                    mode, name, len(index), len(total), median(total), percentile(total, 95),
                    percentile(rewrite, 95), median(rerank), percentile(rerank, 95),
                )
            )  # fmt: skip
    return rows


STAGE_COLUMNS = [
    Column("mode", lambda r: r.mode),
    Column("stages", lambda r: r.stage),
    Column("chunks", lambda r: r.chunks, "{:,}"),
    Column("searches", lambda r: r.queries),
    Column("p50 ms", lambda r: r.p50_ms, "{:.3f}"),
    Column("p95 ms", lambda r: r.p95_ms, "{:.3f}"),
    Column("rewrite p95 ms", lambda r: r.rewrite_p95_ms, "{:.3f}"),
    Column("rerank p50 ms", lambda r: r.rerank_p50_ms, "{:.3f}"),
    Column("rerank p95 ms", lambda r: r.rerank_p95_ms, "{:.3f}"),
]
