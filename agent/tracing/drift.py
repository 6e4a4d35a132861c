"""Drift: the quality signals a team watches for silent degradation, compared across two windows.

The current window is the last ``window``; the baseline is the window before it. Each signal is
a rate (events / opportunities) — limit-reached and failed runs, guard flags, refused tool calls
(invalid arguments, denials), tool errors, approval rejections, knowledge-base searches that
found nothing, and thumbs-down feedback (stored by the service) — plus the mix of tools called and
the best retrieval score of each knowledge-base search. A rate is flagged when the change is both
material (at least ``min_delta`` in absolute rate) and unlikely to be noise (Fisher's exact test,
p < ``alpha``); the tool mix by a chi-square test over the tools; the retrieval score when its
mean moved by at least ``min_delta`` *relative* to the baseline (scores are BM25 or fusion
scores, whose scale depends on the index) and a Mann-Whitney U test gives p < ``alpha``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel
from scipy.stats import chi2_contingency, fisher_exact, mannwhitneyu

from agent.persistence.feedback import ratings_between
from agent.persistence.traces import runs_between, spans_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent.persistence.tables import TraceRunRow, TraceSpanRow


@dataclass
class Window:
    """The traces, spans and feedback of one time window."""

    runs: list[TraceRunRow]
    spans: list[TraceSpanRow]
    ratings: list[str]
    """Feedback given in the window: ``up`` / ``down``."""


class Signal(BaseModel):
    """One quality signal in both windows, with the test's p-value and whether it moved."""

    name: str
    baseline: float | None
    current: float | None
    baseline_n: int
    current_n: int
    p_value: float | None = None
    flagged: bool = False


def _load(sessions: sessionmaker[Session], tenant_id: str | None, start: datetime, end: datetime) -> Window:
    runs = runs_between(sessions, start, end, tenant_id)
    spans = spans_of(sessions, [r.id for r in runs])
    return Window(runs, spans, ratings_between(sessions, start, end, tenant_id))


def _attr(span: TraceSpanRow, key: str) -> object:
    return json.loads(span.attributes_json).get(key)


# name → (events, opportunities) of a window
RATES: dict[str, Callable[[Window], tuple[int, int]]] = {
    "limit_reached_rate": lambda w: (sum(r.status == "limit_reached" for r in w.runs), len(w.runs)),
    "failed_rate": lambda w: (sum(r.status == "failed" for r in w.runs), len(w.runs)),
    "guard_flag_rate": lambda w: (
        sum(s.kind == "guard" and not str(_attr(s, "verdict")).startswith("allow") for s in w.spans),
        sum(s.kind == "guard" for s in w.spans),
    ),
    "refused_call_rate": lambda w: (
        sum(s.kind == "refusal" for s in w.spans),
        sum(s.kind in ("refusal", "tool") for s in w.spans),
    ),
    "tool_error_rate": lambda w: (
        sum(s.kind == "tool" and _attr(s, "status") == "error" for s in w.spans),
        sum(s.kind == "tool" for s in w.spans),
    ),
    "approval_rejection_rate": lambda w: (
        sum(s.kind == "approval" and _attr(s, "decision") == "reject" for s in w.spans),
        sum(s.kind == "approval" and s.name == "decided" for s in w.spans),
    ),
    "retrieval_miss_rate": lambda w: (
        sum(_attr(s, "retrieval_hits") == 0 for s in _searches(w)),
        len(_searches(w)),
    ),
    "negative_feedback_rate": lambda w: (sum(r == "down" for r in w.ratings), len(w.ratings)),
}


def _searches(w: Window) -> list[TraceSpanRow]:
    """Executed tool calls that returned scored passages (knowledge-base searches)."""
    return [s for s in w.spans if s.kind == "tool" and _attr(s, "retrieval_hits") is not None]


def _top_scores(w: Window) -> list[float]:
    return [float(v) for s in _searches(w) if isinstance(v := _attr(s, "retrieval_top_score"), int | float)]


def _retrieval_score(base: Window, cur: Window, alpha: float, min_delta: float) -> Signal:
    b, c = _top_scores(base), _top_scores(cur)
    b_mean, c_mean = (sum(b) / len(b) if b else None), (sum(c) / len(c) if c else None)
    signal = Signal(name="retrieval_top_score", baseline=b_mean, current=c_mean, baseline_n=len(b), current_n=len(c))
    if b and c and b_mean is not None and c_mean is not None:
        signal.p_value = float(mannwhitneyu(b, c).pvalue) if set(b) != set(c) or len(set(b)) > 1 else 1.0
        signal.flagged = signal.p_value < alpha and abs(c_mean - b_mean) >= min_delta * abs(b_mean)
    return signal


def _compare(name: str, base: tuple[int, int], cur: tuple[int, int], alpha: float, min_delta: float) -> Signal:
    (b_k, b_n), (c_k, c_n) = base, cur
    b_rate = b_k / b_n if b_n else None
    c_rate = c_k / c_n if c_n else None
    signal = Signal(name=name, baseline=b_rate, current=c_rate, baseline_n=b_n, current_n=c_n)
    if b_n and c_n:
        signal.p_value = float(fisher_exact([[b_k, b_n - b_k], [c_k, c_n - c_k]])[1])
        signal.flagged = signal.p_value < alpha and abs((c_rate or 0) - (b_rate or 0)) >= min_delta
    return signal


def _tool_mix(base: Window, cur: Window, alpha: float) -> Signal:
    b = Counter(s.name for s in base.spans if s.kind == "tool")
    c = Counter(s.name for s in cur.spans if s.kind == "tool")
    tools = sorted(set(b) | set(c))
    signal = Signal(name="tool_mix", baseline=None, current=None, baseline_n=sum(b.values()), current_n=sum(c.values()))
    if len(tools) > 1 and signal.baseline_n and signal.current_n:
        signal.p_value = float(chi2_contingency([[b[t] for t in tools], [c[t] for t in tools]])[1])
        signal.flagged = signal.p_value < alpha
    return signal


def drift_report(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    window: timedelta,
    tenant_id: str | None = None,
    alpha: float = 0.01,
    min_delta: float = 0.05,
) -> list[Signal]:
    """Every drift signal, the last ``window`` before ``now`` against the window before it."""
    base = _load(sessions, tenant_id, now - 2 * window, now - window)
    cur = _load(sessions, tenant_id, now - window, now)
    signals = [_compare(name, rate(base), rate(cur), alpha, min_delta) for name, rate in RATES.items()]
    return [*signals, _tool_mix(base, cur, alpha), _retrieval_score(base, cur, alpha, min_delta)]
