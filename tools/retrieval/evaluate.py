"""Retrieval quality on the labelled questions: recall@k, hit@k and MRR, per retrieval mode.

    python -m tools.retrieval.evaluate [--k 5] [--mode bm25|hybrid|all] [--misses]

Each labelled question lists the documents that answer it. For one question, with the top ``k``
passages retrieved:

- recall@k is the share of its expected documents that appear among them;
- hit@k is 1 when at least one expected document appears;
- reciprocal rank is 1 / the rank of the first passage from an expected document (0 if none).

Reported values are means over the questions. Hybrid is evaluated only when the embeddings extra
is installed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from tools.retrieval.dense import dense_available
from tools.retrieval.documents import load_documents
from tools.retrieval.index import KnowledgeIndex, build_index

_SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "commerce"
DEFAULT_DOCS_DIR = Path(__file__).resolve().parents[1] / "commerce" / "kb"
DEFAULT_QUESTIONS = _SCENARIO_DIR / "kb_questions.yaml"


class LabelledQuestion(BaseModel):
    """A customer question and the ids of the documents that answer it."""

    question: str = Field(min_length=2)
    expected: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class QuestionResult:
    """How one question fared."""

    question: LabelledQuestion
    retrieved: list[str]
    """Doc ids of the top-k passages, best first (a doc may repeat)."""
    recall: float
    reciprocal_rank: float


@dataclass(frozen=True)
class EvalReport:
    """Aggregate scores of one mode over all questions."""

    mode: str
    k: int
    results: list[QuestionResult] = field(default_factory=list)
    seconds_per_query: float = 0.0

    @property
    def recall(self) -> float:
        """Mean recall@k."""
        return _mean([r.recall for r in self.results])

    @property
    def hit_rate(self) -> float:
        """Share of questions with at least one expected document in the top k."""
        return _mean([1.0 if r.recall > 0 else 0.0 for r in self.results])

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank of the first relevant passage (within the top k)."""
        return _mean([r.reciprocal_rank for r in self.results])

    @property
    def misses(self) -> list[QuestionResult]:
        """Questions where some expected document was not retrieved."""
        return [r for r in self.results if r.recall < 1.0]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[LabelledQuestion]:
    """The labelled questions of a YAML file shaped ``{questions: [{question, expected}, ...]}``."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [LabelledQuestion.model_validate(item) for item in data["questions"]]


def evaluate(index: KnowledgeIndex, questions: Sequence[LabelledQuestion], k: int = 5) -> EvalReport:
    """Score ``index`` on ``questions`` with the top ``k`` passages."""
    results = []
    started = time.perf_counter()
    for item in questions:
        retrieved = [p.doc_id for p in index.search(item.question, k=k)]
        expected = set(item.expected)
        recall = len(expected & set(retrieved)) / len(expected)
        first = next((rank for rank, doc in enumerate(retrieved, start=1) if doc in expected), None)
        results.append(QuestionResult(item, retrieved, recall, 1.0 / first if first else 0.0))
    elapsed = time.perf_counter() - started
    return EvalReport(index.mode, k, results, elapsed / max(len(questions), 1))


def _check_labels(questions: Sequence[LabelledQuestion], doc_ids: Sequence[str]) -> None:
    unknown = sorted({d for q in questions for d in q.expected} - set(doc_ids))
    if unknown:
        raise SystemExit(f"labelled questions name unknown documents: {', '.join(unknown)}")


def _print_report(report: EvalReport, show_misses: bool) -> None:
    print(
        f"{report.mode:<7} recall@{report.k}={report.recall:.3f}  hit@{report.k}={report.hit_rate:.3f}  "
        f"MRR@{report.k}={report.mrr:.3f}  ({len(report.results)} questions, "
        f"{report.seconds_per_query * 1000:.1f} ms/query)"
    )
    if show_misses:
        for miss in report.misses:
            print(f"    miss: {miss.question.question!r} expected {miss.question.expected}, got {miss.retrieved}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m tools.retrieval.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5, help="passages retrieved per question (default 5)")
    parser.add_argument("--mode", choices=["bm25", "hybrid", "all"], default="all")
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS_DIR, help="knowledge-base directory")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="labelled questions YAML")
    parser.add_argument("--misses", action="store_true", help="list the questions that missed a document")
    args = parser.parse_args(argv)

    documents = load_documents(args.docs)
    questions = load_questions(args.questions)
    _check_labels(questions, [d.doc_id for d in documents])
    modes = ["bm25", "hybrid"] if args.mode == "all" else [args.mode]
    print(f"{len(documents)} documents, {len(questions)} labelled questions, k={args.k}")
    for mode in modes:
        if mode == "hybrid" and not dense_available():
            print("hybrid  skipped: the embeddings extra is not installed (pip install -e '.[embeddings]')")
            continue
        index = build_index(documents, mode=mode)  # type: ignore[arg-type]
        _print_report(evaluate(index, questions, args.k), args.misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
