"""Query rewriting: follow-ups made standalone, standalone queries left alone, two-part questions split."""

from __future__ import annotations

import pytest

from tools.retrieval.rewrite import QueryRewrite, content_words, is_follow_up, rewrite_query, split_question

ELECTRONICS = "What's your return policy for electronics?"


def test_the_issue_follow_up_takes_the_subject_of_the_earlier_turn() -> None:
    rewrite = rewrite_query("and for tents?", [ELECTRONICS])

    assert rewrite == QueryRewrite("and for tents?", "What's your return policy for tents?", "slot")
    assert rewrite.rewritten and rewrite.keywords == "return policy tents"


@pytest.mark.parametrize(
    ("earlier", "follow_up", "standalone"),
    [
        (["How long does delivery take to Canada?"], "and to France?", "How long does delivery take to France?"),
        (["Do you ship to PO boxes?"], "and to an APO address?", "Do you ship to an APO address?"),
        (["Can I buy a gift card with points?"], "what about with a code?", "Can I buy a gift card with a code?"),
    ],
)
def test_a_follow_up_with_a_preposition_replaces_that_slot(earlier: list[str], follow_up: str, standalone: str) -> None:
    assert rewrite_query(follow_up, earlier).query == standalone


@pytest.mark.parametrize(
    ("earlier", "follow_up", "standalone"),
    [
        (["I'd like to return my boots"], "how long do I have?", "I'd like to return my boots. how long do I have?"),
        (["My sleeping pad is backordered"], "can I cancel it?", "My sleeping pad is backordered. can I cancel it?"),
        (["Do gift cards expire?"], "what about reward points?", "Do gift cards expire? reward points?"),
        (["Do you charge sales tax?"], "what about in Canada?", "Do you charge sales tax? in Canada?"),
    ],
)
def test_otherwise_the_earlier_turn_is_carried(earlier: list[str], follow_up: str, standalone: str) -> None:
    rewrite = rewrite_query(follow_up, earlier)

    assert (rewrite.query, rewrite.kind) == (standalone, "carried")


def test_earlier_follow_ups_are_resolved_first_and_small_talk_is_skipped() -> None:
    earlier = [ELECTRONICS, "and for tents?", "thanks!"]

    assert rewrite_query("and for sleeping bags?", earlier).query == "What's your return policy for sleeping bags?"


@pytest.mark.parametrize(
    "query",
    [
        "Do you ship to Canada?",
        "Can I pay with PayPal?",
        "How long does it take to get a kayak delivered?",
        "Is it free to trade a pair of pants for a different color?",
        "return policy for tents",
    ],
)
def test_a_standalone_question_is_never_rewritten(query: str) -> None:
    assert not is_follow_up(query)
    assert rewrite_query(query, [ELECTRONICS]) == QueryRewrite(query, query)


def test_without_earlier_messages_nothing_is_rewritten() -> None:
    assert rewrite_query("and for tents?", []) == QueryRewrite("and for tents?", "and for tents?")
    assert rewrite_query("and for tents?", ["ok", "thanks"]).rewritten is False


@pytest.mark.parametrize("query", ["and for tents?", "what about Germany?", "can I cancel it?", "how long do I have?"])
def test_follow_up_shapes(query: str) -> None:
    assert is_follow_up(query)


def test_two_part_questions_are_split_only_when_asked_and_only_into_real_questions() -> None:
    two = "Do you ship to Canada and how long does delivery take?"

    assert rewrite_query(two).sub_queries == ()
    assert rewrite_query(two, split=True).sub_queries == ("Do you ship to Canada", "how long does delivery take?")
    assert split_question("Do you ship to Canada? How long does it take?") == (
        "Do you ship to Canada?",
        "How long does it take?",
    )
    # "and" inside one question, or a part without two content words, is no split.
    assert split_question("Can I return boots and jackets?") == ("Can I return boots and jackets?",)
    assert split_question("Do you ship to Canada and how?") == ("Do you ship to Canada and how?",)
    assert split_question("Do you ship to Canada and how much is it?") == ("Do you ship to Canada and how much is it?",)


def test_content_words_drop_question_words_pronouns_and_contractions() -> None:
    assert content_words("What's your return policy for tents?") == ["return", "policy", "tents"]
    assert content_words("I can't find it, don't you ship it?") == ["find", "ship"]
