"""Prompt-injection detection: heuristic signals over several views of a text, plus an
optional classifier.

The heuristic score combines the strongest hit of each signal (``1 - Π(1 - weight)``), so one
strong signal ("ignore previous instructions") is enough and weak ones (urgency, a claim of
authority) only count together. Every view of the text is scanned (:mod:`agent.checks.injection.normalize`):
folded look-alike letters, spaced-out and leetspeak words, and decoded base64, hex, URL
encoding, rot13 and reversed text; decoded views count only their strong signals, because
decoding ordinary text yields noise.

A classifier is any callable ``text -> probability of injection`` (a fine-tuned model, a
hosted moderation endpoint…) that a tenant plugs in through its guard policy; the final score
is the larger of the two. Detection is a signal, not the protection: see docs/SECURITY.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.checks.injection.needles import NeedleIndex, fold, needles
from agent.checks.injection.normalize import views
from agent.checks.injection.patterns import SIGNALS

InjectionClassifier = Callable[[str], float]
"""A plug-in detector: returns the probability (0–1) that ``text`` is a prompt injection."""

DEFAULT_THRESHOLD = 0.5
_STRONG = 0.7  # decoded views count only signals at least this strong
_MAX_CHARS = 20_000  # longer texts are scanned in their first and last parts


@dataclass(frozen=True)
class Hit:
    """One signal found: its name, weight, the view it was found in, and the matched text."""

    signal: str
    weight: float
    view: str
    excerpt: str


@dataclass(frozen=True)
class InjectionReport:
    """The detector's verdict on one text."""

    score: float
    hits: tuple[Hit, ...] = field(default=())
    classifier_score: float | None = None

    def detected(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        """Whether the score reaches ``threshold``."""
        return self.score >= threshold

    @property
    def signals(self) -> list[str]:
        """The names of the signals found, each once, sorted."""
        return sorted({h.signal for h in self.hits})


def _clip(text: str) -> str:
    if len(text) <= _MAX_CHARS:
        return text
    half = _MAX_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def heuristic_hits(text: str) -> list[Hit]:
    """Every signal found in any view of ``text`` (the strongest match per signal and view)."""
    return list(_hits(text))


_NEEDLES = tuple(needles(signal.pattern) for signal in SIGNALS)
"""Per signal, literals one of which any match contains (``agent.checks.injection.needles``)."""
_INDEX = NeedleIndex(_NEEDLES)


@functools.lru_cache(maxsize=4096)
def _hits(text: str) -> tuple[Hit, ...]:
    """Cached: the same knowledge-base passages and tool fields are screened run after run, and
    57 patterns over up to four views of each was ~15 % of a loaded server's CPU. A pattern none
    of whose needles is in the view is not run: it cannot match."""
    hits: list[Hit] = []
    for view in views(_clip(text)):
        for i in _INDEX.candidates(fold(view.text)):
            signal = SIGNALS[i]
            if view.decoded and signal.weight < _STRONG:
                continue
            match = signal.pattern.search(view.text)
            if match:
                hits.append(Hit(signal.name, signal.weight, view.how, match.group()[:80]))
        if view.decoded and any(h.view == view.how for h in hits):
            hits.append(Hit("encoded", 0.5, view.how, view.text[:80]))
    return tuple(hits)


def combine(hits: list[Hit]) -> float:
    """``1 - Π(1 - w)`` over the strongest hit of each signal name."""
    strongest: dict[str, float] = {}
    for hit in hits:
        strongest[hit.signal] = max(strongest.get(hit.signal, 0.0), hit.weight)
    return round(1.0 - math.prod(1.0 - w for w in strongest.values()), 4)


def detect_injection(text: str, classifier: InjectionClassifier | None = None) -> InjectionReport:
    """Score ``text``; with a classifier the score is the larger of the two."""
    hits = heuristic_hits(text)
    score = combine(hits)
    classified = None
    if classifier is not None:
        classified = min(max(float(classifier(text)), 0.0), 1.0)
        score = max(score, classified)
    return InjectionReport(score=score, hits=tuple(hits), classifier_score=classified)
