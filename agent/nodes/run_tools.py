"""run_tools: execute the allowed and approved calls of this turn, exactly once each."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.execution import CallIdentity
from agent.messages import tool_error_message, tool_result_message
from agent.nodes.deps import AgentDeps, RunContext
from agent.state import AgentState, CallStatus


def make_run_tools(deps: AgentDeps):
    def run_tools(state: AgentState, runtime: Runtime[RunContext]) -> Command[Literal["call_model"]]:
        ctx = runtime.context
        messages, records = [], []
        for p in state.get("planned", []):
            spec = deps.registry.get(p["tool"])
            assert spec is not None, "planned calls name registered tools"
            args = spec.args_model.model_validate(p["args"])
            who = CallIdentity(ctx.tenant_id, ctx.user_id, ctx.thread_id, p["id"])
            approval_id = p.get("approval_id") if p["verdict"] == "approved" else None
            out = deps.executor.execute(spec, args, who, approval_id)
            record: dict[str, Any] = {
                "id": p["id"],
                "tool": p["tool"],
                "args": p["args"],
                "turn": state.get("turn", 0),
                "step": state.get("steps", 0),
                "latency_ms": round(out.latency_ms, 2),
            }
            if out.ok:
                assert out.data is not None
                messages.append(tool_result_message(p["tool"], p["id"], out.data, note=p.get("note")))
                status = CallStatus.REPLAYED if out.replayed else CallStatus.EXECUTED
                record |= {"status": status.value, "result": out.data}
            else:
                messages.append(
                    tool_error_message(p["tool"], p["id"], out.error_kind or "tool_error", out.message or "")
                )
                record |= {"status": CallStatus.ERROR.value, "error": {"kind": out.error_kind, "message": out.message}}
            records.append(record)
            runtime.stream_writer(
                {
                    "type": "tool_result",
                    "id": p["id"],
                    "tool": p["tool"],
                    "ok": out.ok,
                    "replayed": out.replayed,
                    "summary": _summary(out.data, out.message),
                }
            )
        return Command(goto="call_model", update={"messages": messages, "trajectory": records, "planned": []})

    return run_tools


def _summary(data: dict[str, Any] | None, message: str | None) -> str:
    if data is None:
        return message or ""
    return str(data.get("summary") or ", ".join(sorted(data))[:200])
