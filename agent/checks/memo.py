"""One memo for the scans the guards and the answer check run over strings.

The same strings are scanned again and again — a tool result by the output guard, then by the
answer check and the trace, and a thread's whole history on every turn — so a scan's result is
kept per string. Only strings up to :data:`MAX_CHARS` are kept, which bounds the memo's size;
longer ones are scanned each time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

MAX_CHARS = 4_000
MAX_ENTRIES = 8_192

_A = TypeVar("_A")
_R = TypeVar("_R")


def per_text(scan: Callable[[str, _A], _R]) -> Callable[[str, _A], _R]:
    """``scan(text, options)``, remembered for short texts (``options`` must be hashable; the
    result is shared between callers, so it must be immutable)."""
    cached = functools.lru_cache(maxsize=MAX_ENTRIES)(scan)

    @functools.wraps(scan)
    def call(text: str, options: _A) -> _R:
        return cached(text, options) if len(text) <= MAX_CHARS else scan(text, options)

    return call
