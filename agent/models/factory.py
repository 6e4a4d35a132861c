"""One factory from a spec string to a chat model chain, with retries and fallbacks.

Specs: ``offline`` | ``openai:<model>`` | ``replay:<cassette>``; ``a,b`` tries ``a`` then ``b``.
This is the only module that imports an LLM provider SDK (lazily, for ``openai:`` specs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from agent.errors import ConfigError

ModelRunnable = Runnable[Sequence[BaseMessage], Any]


@dataclass(frozen=True)
class ModelChain:
    """Chat models tried in order; ``bind`` gives the runnable the graph calls."""

    spec: str
    models: tuple[BaseChatModel, ...]
    retries: int = 2
    retry_initial_s: float = 1.0

    def bind(self, tools: list[dict[str, Any]] | None) -> ModelRunnable:
        """Each model with ``tools`` bound (``None``: tools off), retried, then the next model."""
        runnables: list[ModelRunnable] = []
        for model in self.models:
            bound: ModelRunnable = model.bind_tools(_tools_for(model, tools)) if tools else model
            if self.retries:
                bound = bound.with_retry(
                    retry_if_exception_type=transient_errors(),
                    stop_after_attempt=self.retries + 1,
                    # Passed to tenacity's wait_exponential_jitter ("initial" is deprecated there).
                    exponential_jitter_params={  # type: ignore[typeddict-unknown-key]
                        "multiplier": self.retry_initial_s,
                        "jitter": self.retry_initial_s,
                        "max": 20 * self.retry_initial_s,
                    },
                )
            runnables.append(bound)
        first, *rest = runnables
        return first.with_fallbacks(rest) if rest else first


def _tools_for(model: BaseChatModel, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider APIs reject unknown keys: strip Tiller's ``x-tiller`` extension for them."""
    if getattr(model, "accepts_tiller_extensions", False):
        return tools
    return [{k: v for k, v in t.items() if k != "x-tiller"} for t in tools]


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth retrying: timeouts, connection drops, 429 and 5xx."""
    errors: list[type[BaseException]] = [TimeoutError, ConnectionError]
    try:
        import openai

        errors += [openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError]
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        pass
    return tuple(errors)


def make_model(spec: str, *, retries: int = 2, retry_initial_s: float = 1.0, timeout_s: float = 60.0) -> ModelChain:
    """Build the chain for ``spec``; errors say which part is wrong and what to set."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ConfigError("empty model spec; use offline, openai:<model> or replay:<cassette>")
    models = tuple(_one_model(p, timeout_s) for p in parts)
    return ModelChain(spec=spec, models=models, retries=retries, retry_initial_s=retry_initial_s)


def _one_model(spec: str, timeout_s: float) -> BaseChatModel:
    kind, _, arg = spec.partition(":")
    if kind == "offline" and not arg:
        from agent.models.offline import OfflineChatModel

        return OfflineChatModel()
    if kind == "replay" and arg:
        from agent.models.replay import ReplayChatModel

        return ReplayChatModel(cassette_path=Path(arg))
    if kind == "openai" and arg:
        return _openai(arg, timeout_s)
    raise ConfigError(
        f"unknown model spec {spec!r}; use offline, openai:<model> (e.g. openai:gpt-4o-mini) or replay:<file>"
    )


def _openai(model: str, timeout_s: float) -> BaseChatModel:
    if not os.environ.get("OPENAI_API_KEY"):
        raise ConfigError(
            f"model openai:{model} needs OPENAI_API_KEY (for a local OpenAI-compatible server such as vLLM, "
            "Ollama or llama.cpp set OPENAI_BASE_URL and any non-empty OPENAI_API_KEY)"
        )
    from langchain_openai import ChatOpenAI

    # Retries are ours (with_retry above), so the SDK's own are off to keep the bound explicit.
    return ChatOpenAI(model=model, timeout=timeout_s, max_retries=0, stream_usage=True)


def describe_model_error(exc: BaseException) -> tuple[str, str]:
    """``(kind, message for a person)`` for a model failure, in the provider's own terms."""
    try:
        import openai
    except ImportError:  # pragma: no cover
        openai = None  # type: ignore[assignment]
    if openai is not None:
        if isinstance(exc, openai.AuthenticationError):
            return "model_auth", "the model provider rejected the API key: check OPENAI_API_KEY (and OPENAI_BASE_URL)"
        if isinstance(exc, openai.NotFoundError):
            return "model_not_found", f"the model provider does not know this model: {exc}"[:500]
        if isinstance(exc, openai.RateLimitError):
            return "model_rate_limited", "the model provider kept answering 429 (rate limited) after retries"
        if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
            return "model_unavailable", f"cannot reach the model provider: {exc}"[:500]
        if isinstance(exc, openai.BadRequestError):
            return "model_bad_request", f"the model provider refused the request: {exc}"[:500]
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return "model_unavailable", f"{type(exc).__name__}: {exc}"[:500]
    return "model_error", f"{type(exc).__name__}: {exc}"[:500]
