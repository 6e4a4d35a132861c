"""Recording one run segment as a trace, from the events its nodes emit.

The runtime hands ``observe`` every event of the run as it happens (``RunContext.emit``, typed
``agent.loop.events``): every node announces its start and end (``agent.loop.graph``), which gives
one span per node; the nodes' own events give model calls (priced by ``call_model``), guard
verdicts and approval events; tool spans come from the trajectory at the end.
Every string stored is passed through the secret redactor first.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from agent.checks import redact
from agent.loop.events import (
    ApprovalDecidedEvent,
    BreakerEvent,
    GuardEvent,
    ModelErrorEvent,
    ModelEvent,
    NodeEvent,
    RunEvent,
    ToolCallEvent,
    ToolRefusedEvent,
    ToolResultEvent,
)
from agent.loop.state import RunResult
from agent.models.pricing import PriceTable
from agent.persistence.traces import Span, TraceView
from tools.canonical import canonical_json
from tools.db import utcnow


def _shown(event: RunEvent) -> dict[str, Any]:
    """An event's fields that say something (no empty lists, no unset values)."""
    return {k: v for k, v in event.payload().items() if v not in (None, [], {})}


def _scrub(value: Any) -> Any:
    """Secrets never reach the trace store, whatever a tool or the model produced."""
    if isinstance(value, str):
        return redact(value)[0]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


