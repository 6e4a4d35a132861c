"""Exporting stored traces: to LangSmith and to an OpenTelemetry (OTLP/HTTP) collector.

Both are off unless their standard environment variables say otherwise — nothing leaves the
machine by default:

- LangSmith: ``LANGSMITH_TRACING=true`` (or ``LANGCHAIN_TRACING_V2``) with ``LANGSMITH_API_KEY``;
  ``LANGSMITH_ENDPOINT`` and ``LANGSMITH_PROJECT`` as usual.
- OTLP: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``.

What is exported is the stored (already redacted) trace, with the same structure: one root run,
one child per graph node, and the model, tool, guard and approval spans under the node they
happened in. LangChain's own automatic LangSmith tracing is switched off around graph runs so a run
is never exported twice, nor unredacted.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from langsmith import Client
from langsmith.run_trees import RunTree
from opentelemetry import trace as otel
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agent.persistence.traces import Span, TraceView

_TRUE = {"1", "true", "yes", "on"}


class TraceExporter(Protocol):
    """Sends stored traces to an outside system."""

    def export(self, trace: TraceView) -> None:
        """Send one trace (a failure is logged by the caller; the run never fails for it)."""

    def close(self) -> None:
        """Flush what is buffered and release the connection."""


def _at(trace: TraceView, ms: float) -> datetime:
    return trace.started_at + timedelta(milliseconds=ms)


def _parent_of(span: Span, nodes: list[Span]) -> Span | None:
    """The node span during which ``span`` happened (events are timed inside their node)."""
    inside = [n for n in nodes if n.start_ms <= span.start_ms <= n.start_ms + n.duration_ms + 0.5]
    return inside[-1] if inside else None


def langsmith_enabled(env: Mapping[str, str]) -> bool:
    """Whether the environment turns LangSmith tracing on and gives it a key."""
    tracing = env.get("LANGSMITH_TRACING") or env.get("LANGCHAIN_TRACING_V2") or ""
    return tracing.lower() in _TRUE and bool(env.get("LANGSMITH_API_KEY") or env.get("LANGCHAIN_API_KEY"))


class LangSmithExporter:
    """Posts each trace as a LangSmith run tree (root chain → node chains → llm/tool runs)."""

    _TYPES: ClassVar[dict[str, str]] = {
        "model": "llm",
        "tool": "tool",
        "node": "chain",
        "guard": "parser",
        "approval": "chain",
    }

    def __init__(self, env: Mapping[str, str]) -> None:
        self.project = env.get("LANGSMITH_PROJECT") or env.get("LANGCHAIN_PROJECT") or "tiller"
        self.client = Client(
            api_url=env.get("LANGSMITH_ENDPOINT") or env.get("LANGCHAIN_ENDPOINT"),
            api_key=env.get("LANGSMITH_API_KEY") or env.get("LANGCHAIN_API_KEY"),
            auto_batch_tracing=False,
        )

    def export(self, trace: TraceView) -> None:
        """Post the trace as one run tree: the run, its nodes, and each model and tool call."""
        root = RunTree(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"tiller:{trace.id}"),
            name=f"tiller.{trace.kind}",
            run_type="chain",
            start_time=trace.started_at,
            inputs={"thread_id": trace.thread_id, "tenant_id": trace.tenant_id, "user_id": trace.user_id},
            extra={"metadata": {"tiller_run_id": trace.id, "model": trace.model, **trace.labels}},
            project_name=self.project,
            client=self.client,
        )
        nodes = [s for s in trace.spans if s.kind == "node"]
        children: dict[int, Any] = {}
        for node in nodes:
            children[id(node)] = self._child(root, trace, node)
        for span in trace.spans:
            if span.kind != "node":
                parent = _parent_of(span, nodes)
                self._child(children[id(parent)] if parent is not None else root, trace, span)
        usage = {"input_tokens": trace.input_tokens, "output_tokens": trace.output_tokens, "cost_usd": trace.cost_usd}
        root.end(
            outputs={"status": trace.status, "stop_reason": trace.stop_reason, **usage},
            end_time=_at(trace, trace.duration_ms),
        )
        root.post(exclude_child_runs=False)

    def _child(self, parent: Any, trace: TraceView, span: Span) -> Any:
        child = parent.create_child(
            name=span.name,
            run_type=self._TYPES.get(span.kind, "chain"),
            start_time=_at(trace, span.start_ms),
            end_time=_at(trace, span.start_ms + span.duration_ms),
            inputs={k: v for k, v in span.attributes.items() if k in ("args", "content", "stage", "tool")},
            outputs={k: v for k, v in span.attributes.items() if k not in ("args", "content")},
            extra={"metadata": {"tiller_kind": span.kind}},
        )
        return child

    def close(self) -> None:
        """Send what the client still buffers."""
        self.client.flush()


def otlp_endpoint(env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces endpoint the standard OpenTelemetry variables name, if any."""
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    return None


