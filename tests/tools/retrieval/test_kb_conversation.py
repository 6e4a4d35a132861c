"""The retrieval path in a real conversation: the runtime hands the tool the user's earlier
messages, the follow-up is searched standalone, the trace shows both queries, and the offline
model answers from the best reranked passage or says plainly what it could not find."""

from __future__ import annotations

from agent.config import Settings
from agent.persistence.traces import Span
from agent.runtime import Tiller


def search_span(tiller: Tiller, run_id: str | None) -> Span:
    trace = tiller.traces.get("acme", run_id or "")
    return next(s for s in trace.spans if s.kind == "tool" and s.name == "search_knowledge_base")


def test_a_follow_up_is_searched_with_the_subject_of_the_earlier_turn(settings: Settings) -> None:
    with Tiller(settings) as tiller:
        first = tiller.ask("What's your return policy for electronics?", thread_id="t-returns")
        follow_up = tiller.ask("and for tents?", thread_id="t-returns")
        span = search_span(tiller, follow_up.run_id)
        alone = tiller.ask("and for tents?", thread_id="t-alone")
        alone_span = search_span(tiller, alone.run_id)

    assert "15 days" in first.answer and "[returns-policy#2]" in first.answer
    # The model passed the words as typed; the tool searched them with the earlier turn's subject.
    assert follow_up.trajectory[0].args["query"] == "and for tents?"
    assert "30 calendar days" in follow_up.answer and "[returns-policy#1]" in follow_up.answer
    attrs = span.attributes
    assert attrs["retrieval_query"] == "and for tents?"
    assert attrs["retrieval_rewritten_query"] == "What's your return policy for tents?"
    assert attrs["retrieval_reranker"] == "fielded" and attrs["retrieval_rerank_ms"] > 0
    # The same words in another thread have no subject to carry, and do not get the cached result.
    assert "retrieval_rewritten_query" not in alone_span.attributes
    assert alone_span.attributes["cache_hit"] is False and "[returns-policy#1]" not in alone.answer


def test_nothing_relevant_is_said_plainly(settings: Settings) -> None:
    with Tiller(settings) as tiller:
        result = tiller.ask("Can I bring my parrot to your climbing wall?", thread_id="t-parrot")

    assert 'I could not find a policy about "bring parrot climbing wall"' in result.answer
    assert "This page" not in result.answer
