"""A chain of chat models tried in order, each behind its provider's circuit breaker, inside
bounded retries with jittered exponential backoff for transient errors (``ModelChain``,
``GuardedModel``), and what a reply must be before it enters a checkpoint."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig
from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agent.breakers import BreakerBoard, ConcurrentBreaker

ModelRunnable = Runnable[Sequence[BaseMessage], Any]


@dataclass(frozen=True)
class ModelChain:
    """Chat models tried in order; ``bind`` gives the runnable the graph calls."""

    spec: str
    models: tuple[BaseChatModel, ...]
    retries: int = 2
    retry_initial_s: float = 1.0
    breakers: BreakerBoard = field(default_factory=BreakerBoard, compare=False, repr=False)
    """One breaker per provider, shared by both bindings (tools on and off) of this chain."""
    breaker_fail_max: int | None = None
    """Failed attempts in a row that open a provider's breaker; default: two model calls that
    failed every retry (``2 * (retries + 1)``)."""

    def bind(self, tools: list[dict[str, Any]] | None) -> ModelRunnable:
        """Each model with ``tools`` bound (``None``: tools off), behind its provider's breaker,
        retried, then the next model."""
        runnables: list[ModelRunnable] = []
        for model in self.models:
            bound: ModelRunnable = model.bind_tools(_tools_for(model, tools)) if tools else model
            fail_max = self.breaker_fail_max or 2 * (self.retries + 1)
            breaker = self.breakers.get(provider_of(model), counts=is_transient, fail_max=fail_max)
            runnables.append(GuardedModel(bound, breaker, self.retries, self.retry_initial_s))
        first, *rest = runnables
        return first.with_fallbacks(rest) if rest else first


class GuardedModel(Runnable[Sequence[BaseMessage], Any]):
    """One model of a chain: behind its provider's breaker (an open breaker raises
    :data:`CircuitOpen` without a call), retried ``retries`` times on transient errors with
    jittered exponential backoff (tenacity), its reply made :func:`checkpoint_safe`.

    One plain ``invoke`` rather than LangChain's ``with_retry`` around a ``RunnableSequence`` of
    two ``RunnableLambda``: each of those layers opened a callback run and re-inspected its
    function's signature on every call, ~0.4 ms per model call (docs/BENCHMARKS.md)."""

    def __init__(self, bound: ModelRunnable, breaker: ConcurrentBreaker, retries: int, initial_s: float) -> None:
        self.bound, self.breaker, self.retries, self.initial_s = bound, breaker, retries, initial_s
        self.name = f"breaker[{breaker.name}]"
        self._model, self._kwargs = _unbound(bound)

    def _call(self, input: Sequence[BaseMessage], config: RunnableConfig | None, **kwargs: Any) -> Any:
        return self._model.invoke(input, config, **{**self._kwargs, **kwargs})

    def _acall(self, input: Sequence[BaseMessage], config: RunnableConfig | None, **kwargs: Any) -> Any:
        return self._model.ainvoke(input, config, **{**self._kwargs, **kwargs})

    def invoke(self, input: Sequence[BaseMessage], config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """One model call, retried on transient errors, its reply checked; an open breaker refuses it at once."""
        if not self.retries:
            return checkpoint_safe(strict_tool_calls(self.breaker.call(self._call, input, config, **kwargs)))
        retrying = Retrying(
            retry=retry_if_exception_type(transient_errors()),
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential_jitter(multiplier=self.initial_s, jitter=self.initial_s, max=20 * self.initial_s),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                reply = self.breaker.call(self._call, input, config, **kwargs)
        return checkpoint_safe(strict_tool_calls(reply))

    async def ainvoke(self, input: Sequence[BaseMessage], config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """``invoke`` awaited: the provider's own async call (``openai:``), retried with the same
        back-off without blocking the event loop."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(transient_errors()),
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential_jitter(multiplier=self.initial_s, jitter=self.initial_s, max=20 * self.initial_s),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                reply = await self.breaker.acall(self._acall, input, config, **kwargs)
        return checkpoint_safe(strict_tool_calls(reply))


def _unbound(bound: ModelRunnable) -> tuple[Runnable[Any, Any], dict[str, Any]]:
    """The model under ``bind_tools``' binding and the keywords it binds, when the binding adds
    nothing else: called with them directly, a model call skips the binding's merge of two
    configs (``merge_configs`` → ``ensure_config``), ~2 % of a loaded server's CPU (BENCHMARKS §9)."""
    if isinstance(bound, RunnableBinding) and not bound.config and not bound.config_factories:
        return bound.bound, dict(bound.kwargs)
    return bound, {}


class MalformedReply(ValueError):
    """A provider's reply that no message can be built from (tool-call arguments that are JSON but
    not an object): reported as ``model_malformed_reply``, never retried blindly."""


RAW_CALLS_KEY = "tiller_raw_tool_calls"  # agent.models.openai_stream puts a stream's raw calls there


def _raw_calls(reply: AIMessage) -> list[dict[str, Any]] | None:
    """Each tool call's name, id and raw argument text, if the adapter kept them."""
    tapped = reply.additional_kwargs.get(RAW_CALLS_KEY)
    if isinstance(tapped, list):
        return tapped
    kept = reply.additional_kwargs.get("tool_calls")  # OpenAI's own shape, where an adapter keeps it
    if isinstance(kept, list):
        return [{"name": (c.get("function") or {}).get("name"), "id": c.get("id"),
                 "args": (c.get("function") or {}).get("arguments") or ""} for c in kept]  # fmt: skip
    return None


def strict_tool_calls(reply: Any) -> Any:
    """A reply's tool calls parsed from the provider's raw arguments as an unstreamed reply's are.

    Aggregating a stream parses arguments leniently (LangChain completes a truncated
    ``{"order_id": "W1"`` into an object), so a streamed reply could run a call that the same
    reply unstreamed rejects. Re-reading the raw text strictly makes both the same: bad JSON is an
    invalid call the model is told about; JSON that is not an object fails the reply.
    """
    raw_calls = _raw_calls(reply) if isinstance(reply, AIMessage) else None
    if raw_calls is None:
        return reply
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls:
        name, arguments, call_id = raw.get("name"), raw.get("args") or "", raw.get("id")
        try:
            args = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError as exc:
            invalid.append(invalid_tool_call(name=name, args=arguments, id=call_id, error=f"not valid JSON: {exc}"))
            continue
        if not isinstance(args, dict):
            raise MalformedReply(f"tool call {name!r}: arguments are {type(args).__name__}, not a JSON object")
        calls.append(tool_call(name=name or "", args=args, id=call_id))
    kwargs = {k: v for k, v in reply.additional_kwargs.items() if k != RAW_CALLS_KEY}
    return reply.model_copy(update={"tool_calls": calls, "invalid_tool_calls": invalid, "additional_kwargs": kwargs})


_INT_RANGE = (-(2**63), 2**64 - 1)  # what checkpoint serialisers (msgpack) can store


def _json_safe(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def checkpoint_safe(reply: Any) -> Any:
    """A model reply whose tool-call arguments every checkpoint backend can store.

    Arguments are the model's JSON: an integer beyond 64 bits would make the checkpoint write
    fail and crash the run, so it becomes a string (which the tool's schema then rejects
    as an ordinary invalid argument the model can fix).
    """
    if isinstance(reply, AIMessage) and reply.tool_calls:
        calls = [{**call, "args": _json_safe(call["args"])} for call in reply.tool_calls]
        if calls != reply.tool_calls:
            return reply.model_copy(update={"tool_calls": calls})
    return reply


def _tools_for(model: BaseChatModel, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provider APIs reject unknown keys: strip Tiller's ``x-tiller`` extension for them."""
    if getattr(model, "accepts_tiller_extensions", False):
        return tools
    return [{k: v for k, v in t.items() if k != "x-tiller"} for t in tools]


def provider_of(model: BaseChatModel) -> str:
    """The breaker target of a model: its provider and endpoint (``model:openai@host``)."""
    client = getattr(model, "root_client", None)
    base_url = getattr(model, "openai_api_base", None) or getattr(client, "base_url", None)
    if base_url is not None:
        return f"model:openai@{str(base_url).rstrip('/')}"
    return f"model:{getattr(model, '_llm_type', type(model).__name__)}"


def is_transient(exc: BaseException) -> bool:
    """Does ``exc`` say the provider is unhealthy (rather than the request being wrong)?"""
    return isinstance(exc, transient_errors())


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth retrying: timeouts, connection drops, 429 and 5xx."""
    errors: list[type[BaseException]] = [TimeoutError, ConnectionError]
    try:
        import openai  # noqa: PLC0415  # the SDK takes ~1 s to import; a run on the offline model never needs it

        errors += [openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError]
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        pass
    return tuple(errors)
