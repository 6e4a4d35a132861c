"""plan_tools: decide, for each tool call of the model's turn, what happens to it — and run
the allowed calls at once when none of the turn's calls waits for an approval.

Each call is checked in order — tool exists, arguments valid, limits left, policy verdict (held
for a reviewer when it repeats a remote write whose outcome no one learnt) — and
either becomes a planned call (``allow`` or ``needs_approval``) or gets an error tool message the
model reads on its next turn. Approval rows are created here (idempotently), so that
``request_approval`` — which re-runs on resume — has no side effects. When a call needs an
approval, the turn's planned calls wait in the state and ``run_tools`` executes them after the
decisions; otherwise they execute here (``agent.loop.execute``), which saves a graph step
and its checkpoint per tool step. Re-running this node after a crash is safe: planning is pure or
idempotent, and execution goes through the idempotency ledger.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import BaseModel

from agent.errors import ApprovalConflict
from agent.loop.calls import PlannedCall, PlanVerdict
from agent.loop.context import AgentDeps, RunContext, last_ai, last_human_text, told_unknown, turn_calls
from agent.loop.events import ToolCallEvent, ToolRefusedEvent
from agent.loop.execute import execute_planned
from agent.loop.identity import CallSlot, call_slots
from agent.loop.limits import before_tool, too_many_invalid
from agent.loop.provenance import label_call, run_evidence
from agent.loop.state import AgentState, CallStatus, PendingApproval
from tools.canonical import args_hash, to_jsonable
from tools.contract import ToolSpec
from tools.envelope import tool_error_message
from tools.errors import ArgumentsInvalid
from tools.ledger import unknown_outcomes
from tools.policy import PolicyDecision, Verdict
from tools.provenance import Evidence
from tools.validation import validate_args

# Statuses that count against the tool-call limits (attempted or about to be).
_COUNTED = {CallStatus.EXECUTED, CallStatus.REPLAYED, CallStatus.ERROR, CallStatus.PENDING_APPROVAL}


class _Planner:
    """Accumulates the outcome of planning one model turn."""

    def __init__(self, deps: AgentDeps, state: AgentState, ctx: RunContext) -> None:
        self.deps, self.state, self.ctx = deps, state, ctx
        self.messages: list[ToolMessage] = []
        self.records: list[dict[str, Any]] = []
        self.planned: list[PlannedCall] = []
        self.invalid = state.get("invalid_args", 0)
        self.stop_reason: str | None = None
        counted = [c for c in turn_calls(dict(state)) if c["status"] in _COUNTED]
        self.total = len(counted)
        self.per_tool = Counter(c["tool"] for c in counted)
        self._evidence: Evidence | None = None

    def decide(self, spec: ToolSpec, args: Any, clean: dict[str, Any]) -> PolicyDecision:
        """The policy's verdict, weighing where the side-effecting call's arguments came from."""
        caller = self.ctx.caller
        provenance = None
        if spec.risk.has_side_effects:
            if self._evidence is None:  # once per turn: this turn's calls have not run yet
                self._evidence = run_evidence(self.state, self.deps.registry, self.deps.system_prompt)
            provenance = label_call(spec, clean, self._evidence)
        return self.deps.policy.decide(spec, args, caller.role, provenance=provenance, tenant=caller.tenant)

    def record(self, call: CallSlot, tool: str, args: dict[str, Any], status: CallStatus, **extra: Any) -> None:
        base = {"id": call.id, "provider_call_id": call.provider_id, "turn": self.state.get("turn", 0)}
        self.records.append(
            base | {"step": self.state.get("steps", 0), "tool": tool, "args": args, "status": status.value} | extra
        )

    def refuse(self, call: CallSlot, tool: str, args: Any, status: CallStatus, kind: str, message: str) -> None:
        self.messages.append(tool_error_message(tool, call.pairing_id, kind, message))
        shown = args if isinstance(args, dict) else {"raw": str(args)}
        self.record(call, tool, shown, status, error={"kind": kind, "message": message})

    async def plan(self, call: CallSlot, tool: str, raw_args: Any) -> None:
        spec = self.deps.registry.get(tool)
        if spec is None:
            self.invalid += 1
            known = ", ".join(self.deps.registry.names)
            message = f"there is no tool named {tool!r}; available tools: {known}"
            return self.refuse(call, tool, raw_args, CallStatus.INVALID, "unknown_tool", message)
        try:
            args = validate_args(spec, raw_args)
        except ArgumentsInvalid as exc:
            self.invalid += 1
            message = exc.message + ". Fix these and call again."
            return self.refuse(call, tool, raw_args, CallStatus.INVALID, exc.kind, message)
        clean = to_jsonable(args)
        if (limit := before_tool(self.ctx.limits, self.total, self.per_tool, tool)) is not None:
            self.stop_reason = limit
            return self.refuse(call, tool, clean, CallStatus.LIMIT, "limit", f"not run: the {limit} limit is reached")
        decision = self.decide(spec, args, clean)
        if decision.verdict is Verdict.DENY:
            return self.refuse(call, tool, clean, CallStatus.DENIED, "denied", f"not allowed: {decision.reason}")
        if spec.sent_once:
            decision = await self._unless_unknown(call, spec, args, clean, decision)
        planned = PlannedCall(
            id=call.id,
            pairing_id=call.pairing_id,
            provider_call_id=call.provider_id,
            tool=tool,
            args=clean,
            verdict=PlanVerdict(decision.verdict.value),
        )
        if decision.verdict is Verdict.NEEDS_APPROVAL:
            try:
                approval = await self._request_approval(call.id, spec, clean, decision)
            except ApprovalConflict as exc:
                return self.refuse(call, tool, clean, CallStatus.INVALID, "approval_conflict", str(exc))
            planned.approval_id = approval.id
            self.record(call, tool, clean, CallStatus.PENDING_APPROVAL, approval={"id": approval.id})
        self.total += 1
        self.per_tool[tool] += 1
        self.planned.append(planned)
        return None

    async def _unless_unknown(
        self, call: CallSlot, spec: ToolSpec, args: BaseModel, clean: dict[str, Any], decision: PolicyDecision
    ) -> PolicyDecision:
        """A reviewer's decision, when an identical remote write went out before in this thread
        and no one learnt whether it ran: its answer never came (the ledger still has it as sent),
        or came after the model had been told it is unknown (in an earlier turn: this turn's are
        refused when they run, ``repeated_failure``). Sending it again may do it twice, and only a
        person can check the remote system."""
        caller, digest = self.ctx.caller, args_hash(args)
        told = told_unknown(self.state.get("trajectory", []), spec.name, clean)
        # This turn's are refused when they run (``repeated_failure``); a lost answer is not.
        refused_anyway = set(told_unknown(turn_calls(dict(self.state)), spec.name, clean)) | {call.id}
        sent = await self.deps.stores.run(
            lambda st: unknown_outcomes(
                st.sessions, tenant_id=caller.tenant, thread_id=caller.thread, tool=spec.name, args_hash=digest
            )
        )
        earlier = [c for c in (*told, *sent) if c not in refused_anyway]
        if not earlier:
            return decision
        note = (
            f"an identical {spec.name} call was sent before in this conversation ({earlier[-1]}) and whether it ran "
            "was never confirmed: check the remote system, and approve only if it did not run"
        )
        reason = note if decision.verdict is Verdict.ALLOW else f"{decision.reason}; {note}"
        return decision.model_copy(update={"verdict": Verdict.NEEDS_APPROVAL, "reason": reason})

    async def _request_approval(
        self, call_id: str, spec: ToolSpec, args: dict[str, Any], decision: PolicyDecision
    ) -> PendingApproval:
        caller = self.ctx.caller
        excerpt = last_human_text(self.state["messages"])
        return await self.deps.stores.run(  # a short transaction of the runtime's store
            lambda st: st.approvals.request(
                tenant_id=caller.tenant,
                thread_id=caller.thread,
                tool_call_id=call_id,
                tool=spec.name,
                risk=spec.risk.value,
                args=args,
                requested_by=caller.user,
                excerpt=excerpt,
                reason=decision.reason,
                provenance=decision.provenance,
            )
        )

    def announce(self, emit: Any) -> None:
        """Tell the run's listeners what was planned and what was refused."""
        for p in self.planned:
            emit(
                ToolCallEvent(
                    id=p.id,
                    provider_call_id=p.provider_call_id,
                    tool=p.tool,
                    args=p.args,
                    verdict=p.verdict.value,
                    approval_id=p.approval_id,
                )
            )
        for r in self.records:
            if error := r.get("error"):
                emit(ToolRefusedEvent(id=r["id"], tool=r["tool"], kind=error["kind"], message=error["message"]))


