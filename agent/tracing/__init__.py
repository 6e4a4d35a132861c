"""Traces of runs: spans for nodes, model calls, tool calls, guard verdicts and approval events,
stored with SQLAlchemy next to the rest of the runtime's data, redacted by default."""

from agent.tracing.recorder import TraceRecorder
from agent.tracing.store import TraceStore, TraceView

__all__ = ["TraceRecorder", "TraceStore", "TraceView"]
