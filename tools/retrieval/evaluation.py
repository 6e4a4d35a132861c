"""Retrieval quality per stage on a domain's labelled questions: recall, MRR, nDCG, hit rate.

    python -m tools.retrieval.evaluation [--docs DIR] [--questions FILE] [--k 5]
                                         [--stages bm25,hybrid,...] [--by-kind] [--misses]

A labelled question names the documents that answer it, and, for a follow-up, what the user
said before (``history``). Each **stage** is an index mode plus a :class:`RetrievalConfig`:
``bm25`` and ``hybrid`` are first-stage retrieval alone (the follow-up searched as typed), then
``+rewrite`` adds query rewriting and ``+rerank`` the reranker. Scores are document-level over
the top ``k`` passages (a document counts once, at its best passage's rank) and are computed by
ir-measures (trec_eval's implementation, via pytrec_eval):

- R@k: share of a question's expected documents found; Success@k: whether any was;
- RR@k: 1 / rank of the first expected document (its mean is MRR);
- nDCG@k: rank-discounted gain with every expected document as relevant.

Latency is per search, from the retriever's own stage timings. A domain ships its labelled
questions as a YAML file and runs the same eval: :func:`run_eval` is the library entry point.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import ir_measures
import yaml
from ir_measures import RR, R, Success, nDCG
from pydantic import BaseModel, Field, ValidationError

from tools.retrieval.config import FIRST_STAGE_ONLY, RetrievalConfig
from tools.retrieval.dense import dense_available
from tools.retrieval.documents import TITLE_SEPARATOR, Chunk, Document, chunk_documents, load_documents
from tools.retrieval.index import KnowledgeIndex, RetrievalMode, build_index
from tools.retrieval.retriever import Retriever, SearchOutcome

# Defaults of the command line: the demo shop's documents and labelled questions (a domain's own
# are given with --docs/--questions, or through `tiller index eval`, which reads its KnowledgeBase).
DEFAULT_DOCS_DIR = Path(__file__).resolve().parents[1] / "commerce" / "kb"
DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "scenarios" / "commerce" / "kb_questions.yaml"
QuestionKind = Literal["direct", "paraphrase", "follow-up", "two-part"]
_NOTHING = "__nothing_retrieved__"  # trec_eval skips a query with no ranking; this scores it as a miss


class LabelledQuestion(BaseModel):
    """A customer question, what they said before it, and the ids of the documents that answer it."""

    question: str = Field(min_length=2)
    expected: list[str] = Field(min_length=1)
    history: list[str] = Field(default_factory=list)
    kind: QuestionKind = "direct"
    sections: list[str] = Field(default_factory=list)
    """The sections that hold the answer, as ``"<doc id> › <heading>"`` (the last heading of a
    chunk's title; the document's own title for its lead section): passage-level labels."""

    def is_answer(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` lies in one of the labelled :attr:`sections`."""
        heading = chunk.title.split(TITLE_SEPARATOR)[-1]
        return f"{chunk.doc_id}{TITLE_SEPARATOR}{heading}" in self.sections


@dataclass(frozen=True)
class Stage:
    """One configuration of the retrieval path to measure."""

    name: str
    mode: Literal["bm25", "hybrid"]
    config: RetrievalConfig


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("bm25", "bm25", FIRST_STAGE_ONLY),
        Stage("bm25+rewrite", "bm25", RetrievalConfig(rerank="none")),
        Stage("bm25+rewrite+rerank", "bm25", RetrievalConfig()),
        Stage("hybrid", "hybrid", FIRST_STAGE_ONLY),
        Stage("hybrid+rewrite", "hybrid", RetrievalConfig(rerank="none")),
        Stage("hybrid+rewrite+rerank", "hybrid", RetrievalConfig()),
        # Two options the defaults leave off, measured so the doc can say why.
        Stage("hybrid+rewrite+split+rerank", "hybrid", RetrievalConfig(split=True)),
        Stage("hybrid+rewrite+rerank+mmr", "hybrid", RetrievalConfig(diversity=0.2)),
    )
}
"""The stages the eval reports by default, in order (the ``+rerank`` ones are the defaults)."""


@dataclass(frozen=True)
class QuestionResult:
    """How one question fared in one stage."""

    question: LabelledQuestion
    searched: str
    """The query as searched (rewritten for a follow-up when the stage rewrites)."""
    retrieved: list[str]
    """Distinct doc ids of the top-k passages, best first."""
    scores: dict[str, float]
    """Per measure (``R@5``, ``RR@5``, ``nDCG@5``, ``Success@5``)."""
    outcome: SearchOutcome


