"""Query rewriting: a follow-up made standalone from the conversation, a two-part question split.

A customer's second message often only makes sense with the first: after "What's your return
policy for electronics?", "and for tents?" means "What's your return policy for tents?". A
search for the three words "and for tents" finds tent care instead. A real model sees the
conversation and writes a standalone query itself (the tool's argument description asks it
to); this module is the deterministic rewriter for the offline model, and a safety net for a
model that passes the follow-up through verbatim. It only touches queries that look like
follow-ups, so a standalone query from a real model comes out unchanged.

A query is a **follow-up** when there is an earlier user message and the query

- opens with a continuation ("and …", "what about …", "how about …", "also …"),
- or refers back ("it", "that", "them", "there", …) in at most two content words,
- or has at most one content word ("how long do I have?").

It is rewritten against the **context**, the standalone form of the latest earlier message
that has content (earlier follow-ups are resolved first, oldest to newest):

- **slot substitution** when the follow-up is "<continuation> <preposition> <phrase>" and the
  context has the same preposition: the context's phrase after it is replaced ("What's your
  return policy for electronics?" + "and for tents?" → "What's your return policy for tents?");
- otherwise the **context is carried**: the follow-up, without its continuation word, is
  appended to the context ("I'd like to return my boots" + "how long do I have?" → "I'd like
  to return my boots. how long do I have?").

A **two-part question** ("Do you ship to Canada and how much are the duties?") is also split
into sub-queries at ", and" / "and" followed by a question word, when both parts have at least
two content words; the retriever searches the whole question and each part and fuses them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bm25s.stopwords import STOPWORDS_EN

RewriteKind = Literal["standalone", "slot", "carried"]

# Function words, pronouns, auxiliaries and light verbs: what is left of a message without them
# says what it is about. (bm25s's list has only Lucene's 33 words.)
_FUNCTION_WORDS = """i i'm im me my mine we our ours us you your yours he him his she her hers its it's they
them what how when where why which who whom whose can could do does did doing done would should shall may
might must am been being have has had having get got gets getting make made need needs want wanted like
would've i'd i've i'll you're there's here so too very just also only still ever now then than any some
all about from up down out over again please hi hello thanks ok many much more most lot lots few several
something anything thing things way really already even since yet"""
_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(_FUNCTION_WORDS.split())
_CONTRACTION = re.compile(r"'(s|re|ll|d|ve|m)$")
_CONTINUATION = re.compile(
    r"^\s*(?:and\s+(?:what|how)\s+about|what\s+about|how\s+about|and\s+also|and|also|or|same\s+for|"
    r"same\s+question\s+for|then)\b[\s,]*",
    re.IGNORECASE,
)
_REFERS_BACK = re.compile(r"\b(it|its|it's|that|this|those|these|them|they|there|one|ones|same)\b", re.IGNORECASE)
_PREPOSITIONS = frozenset({"for", "to", "in", "with", "about", "on", "from", "of", "at", "into", "by", "via"})
_WORD = re.compile(r"[\w'’-]+|[^\w\s]")
_PHRASE_END = frozenset({"?", ".", "!", ",", ";", ":"}) | {"and", "or", "but", "if", "when", "because"}
# "…, and how much…", "… and when…", "…? How…": a second question starts.
_SPLIT = re.compile(
    r"(?:\s*,?\s+and|(?<=\?))\s+(?=(?:how|what|when|where|why|which|who|can|could|do|does|is|are|will|would|"
    r"should|may|am|did)\b)",
    re.IGNORECASE,
)
_MAX_CONTEXT_CHARS = 300


@dataclass(frozen=True)
class QueryRewrite:
    """What a query became: the standalone ``query`` to search, its ``sub_queries`` (two-part
    questions; empty otherwise) and ``kind``, how it was made."""

    original: str
    query: str
    kind: RewriteKind = "standalone"
    sub_queries: tuple[str, ...] = ()

    @property
    def rewritten(self) -> bool:
        """Whether the searched query differs from the original."""
        return self.query != self.original

    @property
    def keywords(self) -> str:
        """The query's content words, for lexical search: question and function words out, so
        "What's the return policy…" does not match the heading "What happens next"."""
        return " ".join(content_words(self.query)) or self.query


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning: stop words, question words and contractions'
    endings out ("What's your policy?" → ``["policy"]``)."""
    words = [w.replace("’", "'").strip("'-").lower() for w in _WORD.findall(text) if w[0].isalnum() or w[0] == "_"]
    # "can't", "don't": negated auxiliaries, no more a topic than "can" and "do".
    words = [_CONTRACTION.sub("", w) for w in words if not w.endswith("n't")]
    return [w for w in words if w and w not in _STOPWORDS and len(w) > 1]


