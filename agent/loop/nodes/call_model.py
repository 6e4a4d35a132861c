"""call_model: one model turn with the tools bound, inside the run's limits.

When a limit is reached the model is called once more with tools off for a best-effort answer;
when the model keeps failing (after retries and fallbacks) the run ends ``failed`` with a
graceful answer — never a stack trace.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.loop.context import LIMIT_PROMPT, AgentDeps, RunContext
from agent.loop.direct import DirectCall, direct_reply
from agent.loop.events import ModelErrorEvent, ModelEvent, PlannedCallView, TokenEvent
from agent.loop.identity import call_id, provider_ids, with_pairing_ids
from agent.loop.limits import before_model
from agent.loop.state import AgentState, RunStatus
from agent.models.base import USAGE_ESTIMATED
from agent.models.chain import ModelRunnable
from agent.models.factory import describe_model_error
from agent.models.request_cache import is_cache_hit
from agent.models.router import route_of
from agent.models.tokens import TokenRelay

TOO_LARGE_ANSWER = (
    "Sorry, I have to stop here: this request needs more of the language model than its token budget "
    "allows, so nothing more was sent to it and this step changed nothing. Please shorten the message "
    "(or start a new conversation) and ask again."
)
FAILED_ANSWER = (
    "Sorry, I could not complete this request because the language model is unavailable right now. "
    "Nothing was changed by this failed step; please try again in a few minutes."
)


def bounded_history(messages: list[AnyMessage], max_tokens: int) -> tuple[list[AnyMessage], int, int]:
    """The newest whole turns that fit ``max_tokens``, and the token counts before and after.

    Cutting only where a user message starts keeps every tool call next to its result; the
    current turn is always kept, even when it alone is over the budget.
    """
    before = count_tokens_approximately(messages)
    if before <= max_tokens:
        return messages, before, before
    kept: list[AnyMessage] = trim_messages(  # type: ignore[assignment]  # returns the messages it was given
        messages, max_tokens=max_tokens, token_counter=count_tokens_approximately, strategy="last", start_on="human"
    )
    if not kept:
        last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        kept = messages[last_human:]
    return kept, before, count_tokens_approximately(kept)


def _served_by(reply: BaseMessage, configured: str) -> str:
    """The model that produced the reply; replayed turns are marked so they are never billed."""
    meta = reply.response_metadata
    name = str(meta.get("model_name") or configured)
    return f"replay:{name}" if "replay_turn" in meta else name


def _failed(exc: Exception, limit: str | None) -> Command[Literal["plan_tools", "finalize"]]:
    """The run ends with a graceful answer when the model keeps failing (after retries, fallbacks)."""
    kind, message = describe_model_error(exc)
    status = RunStatus.LIMIT_REACHED if limit else RunStatus.FAILED
    error = {"kind": kind, "type": type(exc).__name__, "message": message}
    update = {"messages": [AIMessage(content=FAILED_ANSWER)], "status": status.value, "stop_reason": limit}
    return Command(goto="finalize", update=update | {"error": error})


def _without_calls(reply: AIMessage) -> AIMessage:
    """Tools are off (a limit was reached): a tool call is dropped, its usage still counts."""
    return AIMessage(
        content=reply.text or "I had to stop before finishing this request.",
        id=reply.id,
        usage_metadata=reply.usage_metadata,
        response_metadata=reply.response_metadata,
    )


def _cost(deps: AgentDeps, reply: AIMessage, served_by: str, input_tokens: int, output_tokens: int) -> float:
    """What the reply cost, plus a cheap reply the router replaced (it was paid for too)."""
    discarded = (route_of(reply) or {}).get("discarded")
    extra = (
        deps.prices.cost(discarded["model"], discarded["input_tokens"], discarded["output_tokens"])
        if discarded
        else 0.0
    )
    return deps.prices.cost(served_by, input_tokens, output_tokens) + extra


def _usage(reply: AIMessage) -> tuple[int, int, int]:
    """``(input, output, estimated)`` tokens of a reply: a scripted or replayed turn without
    recorded usage has only an estimate, which never counts against the token limit."""
    meta: Mapping[str, Any] = reply.usage_metadata or {}
    input_tokens, output_tokens = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    if reply.response_metadata.get(USAGE_ESTIMATED):
        return 0, 0, input_tokens + output_tokens
    return input_tokens, output_tokens, 0


def _limit(state: AgentState, ctx: RunContext) -> str | None:
    tokens = state.get("input_tokens", 0) + state.get("output_tokens", 0)
    return before_model(
        ctx.limits,
        steps=state.get("steps", 0),
        tokens=tokens,
        cost_usd=state.get("cost_usd", 0.0),
        deadline=ctx.deadline,
        stopped=state.get("stop_reason"),
    )


async def _ask(model: ModelRunnable, prompt: list[BaseMessage], writer: Any, tokens: bool) -> BaseMessage:
    """One call of the model; with ``tokens``, text tokens reach the run's listeners as they
    stream (the relay is what makes a model stream: ``agent.models.tokens``)."""
    if not tokens:
        whole: BaseMessage = await model.ainvoke(prompt)
        return whole
    relay = TokenRelay(lambda text: writer(TokenEvent(text=text)))
    reply: BaseMessage = await model.ainvoke(prompt, {"callbacks": [relay]})
    return reply


def _over_budget(state: AgentState, ctx: RunContext, prompt: list[BaseMessage]) -> bool:
    """Whether sending ``prompt`` would take the run past ``max_tokens``: the tokens counted so far
    plus an estimate of the prompt, checked before the call, so no message is large enough to
    overshoot the limit (a scripted model's estimated usage still never counts as spent)."""
    spent = state.get("input_tokens", 0) + state.get("output_tokens", 0)
    return spent + count_tokens_approximately(prompt) > ctx.limits.max_tokens


def _stopped_before_sending() -> Command[Literal["plan_tools", "finalize"]]:
    update = {"messages": [AIMessage(content=TOO_LARGE_ANSWER)], "status": RunStatus.LIMIT_REACHED.value}
    return Command(goto="finalize", update=update | {"stop_reason": "max_tokens"})


def _call_views(reply: AIMessage, turn: int, step: int) -> list[PlannedCallView]:
    """The reply's calls as events show them, each with its runtime identity."""
    sent = provider_ids(reply)
    return [
        PlannedCallView(tool=c["name"], args=c["args"], id=call_id(turn, step, i), provider_call_id=sent[i])
        for i, c in enumerate(reply.tool_calls)
    ]


def _play_direct(state: AgentState, call: DirectCall, limit: str | None) -> Command[Literal["plan_tools", "finalize"]]:
    """A direct call's turn (``agent.loop.direct``): the plan is the caller's call, then a closing
    line; no model is asked, so nothing is spent or priced."""
    turn, step = state.get("turn", 0), state.get("steps", 0) + 1
    reply = with_pairing_ids(direct_reply(call, state["messages"], limit), turn, step)
    update: dict[str, Any] = {"messages": [reply], "steps": step}
    if limit:
        update |= {"status": RunStatus.LIMIT_REACHED.value, "stop_reason": limit}
    return Command(goto="plan_tools" if reply.tool_calls else "finalize", update=update)


async def call_model(state: AgentState, runtime: Runtime[RunContext]) -> Command[Literal["plan_tools", "finalize"]]:
    """The model's turn: to ``plan_tools`` when it asked for tools, else to ``finalize`` with its answer."""
    deps = runtime.context.deps
    limit = _limit(state, runtime.context)
    if (direct := DirectCall.of_turn(state["messages"])) is not None:
        return _play_direct(state, direct, limit)
    history, context_before, context_after = bounded_history(
        state["messages"], runtime.context.limits.max_context_tokens
    )
    prompt: list[BaseMessage] = [SystemMessage(deps.system_prompt), *history]
    prompt += [SystemMessage(LIMIT_PROMPT.format(limit=limit))] if limit else []
    if _over_budget(state, runtime.context, prompt):
        return _stopped_before_sending()
    model = deps.model_without_tools if limit else deps.model_with_tools
    started = time.perf_counter()
    try:
        raw = await _ask(model, prompt, runtime.stream_writer, runtime.context.tokens())
    except Exception as exc:  # the model boundary: any provider failure becomes a status
        runtime.stream_writer(ModelErrorEvent(error=f"{type(exc).__name__}: {exc}"[:300]))
        return _failed(exc, limit)
    reply = raw if isinstance(raw, AIMessage) else AIMessage(content=raw.text, response_metadata=raw.response_metadata)
    reply = _without_calls(reply) if limit and reply.tool_calls else reply
    turn, step = state.get("turn", 0), state.get("steps", 0) + 1
    reply = with_pairing_ids(reply, turn, step)
    input_tokens, output_tokens, estimated = _usage(reply)
    served_by = _served_by(reply, deps.model_name)
    cost = _cost(deps, reply, served_by, input_tokens, output_tokens)
    update: dict[str, Any] = {
        "messages": [reply],
        "steps": step,
        "input_tokens": state.get("input_tokens", 0) + input_tokens,
        "output_tokens": state.get("output_tokens", 0) + output_tokens,
        "estimated_tokens": state.get("estimated_tokens", 0) + estimated,
        "cost_usd": state.get("cost_usd", 0.0) + cost,
    }
    runtime.stream_writer(
        ModelEvent(
            model=served_by,
            context_tokens={"before": context_before, "after": context_after},
            content=reply.text,
            tool_calls=_call_views(reply, turn, step),
            limit=limit,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            estimated_tokens=estimated,
            cost_usd=round(cost, 10),
            priced=deps.prices.price_of(served_by) is not None,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            route=route_of(reply),
            cache_hit=is_cache_hit(reply),
        )
    )
    if limit:
        update |= {"status": RunStatus.LIMIT_REACHED.value, "stop_reason": limit}
        return Command(goto="finalize", update=update)
    has_calls = bool(reply.tool_calls or reply.invalid_tool_calls)
    return Command(goto="plan_tools" if has_calls else "finalize", update=update)
