"""The search_knowledge_base tool, driven the way the runtime drives it."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import pytest

from tools.contract import Risk, ToolContext, ToolSpec
from tools.errors import ArgumentsInvalid
from tools.retrieval import (
    KnowledgeIndex,
    Passage,
    RetrievalConfig,
    SearchKnowledgeBaseResult,
    build_index,
    knowledge_tools,
    load_documents,
)
from tools.retrieval.kb_tool import summarize
from tools.validation import validate_args


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return build_index(load_documents(Path(__file__).resolve().parents[3] / "tools" / "commerce" / "kb"), mode="bm25")


@pytest.fixture(scope="module")
def spec(index: KnowledgeIndex) -> ToolSpec:
    (only,) = knowledge_tools(index)
    return only


@pytest.fixture
def ctx() -> ToolContext:
    # The knowledge-base tool never touches the database session.
    return ToolContext(tenant_id="acme", user_id="u-1", thread_id="t-1", session=MagicMock(), tool_call_id="call-1")


def _call(spec: ToolSpec, ctx: ToolContext, raw: str | dict[str, object]) -> SearchKnowledgeBaseResult:
    result = spec.func(ctx, validate_args(spec, raw))  # type: ignore[arg-type]
    assert isinstance(result, SearchKnowledgeBaseResult)
    return result


def test_declaration(spec: ToolSpec) -> None:
    assert spec.name == "search_knowledge_base"
    assert spec.risk is Risk.READ and spec.idempotent
    assert 3 <= len(spec.examples) <= 6
    assert "policy" in spec.description and "changes nothing" in spec.description  # neutral: no business named
    props = spec.args_schema()["properties"]
    assert (props["query"]["minLength"], props["query"]["maxLength"]) == (2, 500)
    assert (props["top_k"]["minimum"], props["top_k"]["maximum"], props["top_k"]["default"]) == (1, 10, 4)
    assert props["query"]["description"]
    assert spec.args_schema()["required"] == ["query"]


def test_a_domain_describes_the_search_in_its_own_words(index: KnowledgeIndex) -> None:
    [spec] = knowledge_tools(index, description="Search the library's lending rules.", examples=("Can I renew?",))
    assert spec.description == "Search the library's lending rules." and spec.examples == ("Can I renew?",)
    assert spec.args_model.__name__ == "SearchKnowledgeBaseArgs"  # the same tool, in other words


def test_returns_passages_and_a_cited_summary(spec: ToolSpec, ctx: ToolContext) -> None:
    result = _call(spec, ctx, {"query": "how long do refunds take to reach my card"})

    assert 1 <= len(result.passages) <= 4
    best = result.passages[0]
    assert best.doc_id == "refund-policy"
    assert result.summary.startswith(f"{best.title}: ")
    assert f"[{best.chunk_id}]" in result.summary


def test_accepts_a_json_string_and_top_k(spec: ToolSpec, ctx: ToolContext) -> None:
    result = _call(spec, ctx, '{"query": "ship to canada", "top_k": 2}')

    assert len(result.passages) == 2
    assert result.passages[0].doc_id == "shipping-international"


def test_no_match_is_an_honest_empty_result(spec: ToolSpec, ctx: ToolContext) -> None:
    result = _call(spec, ctx, {"query": "zxqv blorft"})

    assert result.passages == []
    assert result.summary.startswith("No passage")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"query": "a"}, "query"),
        ({"query": "x" * 501}, "query"),
        ({"query": "refunds", "top_k": 0}, "top_k"),
        ({"query": "refunds", "top_k": 11}, "top_k"),
        ({"query": "?!"}, "query"),
        ({}, ""),
    ],
)
def test_invalid_arguments_name_the_field(spec: ToolSpec, raw: dict[str, object], field: str) -> None:
    with pytest.raises(ArgumentsInvalid) as err:
        validate_args(spec, raw)

    assert err.value.problems and err.value.problems[0].field == field


def test_result_is_json_serialisable(spec: ToolSpec, ctx: ToolContext) -> None:
    result = _call(spec, ctx, {"query": "gift card expiry"})

    again = SearchKnowledgeBaseResult.model_validate_json(result.model_dump_json())

    assert again == result


def test_summary_shortens_long_first_sentences_and_lists_other_sources() -> None:
    passages = [
        Passage(doc_id="a", chunk_id="a#0", title="A", text="word " * 100, score=2.0),
        Passage(doc_id="b", chunk_id="b#3", title="B", text="Short. More.", score=1.0),
    ]

    summary = summarize(passages)

    assert summary.startswith("A: word")
    assert "… [a#0]" in summary
    assert summary.endswith("See also [b#3].")


def test_the_result_says_what_was_searched_and_what_each_stage_cost(spec: ToolSpec, ctx: ToolContext) -> None:
    result = _call(spec, ctx, {"query": "What is the return policy for electronics?"})

    assert result.passages[0].title == "Returns policy › Electronics"
    assert result.retrieval is not None
    assert result.retrieval.query == "What is the return policy for electronics?"
    assert result.retrieval.reranker == "fielded" and result.retrieval.rerank_ms > 0
    # The summary quotes the best passage's sentence about the question, not its first sentence.
    assert "15 days" in result.summary


def test_a_follow_up_is_made_standalone_before_the_call(spec: ToolSpec, ctx: ToolContext) -> None:
    assert spec.contextualize is not None
    args = validate_args(spec, {"query": "and for tents?", "top_k": 3})

    standalone = spec.contextualize(args, ("What's your return policy for electronics?",))
    unchanged = spec.contextualize(validate_args(spec, {"query": "Do you ship to Canada?"}), ("Hi",))

    assert standalone.model_dump() == {"query": "What's your return policy for tents?", "top_k": 3}
    assert unchanged.model_dump()["query"] == "Do you ship to Canada?"
    result = spec.func(ctx, standalone)
    assert isinstance(result, SearchKnowledgeBaseResult)
    assert result.passages[0].title == "Returns policy › Return window"


def test_stages_are_configured_per_domain() -> None:
    kb = Path(__file__).resolve().parents[3] / "tools" / "commerce" / "kb"
    index = build_index(load_documents(kb), mode="bm25")
    (plain,) = knowledge_tools(index, RetrievalConfig(rewrite=False, rerank="none"))
    ctx = ToolContext(tenant_id="acme", user_id="u", thread_id="t", session=MagicMock())

    assert plain.contextualize is not None
    args = validate_args(plain, {"query": "and for tents?"})
    assert plain.contextualize(args, ("What's your return policy for electronics?",)) == args
    result = plain.func(ctx, validate_args(plain, {"query": "what is the return policy for electronics?"}))
    assert isinstance(result, SearchKnowledgeBaseResult)
    assert result.retrieval is not None and result.retrieval.reranker == "none"
    assert result.passages[0].title == "Exchanges › What can be exchanged"


def test_summary_picks_the_sentence_that_covers_the_question() -> None:
    kb = Path(__file__).resolve().parents[3] / "tools" / "commerce" / "kb"
    index = build_index(load_documents(kb), mode="bm25")
    lead = next(c for c in index.chunks if c.chunk_id == "returns-policy#0")
    passage = Passage(doc_id=lead.doc_id, chunk_id=lead.chunk_id, title=lead.title, text=lead.text, score=1.0)

    summary = summarize([passage], index, "how many days to send something back for a refund")

    assert "30 days" in summary and "This page covers" not in summary