def is_follow_up(query: str) -> bool:
    """Whether ``query`` only makes sense with an earlier message (see the module docstring)."""
    words = content_words(query)
    if _CONTINUATION.match(query):
        return True
    if len(words) <= 1:
        return True
    return len(words) <= 2 and _REFERS_BACK.search(query) is not None


def rewrite_query(query: str, earlier: Sequence[str] = (), *, split: bool = False) -> QueryRewrite:
    """``query`` made standalone from the user's ``earlier`` messages (oldest first).

    ``split`` also cuts a two-part question into sub-queries.
    """
    query = " ".join(query.split())
    context = _context(earlier)
    follow_up = context is not None and is_follow_up(query)
    rewrite = _against(query, context) if follow_up and context is not None else QueryRewrite(query, query)
    if split:
        parts = split_question(rewrite.query)
        if len(parts) > 1:
            return QueryRewrite(rewrite.original, rewrite.query, rewrite.kind, parts)
    return rewrite


def split_question(query: str) -> tuple[str, ...]:
    """The parts of a two-part question, or ``(query,)`` when it is one question."""
    parts = [p.strip(" ,") for p in _SPLIT.split(query) if p.strip(" ,")]
    if len(parts) < 2 or any(len(content_words(p)) < 2 for p in parts):
        return (query,)
    return tuple(parts)


def _context(earlier: Sequence[str]) -> str | None:
    """The standalone form of the latest earlier message with content, or ``None``."""
    context: str | None = None
    for message in earlier:
        message = " ".join(message.split())
        if not content_words(message):
            continue  # "thanks", "ok": nothing to carry
        # An earlier follow-up is resolved against what came before it, oldest first.
        context = _against(message, context).query if context is not None and is_follow_up(message) else message
    if context is not None and len(context) > _MAX_CONTEXT_CHARS:
        context = context[-_MAX_CONTEXT_CHARS:]
    return context


def _against(query: str, context: str) -> QueryRewrite:
    """``query`` (a follow-up) rewritten against ``context`` (a standalone message)."""
    rest = _CONTINUATION.sub("", query, count=1).strip()
    tokens = _WORD.findall(rest)
    if tokens and tokens[0].lower() in _PREPOSITIONS and len(tokens) > 1 and query != rest:
        substituted = _substitute(context, tokens[0].lower(), rest[len(tokens[0]) :].strip(" ?.!"))
        if substituted is not None:
            return QueryRewrite(query, substituted, "slot")
    joiner = " " if context.rstrip()[-1:] in ".?!" else ". "
    return QueryRewrite(query, f"{context.rstrip()}{joiner}{rest or query}", "carried")


def _substitute(context: str, preposition: str, phrase: str) -> str | None:
    """``context`` with the phrase after its last ``preposition`` replaced by ``phrase``."""
    tokens = _WORD.findall(context)
    positions = [i for i, t in enumerate(tokens) if t.lower() == preposition]
    if not positions or not phrase:
        return None
    start = positions[-1] + 1
    end = start
    while end < len(tokens) and tokens[end].lower() not in _PHRASE_END and tokens[end].lower() not in _PREPOSITIONS:
        end += 1
    if end == start:
        return None
    before = _join(tokens[:start])
    after = _join(tokens[end:])
    return f"{before} {phrase}{(' ' if after and after[0].isalnum() else '') + after if after else ''}"


def _join(tokens: Sequence[str]) -> str:
    """Tokens back into text: punctuation sticks to the word before it."""
    text = ""
    for token in tokens:
        if text and (token[0].isalnum() or token[0] in "_'’"):
            text += " "
        text += token
    return text