@dataclass(frozen=True)
class StageReport:
    """A stage's scores over the labelled questions (means), and its per-search latency."""

    stage: str
    k: int
    results: list[QuestionResult] = field(default_factory=list)

    def mean(self, measure: str, kind: QuestionKind | None = None) -> float:
        """Mean of ``measure`` (``"R"``, ``"RR"``, ``"nDCG"``, ``"Success"`` at k, or a full name
        such as ``"passage Success@1"``) over the questions (of ``kind``) that have it."""
        name = measure if "@" in measure else f"{measure}@{self.k}"
        values = [r.scores[name] for r in self.results if name in r.scores and kind in (None, r.question.kind)]
        return sum(values) / len(values) if values else 0.0

    @property
    def passage_mrr(self) -> float:
        """Mean reciprocal rank of the first passage from a labelled answer section."""
        return self.mean(f"passage RR@{self.k}")

    @property
    def passage_top1(self) -> float:
        """Share of section-labelled questions whose best passage lies in an answer section."""
        return self.mean("passage Success@1")

    @property
    def recall(self) -> float:
        """Mean recall@k."""
        return self.mean("R")

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank of the first expected document within the top k."""
        return self.mean("RR")

    @property
    def ndcg(self) -> float:
        """Mean nDCG@k."""
        return self.mean("nDCG")

    @property
    def hit_rate(self) -> float:
        """Share of questions with an expected document in the top k."""
        return self.mean("Success")

    @property
    def misses(self) -> list[QuestionResult]:
        """Questions where some expected document was not retrieved."""
        return [r for r in self.results if r.scores[f"R@{self.k}"] < 1.0]

    def latency_ms(self, percentile: float, part: str = "total_ms") -> float:
        """The ``percentile`` (0-100) of one stage timing (``total_ms``, ``rerank_ms``, …) per search."""
        values = sorted(getattr(r.outcome.timings, part) for r in self.results)
        if not values:
            return 0.0
        rank = min(len(values) - 1, max(0, round(percentile / 100 * len(values) + 0.5) - 1))
        return float(values[rank])


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[LabelledQuestion]:
    """The labelled questions of a YAML file shaped ``{questions: [{question, expected, …}, …]}``."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise ValueError(f"{path}: expected a mapping with a 'questions' list of {{question, expected}} entries")
    try:
        return [LabelledQuestion.model_validate(item) for item in data["questions"]]
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from None


def check_labels(questions: Sequence[LabelledQuestion], chunks: Sequence[Chunk]) -> None:
    """Raise ``ValueError`` when a question expects a document or a section the knowledge base
    does not have, or a section outside its expected documents."""
    doc_ids = {c.doc_id for c in chunks}
    unknown = sorted({d for q in questions for d in q.expected} - doc_ids)
    if unknown:
        raise ValueError(f"labelled questions name unknown documents: {', '.join(unknown)}")
    for q in questions:
        for section in q.sections:
            only = LabelledQuestion(question=q.question, expected=q.expected, sections=[section])
            if section.split(TITLE_SEPARATOR)[0] not in q.expected or not any(only.is_answer(c) for c in chunks):
                raise ValueError(f"{q.question!r}: section {section!r} is not a section of an expected document")


def evaluate(
    retriever: Retriever,
    questions: Sequence[LabelledQuestion],
    k: int = 5,
    stage: str = "",
    *,
    fresh_queries: bool = True,
) -> StageReport:
    """Score ``retriever`` on ``questions`` with the top ``k`` passages of each.

    ``fresh_queries`` empties the index's query-embedding cache first, so that the stage pays
    for its own embeddings and its latency is its own (tests turn it off to save time).
    """
    if fresh_queries:
        retriever.index.clear_query_cache()
        retriever.index.warm_up()
    outcomes = [retriever.search(q.question, k=k, earlier=q.history) for q in questions]
    docs = [list(dict.fromkeys(p.doc_id for p in outcome.passages)) for outcome in outcomes]
    qrels = {str(i): {doc: 1 for doc in q.expected} for i, q in enumerate(questions)}
    scores = _measure([R @ k, RR @ k, nDCG @ k, Success @ k], qrels, docs)
    labelled = [i for i, q in enumerate(questions) if q.sections]
    answers = {str(i): {c.chunk_id: 1 for c in retriever.index.chunks if questions[i].is_answer(c)} for i in labelled}
    chunk_runs = [[p.chunk_id for p in outcomes[i].passages] for i in labelled]
    passage_scores = _measure([RR @ k, Success @ 1], answers, chunk_runs, ids=[str(i) for i in labelled])
    for qid, values in passage_scores.items():
        scores[qid] |= {f"passage {name}": value for name, value in values.items()}
    results = [
        QuestionResult(q, outcomes[i].query, docs[i], scores[str(i)], outcomes[i]) for i, q in enumerate(questions)
    ]
    return StageReport(stage or retriever.reranker.name, k, results)


