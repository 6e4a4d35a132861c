"""The model router: a cheap tier answers what it is sure of, a strong tier everything else.

``router:CHEAP,STRONG`` (e.g. ``router:offline,openai:gpt-4o-mini``; ``STRONG`` may itself be a
fallback chain ``a,b``). Each model step of a run goes through :func:`route`:

1. Sticky: once a step of the current user turn was escalated, the rest of the turn stays on
   the strong tier — one model finishes what it started.
2. The cheap tier is asked. Its reply is kept when it is *confident* and *read-only*: a final
   answer, a lookup or a knowledge-base search. The offline model says whether it is confident
   (``response_metadata["tiller_offline"]["confident"]`` is false for refusals, fallback
   guesses and "which order?" questions it could not narrow down); other cheap models count as
   confident unless their reply is empty or has malformed tool calls.
3. Everything else is escalated: replies that call — or, for the offline model, head for after a
   lookup — a tool with side effects (actions go to the stronger model), unsure replies,
   malformed ones, and cheap-tier errors.
4. When the strong tier fails (after its own retries, breaker and fallbacks), the cheap reply is
   kept as a degraded answer if there is one; otherwise the error ends the step as usual.

Each reply carries ``response_metadata["tiller_route"] = {"tier", "reason", "discarded"?}``;
``discarded`` is the usage of a cheap reply that was thrown away, so its cost still counts.
Each tier keeps its own retries and circuit breakers (they are :class:`ModelChain` values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.runnables import RunnableConfig, RunnableLambda

from agent.models.base import tool_name
from agent.models.chain import ModelChain, ModelRunnable

ROUTE_KEY = "tiller_route"
OFFLINE_KEY = "tiller_offline"  # agent.models.offline.conversation.METADATA_KEY, without importing it
Tier = Literal["cheap", "strong"]


@dataclass(frozen=True)
class RouterChain:
    """Two tiers of models; ``bind`` gives the routing runnable the graph calls."""

    spec: str
    cheap: ModelChain
    strong: ModelChain

    def bind(self, tools: list[dict[str, Any]] | None) -> ModelRunnable:
        """The routing runnable, ``tools`` bound to both tiers: the cheap tier's confident read-only
        replies, the strong tier for the rest."""
        cheap, strong = self.cheap.bind(tools), self.strong.bind(tools)
        read_only = {tool_name(t) for t in tools or () if _risk(t) == "read"}

        async def routed(messages: Sequence[BaseMessage], config: RunnableConfig) -> AIMessage:
            return await route(messages, cheap, strong, read_only, config)

        return RunnableLambda(routed, name="router")


async def route(
    messages: Sequence[BaseMessage],
    cheap: ModelRunnable,
    strong: ModelRunnable,
    read_only: set[str],
    config: RunnableConfig | None = None,
) -> AIMessage:
    """One model step: the cheap tier's reply if it may stand, else the strong tier's."""
    if _escalated_this_turn(messages):
        return _mark(await strong.ainvoke(messages, config), "strong", "escalated earlier in this turn")
    try:
        first = await cheap.ainvoke(messages, config)
    except Exception as exc:  # any cheap-tier failure is a reason to ask the strong tier
        reason = f"cheap tier failed: {type(exc).__name__}"
        return _mark(await strong.ainvoke(messages, config), "strong", reason)
    keep, reason = assess(first, read_only)
    if keep:
        return _mark(first, "cheap", reason)
    try:
        second = await strong.ainvoke(messages, config)
    except Exception:
        return _mark(first, "cheap", f"strong tier failed; kept the cheap reply ({reason})")
    return _mark(second, "strong", reason, discarded=first)


def assess(reply: AIMessage, read_only: set[str]) -> tuple[bool, str]:
    """``(keep, why)``: may the cheap tier's reply stand?"""
    if reply.invalid_tool_calls:
        return False, "cheap reply had malformed tool calls"
    offline = reply.response_metadata.get(OFFLINE_KEY)
    kind = offline.get("kind", "reply") if isinstance(offline, Mapping) else "reply"
    if isinstance(offline, Mapping) and not offline.get("confident", True):
        return False, f"cheap tier not confident ({kind})"
    # The offline model names the tool it is heading for even while it looks something up first.
    intended = [str(offline["tool"])] if isinstance(offline, Mapping) and offline.get("tool") else []
    actions = [n for n in dict.fromkeys([*intended, *(c["name"] for c in reply.tool_calls)]) if n not in read_only]
    if actions:
        return False, f"action {', '.join(actions)} goes to the strong tier"
    if not reply.tool_calls and not reply.text.strip():
        return False, "cheap reply was empty"
    what = "lookup " + ", ".join(c["name"] for c in reply.tool_calls) if reply.tool_calls else "answer"
    return True, f"confident {what}"


def route_of(message: BaseMessage) -> dict[str, Any] | None:
    """The routing record of a model reply, if a router produced it."""
    route_meta = message.response_metadata.get(ROUTE_KEY) if isinstance(message, AIMessage) else None
    return route_meta if isinstance(route_meta, dict) else None


def _escalated_this_turn(messages: Sequence[BaseMessage]) -> bool:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return False
        if (route_meta := route_of(message)) and route_meta.get("tier") == "strong":
            return True
    return False


def _mark(reply: AIMessage, tier: Tier, reason: str, discarded: AIMessage | None = None) -> AIMessage:
    record: dict[str, Any] = {"tier": tier, "reason": reason}
    if discarded is not None:
        usage = discarded.usage_metadata or UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)
        record["discarded"] = {
            "model": str(discarded.response_metadata.get("model_name") or "cheap"),
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
        }
    return reply.model_copy(update={"response_metadata": {**reply.response_metadata, ROUTE_KEY: record}})


def _risk(tool: Mapping[str, Any]) -> str:
    """A bound tool's risk from Tiller's ``x-tiller`` extension; unknown counts as an action."""
    extension = tool.get("x-tiller")
    return str(extension.get("risk", "")) if isinstance(extension, Mapping) else ""
