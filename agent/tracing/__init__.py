"""Traces of runs: spans for nodes, model calls, tool calls, guard verdicts and approval events,
stored with SQLAlchemy next to the rest of the runtime's data, redacted by default."""

from agent.persistence.traces import TraceStore, TraceView
from agent.tracing.recorder import TraceRecorder

__all__ = ["TraceRecorder", "TraceStore", "TraceView"]