def _measure(
    measures: list[ir_measures.Measure],
    qrels: dict[str, dict[str, int]],
    rankings: Sequence[list[str]],
    ids: Sequence[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Per query id, each measure's value for ``rankings`` (best first) against ``qrels``."""
    ids = ids if ids is not None else [str(i) for i in range(len(rankings))]
    # Scores by rank: trec_eval breaks ties by id, which would reorder equal scores.
    run = {
        qid: {item: float(len(ranking) - rank) for rank, item in enumerate(ranking)} or {_NOTHING: 0.0}
        for qid, ranking in zip(ids, rankings, strict=True)
    }
    values: dict[str, dict[str, float]] = {qid: {} for qid in ids}
    for metric in ir_measures.iter_calc(measures, qrels, run):
        values[metric.query_id][str(metric.measure)] = metric.value
    return values


def run_eval(
    docs_dir: str | Path = DEFAULT_DOCS_DIR,
    questions_path: str | Path = DEFAULT_QUESTIONS,
    *,
    stages: Sequence[str] | None = None,
    k: int = 5,
    fresh_queries: bool = True,
) -> list[StageReport]:
    """Every stage of ``stages`` (default: all of :data:`STAGES` this install can run) over a
    knowledge base and its labelled questions. Hybrid stages need the embeddings extra."""
    documents = load_documents(docs_dir)
    questions = load_questions(questions_path)
    check_labels(questions, chunk_documents(documents))
    chosen = [STAGES[name] for name in stages] if stages else runnable_stages()
    indexes: dict[str, KnowledgeIndex] = {}
    reports = []
    for stage in chosen:
        if stage.mode not in indexes:
            indexes[stage.mode] = _index(documents, stage.mode)
        retriever = Retriever(indexes[stage.mode], stage.config)
        reports.append(evaluate(retriever, questions, k, stage.name, fresh_queries=fresh_queries))
    return reports


def runnable_stages() -> list[Stage]:
    """The default stages, without the hybrid ones when the embeddings extra is missing."""
    return [s for s in STAGES.values() if s.mode == "bm25" or dense_available()]


def _index(documents: Sequence[Document], mode: RetrievalMode) -> KnowledgeIndex:
    return build_index(documents, mode=mode)


KINDS: tuple[QuestionKind, ...] = ("direct", "paraphrase", "follow-up", "two-part")


def format_report(report: StageReport, *, by_kind: bool = False, misses: bool = False) -> str:
    """A report as text lines: the scores, then (optionally) per kind and the misses."""
    k = report.k
    lines = [
        f"{report.stage:<22} R@{k}={report.recall:.3f}  MRR@{k}={report.mrr:.3f}  nDCG@{k}={report.ndcg:.3f}  "
        f"hit@{k}={report.hit_rate:.3f}  passage MRR@{k}={report.passage_mrr:.3f}  passage top-1="
        f"{report.passage_top1:.3f}  p50={report.latency_ms(50):.2f} ms  p95={report.latency_ms(95):.2f} ms"
    ]
    if by_kind:
        for kind in KINDS:
            count = sum(1 for r in report.results if r.question.kind == kind)
            if count:
                lines.append(
                    f"    {kind:<11} ({count:>3})  R@{k}={report.mean('R', kind):.3f}  "
                    f"MRR@{k}={report.mean('RR', kind):.3f}  nDCG@{k}={report.mean('nDCG', kind):.3f}"
                )
    if misses:
        for miss in report.misses:
            lines.append(
                f"    miss: {miss.question.question!r} (searched {miss.searched!r}) "
                f"expected {miss.question.expected}, got {miss.retrieved}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m tools.retrieval.evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS_DIR, help="knowledge-base directory")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="labelled questions YAML")
    parser.add_argument("--k", type=int, default=5, help="passages retrieved per question (default 5)")
    parser.add_argument("--stages", default="", help=f"comma-separated, from: {', '.join(STAGES)} (default: all)")
    parser.add_argument("--by-kind", action="store_true", help="scores per kind of question too")
    parser.add_argument("--misses", action="store_true", help="list the questions that missed a document")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(unknown)}")
    try:
        reports = run_eval(args.docs, args.questions, stages=stages or None, k=args.k)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"{len(reports[0].results) if reports else 0} labelled questions, k={args.k}")
    for report in reports:
        print(format_report(report, by_kind=args.by_kind, misses=args.misses))
    if not dense_available() and not stages:
        print("hybrid stages skipped: the embeddings extra is not installed (pip install -e '.[embeddings]')")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