class TraceRecorder:
    """Collects spans while a run streams; ``finish`` turns them into a ``TraceView``."""

    def __init__(
        self,
        *,
        kind: str,
        tenant_id: str,
        user_id: str,
        thread_id: str,
        model: str,
        prices: PriceTable,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.id = "run_" + uuid.uuid4().hex[:16]
        self.kind, self.tenant_id, self.user_id, self.thread_id = kind, tenant_id, user_id, thread_id
        self.model, self.prices, self.labels = model, prices, labels or {}
        self.started_at = utcnow()
        self._t0 = time.perf_counter()
        self._open: dict[str, Span] = {}
        self._tool_end: dict[str, float] = {}  # tool call id -> when its result arrived
        self.spans: list[Span] = []
        self.cost_usd = 0.0

    def _now_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def _node(self, event: NodeEvent, at: float) -> None:
        """A node started (a span opens) or ended (it closes, with its error or interrupt)."""
        if event.phase == "start":
            span = Span(kind="node", name=event.name, start_ms=at)
            self._open[event.name] = span
            self.spans.append(span)
            return
        opened = self._open.pop(event.name, None)
        if opened is not None:
            opened.duration_ms = at - opened.start_ms
            if event.error:
                opened.attributes["error"] = event.error[:300]
            if event.interrupted:
                opened.attributes["interrupted"] = True

    def _model(self, event: ModelEvent, at: float) -> None:
        """A model call: its span, with the cost ``call_model`` priced (a router's discarded cheap
        reply included)."""
        self.cost_usd += event.cost_usd
        route = event.route or {}
        attrs: dict[str, Any] = {
            "input_tokens": event.input_tokens,
            "output_tokens": event.output_tokens,
            "estimated_tokens": event.estimated_tokens,
            "limit": event.limit,
            "content": event.content,
            "context_tokens": event.context_tokens,
            "model": event.model,
            "cost_usd": round(event.cost_usd, 8),
            "priced": event.priced,
            "tool_calls": [c.tool for c in event.tool_calls],
            "cache_hit": event.cache_hit,
        }
        if route:
            attrs |= {
                "tier": route.get("tier"),
                "route_reason": route.get("reason"),
                "discarded": route.get("discarded"),
            }
        start = at - event.latency_ms
        self.spans.append(
            Span(kind="model", name=event.model, start_ms=start, duration_ms=event.latency_ms, attributes=_scrub(attrs))
        )

    def observe(self, event: RunEvent) -> None:
        """Record one event of the run (called as it happens, on the runtime's loop)."""
        at = self._now_ms()
        match event:
            case NodeEvent():
                self._node(event, at)
            case ModelEvent():
                self._model(event, at)
            case ToolResultEvent():
                self._tool_end[event.id] = at
            case ToolRefusedEvent():  # invalid arguments, unknown tool, policy deny, limit
                attrs = {"id": event.id, "error_kind": event.kind, "message": event.message}
                self.spans.append(Span(kind="refusal", name=event.tool, start_ms=at, attributes=_scrub(attrs)))
            case BreakerEvent():  # a circuit breaker changed state (agent/breakers.py)
                attrs = {"state": event.state, "previous": event.previous}
                self.spans.append(Span(kind="breaker", name=event.target, start_ms=at, attributes=attrs))
            case ModelErrorEvent():
                attrs = {"type": "model_error", "error": event.error}
                self.spans.append(Span(kind="model", name="error", start_ms=at, attributes=_scrub(attrs)))
            case GuardEvent():
                self.spans.append(Span(kind="guard", name=event.stage, start_ms=at, attributes=_scrub(_shown(event))))
            case ApprovalDecidedEvent():
                self.spans.append(Span(kind="approval", name="decided", start_ms=at, attributes=_scrub(_shown(event))))
            case ToolCallEvent(verdict="needs_approval"):
                self.spans.append(
                    Span(kind="approval", name="requested", start_ms=at, attributes=_scrub(_shown(event)))
                )
            case _:
                pass  # tokens, planned calls that run at once, the final answer: the spans above say it

    def finish(self, result: RunResult) -> TraceView:
        """The trace of this segment; tool spans come from the result's trajectory."""
        for call in result.trajectory:
            end = self._tool_end.get(call.id)
            if end is None or call.latency_ms is None:
                continue  # not executed in this segment (refused, pending, or an earlier segment)
            size = len(canonical_json(call.result)) if call.result is not None else 0
            attrs = {
                "id": call.id,
                "provider_call_id": call.provider_call_id,
                "args": call.args,
                "status": call.status.value,
                "result_bytes": size,
                "error_kind": (call.error or {}).get("kind"),
                "cache_hit": call.cache_hit,
            }
            attrs |= _retrieval_attrs(call.args, call.result, fresh=not call.cache_hit)
            self.spans.append(
                Span(
                    kind="tool",
                    name=call.tool,
                    start_ms=end - call.latency_ms,
                    duration_ms=call.latency_ms,
                    attributes=_scrub(attrs),
                )
            )
        u = result.usage
        return TraceView(
            id=self.id,
            tenant_id=self.tenant_id,
            thread_id=self.thread_id,
            user_id=self.user_id,
            kind=self.kind,
            status=result.status.value,
            stop_reason=result.stop_reason,
            error_kind=(result.error or {}).get("kind"),
            model=self.model,
            started_at=self.started_at,
            duration_ms=self._now_ms(),
            steps=u.steps,
            tool_calls=u.tool_calls,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cost_usd=round(self.cost_usd, 8),
            labels=self.labels,
            spans=sorted(self.spans, key=lambda s: s.start_ms),
        )


def _retrieval_attrs(args: dict[str, Any], result: dict[str, Any] | None, *, fresh: bool = True) -> dict[str, Any]:
    """For a result with scored ``passages`` (knowledge-base search): how many, and the best score
    — the retrieval hit signals ``tiller drift`` watches — and, when the result says how it
    searched (``retrieval``), the query asked, the query searched if it was rewritten, the
    reranker and each stage's latency (not for a cached result: those timings are old)."""
    passages = (result or {}).get("passages")
    if not isinstance(passages, list):
        return {}
    scores = [float(p["score"]) for p in passages if isinstance(p, dict) and isinstance(p.get("score"), int | float)]
    attrs: dict[str, Any] = {"retrieval_hits": len(passages), "retrieval_top_score": max(scores) if scores else None}
    how = (result or {}).get("retrieval")
    if isinstance(how, dict):
        asked = args.get("query")
        attrs |= {"retrieval_query": asked, "retrieval_reranker": how.get("reranker")}
        if how.get("query") != asked:
            attrs["retrieval_rewritten_query"] = how.get("query")
        if fresh:
            attrs["retrieval_first_stage_ms"] = how.get("first_stage_ms")
            attrs["retrieval_rerank_ms"] = how.get("rerank_ms")
    return attrs