class OtlpExporter:
    """Sends each trace as OpenTelemetry spans over OTLP/HTTP (protobuf)."""

    def __init__(self, endpoint: str) -> None:
        # Only with an OTLP endpoint set: the exporter's protobuf stack costs start-up time otherwise.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        self.provider = TracerProvider(resource=Resource.create({"service.name": "tiller"}))
        self.provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        self.tracer = self.provider.get_tracer("tiller")

    def export(self, trace: TraceView) -> None:
        """Emit the trace as spans: the run, its nodes, and each event inside its node."""
        ns = int(trace.started_at.timestamp() * 1e9)
        root = self.tracer.start_span(f"tiller.{trace.kind}", start_time=ns, attributes=_root_attributes(trace))
        root_ctx = otel.set_span_in_context(root)
        nodes = [s for s in trace.spans if s.kind == "node"]
        node_ctx: dict[int, Any] = {}
        opened = []
        for span in trace.spans:
            parent = _parent_of(span, nodes) if span.kind != "node" else None
            ctx = node_ctx.get(id(parent), root_ctx) if parent is not None else root_ctx
            start = ns + int(span.start_ms * 1e6)
            otel_span = self.tracer.start_span(
                f"{span.kind}.{span.name}",
                context=ctx,
                start_time=start,
                attributes=_flat(span.attributes, f"tiller.{span.kind}"),
            )
            if span.kind == "node":
                node_ctx[id(span)] = otel.set_span_in_context(otel_span)
            opened.append((otel_span, start + int(span.duration_ms * 1e6)))
        for otel_span, end in reversed(opened):
            otel_span.end(end_time=end)
        root.end(end_time=ns + int(trace.duration_ms * 1e6))

    def close(self) -> None:
        """Flush and shut down the span processor."""
        self.provider.shutdown()


def _root_attributes(trace: TraceView) -> dict[str, Any]:
    attrs = {
        "tiller.run_id": trace.id,
        "tiller.thread_id": trace.thread_id,
        "tiller.tenant_id": trace.tenant_id,
        "tiller.user_id": trace.user_id,
        "tiller.status": trace.status,
        "tiller.model": trace.model,
        "gen_ai.usage.input_tokens": trace.input_tokens,
        "gen_ai.usage.output_tokens": trace.output_tokens,
        "tiller.cost_usd": trace.cost_usd,
    }
    return attrs | {f"tiller.label.{k}": v for k, v in trace.labels.items()}


def _flat(attributes: dict[str, Any], prefix: str) -> dict[str, Any]:
    """OpenTelemetry attributes are scalars (or lists of scalars): nest with dots, else stringify."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            out[f"{prefix}.{key}"] = value
        else:
            out[f"{prefix}.{key}"] = json.dumps(value, ensure_ascii=False, default=str)
    return out


def exporters_from_env(env: Mapping[str, str] | None = None) -> list[TraceExporter]:
    """The exporters the environment asks for (none by default)."""
    env = os.environ if env is None else env
    found: list[TraceExporter] = []
    if langsmith_enabled(env):
        found.append(LangSmithExporter(env))
    endpoint = otlp_endpoint(env)
    if endpoint:
        found.append(OtlpExporter(endpoint))
    return found