async def _planned(state: AgentState, ctx: RunContext) -> _Planner:
    ai = last_ai(state["messages"])
    assert ai is not None, "plan_tools runs after a model turn"
    planner = _Planner(ctx.deps, state, ctx)
    slots = call_slots(ai, state.get("turn", 0), state.get("steps", 0))
    for slot, call in zip(slots, ai.tool_calls, strict=False):
        await planner.plan(slot, call["name"], call["args"])
    for slot, bad in zip(slots[len(ai.tool_calls) :], ai.invalid_tool_calls, strict=True):
        planner.invalid += 1
        message = f"arguments are not valid JSON: {bad.get('error') or bad['args']}"
        planner.refuse(slot, bad["name"] or "?", bad["args"], CallStatus.INVALID, "invalid_arguments", message)
    if too_many_invalid(ctx.limits, planner.invalid):
        planner.stop_reason = planner.stop_reason or "max_invalid_args"
    return planner


async def plan_tools(
    state: AgentState, runtime: Runtime[RunContext]
) -> Command[Literal["request_approval", "call_model"]]:
    """Plan the turn's calls: to ``request_approval`` when one waits for a reviewer, else run them
    and back to ``call_model``."""
    planner = await _planned(state, runtime.context)
    planner.announce(runtime.stream_writer)
    waits = any(p.verdict is PlanVerdict.NEEDS_APPROVAL for p in planner.planned)
    messages, records = list(planner.messages), list(planner.records)
    if planner.planned and not waits:  # nothing to wait for: run them now, in this step
        ran_messages, ran_records = await execute_planned(
            state, runtime.context, planner.planned, runtime.stream_writer
        )
        messages += ran_messages
        records += ran_records
    # Only keys that changed: every write re-serialises its channel into the checkpoint.
    update: dict[str, Any] = {}
    if waits or state.get("planned"):
        update["planned"] = [p.to_state() for p in planner.planned] if waits else []
    if messages:
        update["messages"] = messages
    if records:
        update["trajectory"] = records
    if planner.invalid != state.get("invalid_args", 0):
        update["invalid_args"] = planner.invalid
    if planner.stop_reason:
        update["stop_reason"] = planner.stop_reason
    return Command(goto="request_approval" if waits else "call_model", update=update)
