"""Opt-in caching of identical model requests (``TILLER_MODEL_CACHE=true``).

A LangChain :class:`~langchain_core.caches.BaseCache` set as each model's ``cache``: LangChain
hands it the serialised prompt and the model's parameters including the bound tools; the key is
what the provider would be sent (every message's content, tool calls and tool results; not ids,
usage or response metadata), so only an identical request is answered from it. On top of that the key holds
the run's tenant, so one tenant's conversation never answers another's, and entries expire
after a TTL. Outside :func:`cache_scope` (set by the runtime around a run) nothing is read or
written — a model used directly stays uncached.

Off by default: a cached reply repeats the model's earlier decision, which is what a user who
opts in wants (same question, same answer, no cost) but never what an evaluation of the model
wants — the eval harness refuses it for pass^k trials. A hit is marked
``response_metadata["tiller_cache"] = "hit"`` and its usage is zeroed (nothing was billed).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from cachetools import TTLCache
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, Generation

HIT_KEY = "tiller_cache"
_scope: ContextVar[str | None] = ContextVar("tiller_model_cache_scope", default=None)


@contextmanager
def cache_scope(tenant_id: str) -> Iterator[None]:
    """Model requests made inside share cache entries with other requests of ``tenant_id`` only."""
    token = _scope.set(tenant_id)
    try:
        yield
    finally:
        _scope.reset(token)


class ModelRequestCache(BaseCache):
    """Identical requests per tenant, in process, with a TTL; counts hits and misses."""

    def __init__(self, ttl_s: float = 3600.0, maxsize: int = 2048, timer: Callable[[], float] = time.monotonic) -> None:
        self._entries: TTLCache[tuple[str, str, str], list[Generation]] = TTLCache(
            maxsize=maxsize, ttl=ttl_s, timer=timer
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The stored reply to the same request in the current tenant's scope, marked as a cache hit
        (``None`` outside a scope)."""
        scope = _scope.get()
        if scope is None:
            return None
        with self._lock:
            stored = self._entries.get((scope, request_key(prompt), llm_string))
            if stored is None:
                self.misses += 1
                return None
            self.hits += 1
        return [_as_hit(g) for g in stored]

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Keep the reply to a request, in the current tenant's scope (nothing outside a scope)."""
        scope = _scope.get()
        if scope is None:
            return
        with self._lock:
            self._entries[(scope, request_key(prompt), llm_string)] = [g.model_copy(deep=True) for g in return_val]

    def clear(self, **kwargs: Any) -> None:
        """Forget every stored reply."""
        with self._lock:
            self._entries.clear()


_NOT_SENT = frozenset({"id", "response_metadata", "usage_metadata", "additional_kwargs"})


def request_key(prompt: str) -> str:
    """What the provider is sent, from LangChain's serialised messages: bookkeeping a model never
    sees (usage, response metadata — a cache hit marks its reply there) must not split entries."""
    try:
        messages = json.loads(prompt)
    except ValueError:
        return prompt
    if not isinstance(messages, list):
        return prompt
    sent = [
        {k: v for k, v in m.get("kwargs", {}).items() if k not in _NOT_SENT} | {"type": m.get("id")}
        if isinstance(m, dict)
        else m
        for m in messages
    ]
    return hashlib.sha256(json.dumps(sent, sort_keys=True, default=str).encode()).hexdigest()


def is_cache_hit(reply: Any) -> bool:
    """Whether a model reply came from the request cache."""
    return isinstance(reply, AIMessage) and reply.response_metadata.get(HIT_KEY) == "hit"


def _as_hit(generation: Generation) -> Generation:
    if not isinstance(generation, ChatGeneration) or not isinstance(generation.message, AIMessage):
        return generation.model_copy(deep=True)
    message = generation.message
    served: Mapping[str, object] = message.usage_metadata or {}
    hit = message.model_copy(
        deep=True,
        update={
            "response_metadata": {
                **message.response_metadata,
                HIT_KEY: "hit",
                "cached_usage": {k: served.get(k, 0) for k in ("input_tokens", "output_tokens")},
            },
            "usage_metadata": UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0),
        },
    )
    return ChatGeneration(message=hit, generation_info=generation.generation_info)
