"""Words as the offline model compares them: lower-cased, negations folded, English-stemmed."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STEMMER = Stemmer.Stemmer("english")

# Negations are folded into one token so "never arrived" and "didn't receive" line up with an
# enum value such as ``not_received``; bm25s' English stopword list would drop "not" entirely.
_NEGATIONS = frozenset({"not", "no", "never", "didn't", "didnt", "haven't", "hasn't", "hadn't", "isn't", "wasn't"})
_NEGATIONS |= frozenset({"don't", "doesn't", "won't", "can't", "cannot", "aren't", "weren't"})
# Conversational filler carries no intent; bm25s' list covers only articles and the like.
_PRONOUNS = {"i", "me", "my", "mine", "myself", "you", "your", "yours", "we", "our", "us", "its", "i'm", "i'd", "i've"}
_AUXILIARIES = {"can", "could", "would", "should", "shall", "may", "might", "must", "do", "does", "did", "am", "been"}
_AUXILIARIES |= {"have", "has", "had", "being", "want", "wanted", "wants", "like", "need", "needs"}
_COURTESY = {"please", "hi", "hello", "hey", "thanks", "thank", "just", "so", "also", "too", "very", "ok", "okay"}
_FILLER = _PRONOUNS | _AUXILIARIES | _COURTESY | {"from", "some", "any", "all", "those", "one"}
STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(_FILLER)


@lru_cache(maxsize=4096)
def stem(word: str) -> str:
    """The English stem of one lower-case word."""
    return str(_STEMMER.stemWord(word))


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` with negations folded to ``not`` (stopwords kept)."""
    found = _WORD.findall(text.lower().replace("\u2019", "'"))
    return ["not" if w in _NEGATIONS else w.removesuffix("'s") for w in found]


def stems(text: str) -> list[str]:
    """Stemmed words of ``text``, stopwords kept: for phrase matching."""
    return [stem(w) for w in words(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` (no stopwords, no negation): BM25 index and query tokens."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def name_words(identifier: str) -> str:
    """``close_ticket`` → ``close ticket``."""
    return " ".join(part for part in re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", identifier) if part).lower()


_MARK = re.compile(r"^\s{0,3}(#{1,6}|[-*+]|\d+\.)\s+")


def _paragraphs(text: str) -> list[str]:
    """Headings and list items alone; other consecutive lines joined (they are hard-wrapped)."""
    items: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            items.append([])
        elif _MARK.match(line) or not items or not items[-1] or items[-1][0].lstrip().startswith("#"):
            items.append([line])
        else:
            items[-1].append(line)
    return [" ".join(lines) for lines in items if lines]


def sentences(text: str) -> list[str]:
    """Sentences of plain or Markdown text, with Markdown marks removed."""
    found: list[str] = []
    for item in _paragraphs(text):
        plain = _MARK.sub("", item.strip())
        plain = re.sub(r"[*_`]{1,3}([^*_`]+)[*_`]{1,3}", r"\1", plain)
        plain = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", plain)
        found += [" ".join(p.split()) for p in re.split(r"(?<=[.!?])\s+", plain) if p.strip()]
    return found
