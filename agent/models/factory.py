"""One factory from a spec string to a chat model chain, with retries, breakers and fallbacks.

Specs: ``offline`` | ``openai:<model>`` | ``replay:<cassette>`` | ``llamacpp:<file.gguf>`` (a local
model run in-process, needs the ``llamacpp`` extra); ``a,b`` tries ``a`` then ``b``.
Each model runs behind its provider's circuit breaker, inside bounded retries with jittered
exponential backoff for transient errors; when a model still fails (or its breaker is open) the
next model of the chain answers. This is the only module that imports an LLM provider SDK
(lazily, for ``openai:`` specs, through ``agent.models.openai_stream``; llama.cpp is imported by
``agent.models.llamacpp`` on first use).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from pydantic import ValidationError

from agent.breakers import CircuitOpen
from agent.errors import ConfigError
from agent.models.chain import MalformedReply, ModelChain
from agent.models.offline import OfflineChatModel
from agent.models.replay import ReplayChatModel
from agent.models.request_cache import ModelRequestCache
from agent.models.router import RouterChain

if TYPE_CHECKING:
    from agent.config import Settings


def make_model(
    spec: str,
    *,
    retries: int = 2,
    retry_initial_s: float = 1.0,
    timeout_s: float = 60.0,
    cache: BaseCache | None = None,
    streaming: bool = True,
) -> ModelChain | RouterChain:
    """Build the chain for ``spec``; errors say which part is wrong and what to set.

    ``router:CHEAP,STRONG`` builds a :class:`~agent.models.router.RouterChain` of two chains;
    ``cache`` (opt-in, see ``agent.models.request_cache``) is consulted by every model built.
    ``streaming``: a call with a token listener attached (``agent.models.tokens.TokenRelay``, or
    any LangChain streaming handler) streams (``openai:`` asks for a streamed response; the
    offline and replay models stream in chunks); ``invoke`` still returns the whole message, and
    its tokens reach the callbacks' ``on_llm_new_token`` as they arrive (the CLI, the SSE stream
    and the chat page show them live). A call without a listener is answered whole.
    ``TILLER_STREAM_TOKENS=false`` (``streaming=False``) never streams.
    """
    if spec.startswith("router:"):
        options = {"retries": retries, "retry_initial_s": retry_initial_s, "timeout_s": timeout_s}
        return _router(spec, cache=cache, streaming=streaming, **options)
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ConfigError("empty model spec; use offline, openai:<model> or replay:<cassette>")
    models = tuple(_one_model(p, timeout_s, streaming) for p in parts)
    if cache is not None:
        for model in models:
            model.cache = cache
    return ModelChain(spec=spec, models=models, retries=retries, retry_initial_s=retry_initial_s)


def _router(spec: str, **options: Any) -> RouterChain:
    cheap, _, strong = spec.removeprefix("router:").partition(",")
    if not cheap.strip() or not strong.strip() or "router:" in strong:
        raise ConfigError(
            f"router spec {spec!r} needs two tiers: router:CHEAP,STRONG (e.g. router:offline,openai:gpt-4o-mini)"
        )
    cheap_tier, strong_tier = (make_model(part.strip(), **options) for part in (cheap, strong))
    assert isinstance(cheap_tier, ModelChain) and isinstance(strong_tier, ModelChain)
    return RouterChain(spec=spec, cheap=cheap_tier, strong=strong_tier)


def _stream_option(streaming: bool) -> dict[str, bool]:
    """``streaming`` left unset streams exactly when a token listener is attached to the call
    (``agent.models.tokens``); ``False`` never streams (``TILLER_STREAM_TOKENS=false``)."""
    return {} if streaming else {"streaming": False}


def _one_model(spec: str, timeout_s: float, streaming: bool = True) -> BaseChatModel:
    kind, _, arg = spec.partition(":")
    if kind == "offline" and not arg:
        return OfflineChatModel(**_stream_option(streaming))
    if kind == "replay" and arg:
        return ReplayChatModel(cassette_path=Path(arg), **_stream_option(streaming))
    if kind == "openai" and arg:
        return _openai(arg, timeout_s, streaming)
    if kind == "llamacpp" and arg:
        return _llamacpp(arg)
    raise ConfigError(
        f"unknown model spec {spec!r}; use offline, openai:<model> (e.g. openai:gpt-4o-mini), replay:<file> "
        "or llamacpp:<file.gguf>"
    )


def _llamacpp(path: str) -> BaseChatModel:
    gguf = Path(path).expanduser()
    if not gguf.is_file():
        raise ConfigError(
            f"no GGUF file at {gguf}; download one, e.g. Qwen2.5-7B-Instruct Q4_K_M "
            "(qwen2.5-7b-instruct-q4_k_m.gguf), and set TILLER_MODEL=llamacpp:/path/to/model.gguf"
        )
    with gguf.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ConfigError(f"{gguf} is not a GGUF file (llama.cpp models are .gguf files)")
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(
            f"model llamacpp:{path} needs llama-cpp-python: pip install -e '.[llamacpp]' "
            "(compiles llama.cpp, ~5 min once per machine)"
        )
    from agent.models.llamacpp import LlamaCppChatModel  # noqa: PLC0415  # the llamacpp extra's adapter, for its spec only

    return LlamaCppChatModel.from_env(str(gguf))


def _openai(model: str, timeout_s: float, streaming: bool = True) -> BaseChatModel:
    if not os.environ.get("OPENAI_API_KEY"):
        raise ConfigError(
            f"model openai:{model} needs OPENAI_API_KEY (for a local OpenAI-compatible server such as vLLM, "
            "Ollama or llama.cpp set OPENAI_BASE_URL and any non-empty OPENAI_API_KEY)"
        )
    from agent.models.openai_stream import StreamingChatOpenAI  # noqa: PLC0415  # langchain-openai takes ~1.5 s to import

    # Retries are ours (with_retry above), so the SDK's own are off to keep the bound explicit.
    # A call streams when a token listener is attached (_stream_option): invoke then aggregates
    # the stream, and stream_usage=True asks for the usage chunk, so tokens are counted exactly.
    return StreamingChatOpenAI(
        model=model, timeout=timeout_s, max_retries=0, stream_usage=True, **_stream_option(streaming)
    )


def describe_model_error(exc: BaseException) -> tuple[str, str]:
    """``(kind, message for a person)`` for a model failure, in the provider's own terms."""
    try:
        import openai  # noqa: PLC0415  # the SDK takes ~1 s to import; only a model error ever needs it
    except ImportError:  # pragma: no cover
        openai = None  # type: ignore[assignment]  # the SDK is optional: without it, no openai errors
    if isinstance(exc, CircuitOpen):
        return "model_circuit_open", (
            "the model provider failed repeatedly and is paused by its circuit breaker; try again in a moment"
        )
    if openai is not None:
        if isinstance(exc, openai.AuthenticationError):
            return "model_auth", "the model provider rejected the API key: check OPENAI_API_KEY (and OPENAI_BASE_URL)"
        if isinstance(exc, openai.NotFoundError):
            return "model_not_found", f"the model provider does not know this model: {exc}"[:500]
        if isinstance(exc, openai.RateLimitError):
            return "model_rate_limited", "the model provider kept answering 429 (rate limited) after retries"
        if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
            return "model_unavailable", f"cannot reach the model provider: {exc}"[:500]
        if isinstance(exc, openai.InternalServerError):
            return "model_unavailable", f"the model provider kept failing (HTTP {exc.status_code}) after retries"
        if isinstance(exc, openai.BadRequestError):
            return "model_bad_request", f"the model provider refused the request: {exc}"[:500]
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return "model_unavailable", f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, (ValidationError, MalformedReply)):  # no message can be built from the reply
        return "model_malformed_reply", (
            "the model returned a malformed reply (for example tool-call arguments that are not a JSON object); "
            "nothing was run"
        )
    return "model_error", f"{type(exc).__name__}: {exc}"[:500]


def as_chain(model: ModelChain | RouterChain | BaseChatModel | None, settings: Settings) -> ModelChain | RouterChain:
    """The chain a runtime calls: ``model`` as given (a bare chat model gets the settings'
    retries), or the one ``settings.model`` names."""
    if isinstance(model, ModelChain | RouterChain):
        return model
    if model is not None:
        return ModelChain(
            spec=type(model).__name__,
            models=(model,),
            retries=settings.model_retries,
            retry_initial_s=settings.model_retry_initial_s,
        )
    return make_model(
        settings.model,
        retries=settings.model_retries,
        retry_initial_s=settings.model_retry_initial_s,
        cache=ModelRequestCache(ttl_s=settings.model_cache_ttl_s) if settings.model_cache else None,
        streaming=settings.stream_tokens,
    )
