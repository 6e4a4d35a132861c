"""The cross-encoder reranker's plumbing, on a tiny random model written to disk here: it loads
from a local directory offline and orders candidates by the model's scores. (No PyPI wheel ships
real cross-encoder weights; see docs/RETRIEVAL.md.) Needs the embeddings extra."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the embeddings extra is not installed")
pytest.importorskip("sentence_transformers", reason="the embeddings extra is not installed")

from tools.retrieval import CrossEncoderReranker, RetrievalConfig, Retriever, build_index, make_document

pytestmark = pytest.mark.slow

WORDS = ["returns", "within", "30", "days", "ship", "to", "canada", "privacy", "data", "tents"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("tiny-cross-encoder")
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]), encoding="utf-8")
    config = BertConfig(
        vocab_size=5 + len(WORDS), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16, max_position_embeddings=64, num_labels=1,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(directory)
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(directory)
    return directory


def test_the_cross_encoder_reranks_by_its_own_scores_offline(tiny_model: Path) -> None:
    docs = [
        make_document("returns", "# Returns\n\nReturns within 30 days.\n"),
        make_document("shipping", "# Shipping\n\nShip to Canada within days.\n"),
        make_document("privacy", "# Privacy\n\nPrivacy data.\n"),
    ]
    index = build_index(docs, mode="bm25")
    reranker = CrossEncoderReranker(tiny_model)
    candidates = [(0, 3.0), (1, 2.0), (2, 1.0)]

    ranked = reranker.rerank(index, "returns within days", candidates)

    assert sorted(i for i, _ in ranked) == [0, 1, 2]
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    assert ranked == reranker.rerank(index, "returns within days", candidates)  # deterministic
    config = RetrievalConfig(rerank="cross-encoder", cross_encoder_model=str(tiny_model), rewrite=False)
    found = Retriever(index, config).search("returns within days", k=2)
    assert found.reranker == "cross-encoder" and len(found.passages) == 2
