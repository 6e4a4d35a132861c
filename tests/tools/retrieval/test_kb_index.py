"""Searching a knowledge index: passages, ranking, edge cases, fusion."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tools.retrieval import (
    EmbeddingsUnavailable,
    KnowledgeIndex,
    Passage,
    build_index,
    dense,
    load_documents,
    make_document,
)
from tools.retrieval.dense import reciprocal_rank_fusion, top_k
from tools.retrieval.index import resolve_mode


@pytest.fixture(scope="module")
def kb_index() -> KnowledgeIndex:
    kb = Path(__file__).resolve().parents[3] / "tools" / "commerce" / "kb"
    return build_index(load_documents(kb), mode="bm25")


def test_search_returns_citable_passages_best_first(kb_index: KnowledgeIndex) -> None:
    passages = kb_index.search("can I return an opened GPS unit", k=5)

    assert 1 <= len(passages) <= 5
    assert all(isinstance(p, Passage) for p in passages)
    assert passages[0].doc_id == "electronics-returns"
    assert passages[0].chunk_id.startswith("electronics-returns#")
    assert passages[0].title.startswith("Electronics returns")
    assert passages[0].source_path and passages[0].source_path.endswith("electronics-returns.md")
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_search_respects_k(kb_index: KnowledgeIndex) -> None:
    assert len(kb_index.search("refund shipping order", k=1)) == 1
    assert len(kb_index.search("refund shipping order", k=3)) == 3
    assert kb_index.search("refund", k=0) == []


def test_queries_with_no_known_term_return_nothing(kb_index: KnowledgeIndex) -> None:
    assert kb_index.search("zxqv blorft") == []
    assert kb_index.search("the and of") == []  # stop words only
    assert kb_index.search("") == []


def test_k_larger_than_the_index_returns_every_match() -> None:
    index = build_index([make_document("a", "# A\n\nTents and stoves."), make_document("b", "# B\n\nStoves only.")])

    passages = index.search("stoves", k=10)

    assert {p.doc_id for p in passages} == {"a", "b"}


def test_titles_are_indexed_too() -> None:
    index = build_index(
        [
            make_document("care", "# Caring for gear\n\n## Sleeping bags\n\nStore them loosely."),
            make_document("other", "# Other\n\nNothing relevant here at all."),
        ]
    )

    assert index.search("sleeping bag")[0].chunk_id == "care#0"


def test_index_metadata(kb_index: KnowledgeIndex) -> None:
    assert kb_index.mode == "bm25"
    assert kb_index.rebuilt is True
    assert len(kb_index) == len(kb_index.chunks) > 25
    assert "returns-policy" in kb_index.doc_ids


def test_empty_knowledge_base_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        build_index([])


def test_concurrent_searches_agree(kb_index: KnowledgeIndex) -> None:
    queries = ["refund to my card", "ship to canada", "warranty on boots", "gift card balance"] * 10
    expected = [[p.chunk_id for p in kb_index.search(q)] for q in queries]

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda q: [p.chunk_id for p in kb_index.search(q)], queries))

    assert got == expected


def test_without_the_extra_auto_means_bm25_and_hybrid_explains_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dense, "dense_available", lambda: False)

    assert resolve_mode("auto") == "bm25"
    assert build_index([make_document("a", "# A\n\nTents.")], mode="auto").mode == "bm25"
    with pytest.raises(EmbeddingsUnavailable, match=r"pip install -e '\.\[embeddings\]'"):
        build_index([make_document("a", "# A\n\nTents.")], mode="hybrid")


def test_resolve_mode() -> None:
    assert resolve_mode("bm25") == "bm25"
    assert resolve_mode("hybrid") == "hybrid"
    assert resolve_mode("auto") in ("bm25", "hybrid")
    with pytest.raises(ValueError, match="mode"):
        resolve_mode("dense")  # type: ignore[arg-type]


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)

    assert [item for item, _ in fused] == [1, 3, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert reciprocal_rank_fusion([]) == []


def test_dense_top_k_orders_by_cosine() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)

    assert top_k(vectors, np.array([0.0, 1.0], dtype=np.float32), 2) == [1, 2]
    assert top_k(vectors, np.array([1.0, 0.0], dtype=np.float32), 10) == [0, 2, 1]
    assert top_k(vectors, np.array([1.0, 0.0], dtype=np.float32), 0) == []


def test_importing_the_package_does_not_import_torch() -> None:
    code = (
        "import sys, tools.retrieval; sys.exit(int(any(m in sys.modules for m in ('torch', 'sentence_transformers'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
