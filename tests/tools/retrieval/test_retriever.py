"""The retrieval path through its public entry points: Retriever, the rerankers, RetrievalConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.retrieval import (
    CrossEncoderReranker,
    FieldedReranker,
    KnowledgeIndex,
    RetrievalConfig,
    Retriever,
    build_index,
    load_documents,
)
from tools.retrieval.config import FIRST_STAGE_ONLY
from tools.retrieval.rerank import FieldWeights, KeepOrder, diversify, make_reranker, query_terms

KB = Path(__file__).resolve().parents[3] / "tools" / "commerce" / "kb"


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return build_index(load_documents(KB), mode="bm25")


def titles(retriever: Retriever, query: str, earlier: list[str] | None = None, k: int = 3) -> list[str]:
    return [p.title for p in retriever.search(query, k=k, earlier=earlier or []).passages]


def test_the_issue_questions_get_the_answering_section_first(index: KnowledgeIndex) -> None:
    retriever = Retriever(index)

    assert titles(retriever, "return policy for tents")[0] == "Returns policy › Return window"
    assert titles(retriever, "What is the return policy for electronics?")[0] == "Returns policy › Electronics"
    assert titles(retriever, "and for tents?", ["What's your return policy for electronics?"])[0] == (
        "Returns policy › Return window"
    )
    # Without the stages, the same index answers with the tent-care page and the Exchanges page.
    plain = Retriever(index, FIRST_STAGE_ONLY)
    assert titles(plain, "return policy for tents")[0] == "Caring for your gear › Tents"
    assert titles(plain, "What is the return policy for electronics?")[0] == "Exchanges › What can be exchanged"
    assert "Returns policy" not in " ".join(titles(plain, "and for tents?"))


def test_every_stage_off_is_exactly_first_stage_retrieval(index: KnowledgeIndex) -> None:
    retriever = Retriever(index, FIRST_STAGE_ONLY)

    for query in ("Can I pay with PayPal?", "how long do refunds take", "and for tents?"):
        found = retriever.search(query, k=4, earlier=["What's your return policy for electronics?"])
        assert found.passages == index.search(query, k=4)
        assert (found.query, found.reranker) == (query, "none")


def test_a_search_reports_what_it_searched_and_what_each_stage_cost(index: KnowledgeIndex) -> None:
    found = Retriever(index).search("what about Germany?", k=2, earlier=["Do you ship to Canada?"])

    assert found.rewrite.original == "what about Germany?" and found.rewrite.rewritten
    assert found.query == "Do you ship to Canada? Germany?"
    assert found.reranker == "fielded" and len(found.passages) == 2
    timings = found.timings
    assert timings.first_stage_ms > 0 and timings.rerank_ms > 0
    assert timings.total_ms == pytest.approx(timings.rewrite_ms + timings.first_stage_ms + timings.rerank_ms)
    assert found.passages[0].score >= found.passages[1].score


def test_split_sub_queries_are_fused_with_the_whole_question(index: KnowledgeIndex) -> None:
    question = "Do you ship to Canada and how long does delivery take?"
    found = Retriever(index, RetrievalConfig(split=True, rerank="none")).search(question, k=5)
    whole = Retriever(index, RetrievalConfig(rerank="none")).search(question, k=5)

    assert found.rewrite.sub_queries == ("Do you ship to Canada", "how long does delivery take?")
    assert whole.rewrite.sub_queries == ()
    assert found.passages != whole.passages  # the parts' rankings were fused in
    assert found.passages[0].doc_id == "shipping-international"


def test_the_fielded_reranker_prefers_the_section_about_the_question(index: KnowledgeIndex) -> None:
    query = "what is the return policy for electronics?"
    candidates = index.ranking(query, 30)
    exchanges = next(i for i, _ in candidates if index.chunks[i].title == "Exchanges › What can be exchanged")
    returns = next(i for i, _ in candidates if index.chunks[i].title == "Returns policy › Electronics")

    order = [i for i, _ in FieldedReranker().rerank(index, query, candidates)]

    assert order.index(returns) < order.index(exchanges)
    assert sorted(order) == sorted(i for i, _ in candidates)  # reordered, nothing lost or added
    # Question words are not terms: "what" would match the heading "What can be exchanged".
    assert set(query_terms(index, query)) == {"return", "polici", "electron"}


def test_reranker_weights_are_the_knobs_they_claim_to_be(index: KnowledgeIndex) -> None:
    query = "return policy for tents"
    candidates = index.ranking(query, 30)

    prior_only = FieldedReranker(FieldWeights(prior=1.0, body=0.0))
    assert [i for i, _ in prior_only.rerank(index, query, candidates)] == [i for i, _ in candidates]
    lead_penalty = FieldedReranker(FieldWeights(prior=0.0, body=1.0, lead=5.0))
    ranked = [index.chunks[i] for i, _ in lead_penalty.rerank(index, query, candidates)]
    assert all(c.title != "Returns policy" for c in ranked[:5])  # the opening section sinks


def test_nothing_to_judge_keeps_the_first_stage_order(index: KnowledgeIndex) -> None:
    candidates = [(3, 1.0), (1, 0.5)]

    assert FieldedReranker().rerank(index, "zxqv blorft", candidates) == candidates
    assert KeepOrder().rerank(index, "anything", candidates) == candidates


def test_diversity_trades_near_duplicates_for_passages_unlike_the_first(index: KnowledgeIndex) -> None:
    ranked = FieldedReranker().rerank(index, "return policy for electronics", index.ranking("return policy", 30))

    def overlap(picked: list[tuple[int, float]]) -> float:
        """The largest term overlap (Jaccard) between two picked passages."""
        terms = [index.chunk_terms(i).body for i, _ in picked]
        return max(len(a & b) / len(a | b) for n, a in enumerate(terms) for b in terms[n + 1 :])

    assert diversify(index, ranked, 4, 0.0) == ranked[:4]
    varied = diversify(index, ranked, 4, 0.9)
    assert varied[0] == ranked[0] and len(varied) == 4 and varied != ranked[:4]
    assert overlap(varied) < overlap(ranked[:4])


def test_config_is_validated_and_names_its_reranker(tmp_path: Path) -> None:
    assert make_reranker(RetrievalConfig()).name == "fielded"
    assert make_reranker(RetrievalConfig(rerank="none")).name == "none"
    local = RetrievalConfig(rerank="cross-encoder", cross_encoder_model=str(tmp_path))
    assert isinstance(make_reranker(local), CrossEncoderReranker)
    with pytest.raises(ValueError, match="cross_encoder_model"):
        RetrievalConfig(rerank="cross-encoder")
    with pytest.raises(ValueError, match="unknown reranker"):
        RetrievalConfig(rerank="llm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="diversity"):
        RetrievalConfig().with_(diversity=2.0)
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        CrossEncoderReranker(tmp_path / "missing")
