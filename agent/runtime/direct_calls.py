"""``Tiller.invoke_tool``'s body: one tool call from the calling program, run as a turn of a thread.

The turn is the graph's own (``agent.loop.direct``): validation, policy (with provenance),
approval, breaker, ledger, tool-output guard, trace and audit are exactly those of a call the
model asked for; only the plan comes from the caller. What comes back is a ``ToolOutcome``
(``tools.outcome``) read from the call's trajectory record.

The same call again on a thread whose turn is that call and is not finished — it waits for a
reviewer, or a run stopped mid-way — continues it instead of starting another turn: asking
again while the reviewer has not decided gives the same pending approval, asking after the
decision runs the call (once: the ledger keys it by its identity, ``tc_<turn>_1_0``). Any other
call on a thread that waits for a reviewer is refused, as a message sent there would be.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from agent.config import Limits
from agent.errors import ThreadBusy
from agent.loop.context import Caller
from agent.loop.direct import DIRECT_CALL_KEY, DIRECT_STEP, DirectCall
from agent.loop.identity import call_id
from agent.loop.state import CallStatus, PendingApproval, RunResult, RunStatus, ToolCallRecord
from agent.persistence.database import translate_database_errors
from agent.runtime.runs import EventHandler, OpenThread, new_turn
from tools.outcome import OutcomeStatus, ToolOutcome

if TYPE_CHECKING:
    from langchain_core.messages import HumanMessage
    from langchain_core.tools import BaseTool

    from agent.config import Settings
    from agent.persistence.inplace import InPlace, RuntimeStores
    from agent.runtime.domains import DomainRuntimes
    from agent.runtime.runs import RunDriver


class DirectRuntime(Protocol):
    """What direct calls need of their runtime — ``Tiller`` has each — named here so that this
    module does not import the one that imports it."""

    settings: Settings
    domains: DomainRuntimes
    stores: InPlace[RuntimeStores]
    runs: RunDriver

    async def over_budget(self, caller: Caller) -> RunResult | None:
        """A refusal when the caller's tenant spent its daily budget."""

    def user_message(self, text: str, tenant: str, **kwargs: Any) -> HumanMessage:
        """``text`` as the thread keeps it."""


_BY_CALL_STATUS = {
    CallStatus.EXECUTED: OutcomeStatus.EXECUTED,
    CallStatus.REPLAYED: OutcomeStatus.EXECUTED,
    CallStatus.INVALID: OutcomeStatus.INVALID,
    CallStatus.DENIED: OutcomeStatus.REFUSED,
    CallStatus.LIMIT: OutcomeStatus.REFUSED,
    CallStatus.REJECTED: OutcomeStatus.REJECTED,
    CallStatus.PENDING_APPROVAL: OutcomeStatus.PENDING_APPROVAL,
    CallStatus.ERROR: OutcomeStatus.FAILED,
}


def direct_call(tool: str, args: Mapping[str, Any] | None, max_chars: int) -> DirectCall | ToolOutcome:
    """The call ``invoke_tool`` was given, or the ``invalid`` outcome of arguments no call can be
    made of: not a mapping, not JSON values, or more text than a message may hold."""
    problem = None
    if not isinstance(args, Mapping | None):
        problem = f"arguments of {tool} must be a mapping of argument names to values, not {type(args).__name__}"
    else:
        try:
            call = DirectCall.of(tool, dict(args or {}))
        except TypeError as exc:
            problem = f"arguments of {tool} must be JSON values (text, numbers, booleans, lists, objects): {exc}"
        else:
            if len(call.text()) <= max_chars:
                return call
            problem = f"arguments of {tool} are over {max_chars} characters of text (TILLER_MAX_MESSAGE_CHARS)"
    return ToolOutcome(status=OutcomeStatus.INVALID, tool=tool, error_kind="invalid_arguments", message=problem)


class DirectCalls:
    """The direct calls of one runtime."""

    def __init__(self, rt: DirectRuntime) -> None:
        self.rt = rt

    @translate_database_errors
    async def invoke(  # noqa: D102  # documented on Tiller.ainvoke_tool, its only caller
        self,
        call: DirectCall,
        caller: Caller,
        limits: Limits | None,
        on_event: EventHandler | None,
        labels: dict[str, str] | None,
    ) -> ToolOutcome:
        try:
            async with self.rt.runs.open_thread(caller, f"{call.tool} (direct call)", limits) as opened:
                return await self._run(call, opened, limits, on_event, labels)
        except ThreadBusy as exc:  # another run holds the thread: a transient state, said as an outcome
            return _outcome(call, caller.thread, OutcomeStatus.FAILED, "thread_busy", f"{call.tool} was not run: {exc}")

    async def _run(
        self,
        call: DirectCall,
        opened: OpenThread,
        limits: Limits | None,
        on_event: EventHandler | None,
        labels: dict[str, str] | None,
    ) -> ToolOutcome:
        caller, snapshot = opened.caller, opened.snapshot
        ctx = self.rt.runs.context(caller, limits, labels)
        if snapshot is not None and (snapshot.interrupts or snapshot.next):
            unfinished = DirectCall.of_turn(snapshot.values.get("messages", []))
            if unfinished is not None and unfinished.same_as(call):  # this call, waiting or cut short: go on
                result = await self.rt.runs.continue_run(snapshot, ctx, on_event, opened.held)
                return outcome_of(result, call, call_id(opened.turn, DIRECT_STEP, 0))
            if snapshot.interrupts:
                return await self._thread_waits(call, caller)
        if refusal := await self.rt.over_budget(caller):
            error = refusal.error or {}
            kind = str(error.get("kind", "budget_exhausted"))
            return _outcome(call, caller.thread, OutcomeStatus.REFUSED, kind, refusal.answer)
        message = self.rt.user_message(call.text(), caller.tenant, **{DIRECT_CALL_KEY: call.to_data()})
        turn = opened.turn + 1
        result = await self.rt.runs.invoke(new_turn(message, turn), ctx, on_event, "invoke_tool", opened.held)
        return outcome_of(result, call, call_id(turn, DIRECT_STEP, 0))

    async def _thread_waits(self, call: DirectCall, caller: Caller) -> ToolOutcome:
        pending = await self.rt.stores.run(
            lambda st: st.approvals.list(caller.tenant, thread_id=caller.thread, status="pending")
        )
        waiting = ", ".join(f"{a.tool} (approval {a.id})" for a in pending) or "an earlier call"
        message = (
            f"{call.tool} was not run: thread {caller.thread} waits for a reviewer's decision on {waiting}. "
            "Decide it and resume the thread first, or make this call on another thread."
        )
        return _outcome(call, caller.thread, OutcomeStatus.REFUSED, "thread_waiting", message)


def _outcome(call: DirectCall, thread_id: str, status: OutcomeStatus, kind: str, message: str) -> ToolOutcome:
    return ToolOutcome(
        status=status, tool=call.tool, args=call.args, error_kind=kind, message=message, thread_id=thread_id
    )


def outcome_of(result: RunResult, call: DirectCall, planned_id: str) -> ToolOutcome:
    """The outcome of the direct call ``planned_id`` in the run that ``result`` ended."""
    record = next((r for r in result.trajectory if r.id == planned_id), None)
    if record is None:  # the turn ended before the call was planned: the input guard, a limit
        return _unplanned(result, call)
    status = _BY_CALL_STATUS[record.status]
    error = record.error or {}
    approval = record.approval
    outcome = ToolOutcome(
        status=status,
        tool=record.tool,
        args=record.args,
        result=record.result if status is OutcomeStatus.EXECUTED else None,
        replayed=record.status is CallStatus.REPLAYED,
        message=str(error.get("message") or ""),
        error_kind=error.get("kind"),
        approval_id=approval.id if approval is not None else None,
        customer_message=approval.customer_message if approval is not None else None,
        thread_id=result.thread_id,
        call_id=record.id,
        run_id=result.run_id,
    )
    if status is OutcomeStatus.PENDING_APPROVAL:
        return _pending(outcome, record, result.pending_approvals)
    return outcome


def _pending(outcome: ToolOutcome, record: ToolCallRecord, pending: list[PendingApproval]) -> ToolOutcome:
    approval_id = outcome.approval_id or ""
    found = next((a for a in pending if a.id == approval_id), None)
    expires = f", expires {found.expires_at:%Y-%m-%d %H:%M} UTC" if found is not None else ""
    message = (
        f"{record.tool} has not run yet: it waits for a reviewer's approval (approval {approval_id}{expires}). "
        "Nothing was changed. Tell the user it is waiting for review."
    )
    next_step = (
        f"A reviewer decides approval {approval_id} (`tiller approvals approve {approval_id} --as NAME`, or "
        f"Tiller.decide); then Tiller.resume({outcome.thread_id!r}), or this same call again with "
        f"thread_id={outcome.thread_id!r}, runs it exactly once."
    )
    return outcome.model_copy(update={"message": message, "next_step": next_step, "error_kind": "pending_approval"})


def _unplanned(result: RunResult, call: DirectCall) -> ToolOutcome:
    """A turn that never planned the call: the guard blocked it, a limit or the run stopped it."""
    error: dict[str, Any] = result.error or {}
    if result.status is RunStatus.FAILED:
        status, kind = OutcomeStatus.FAILED, str(error.get("kind", "run_failed"))
    else:
        status, kind = OutcomeStatus.REFUSED, str(error.get("kind") or result.stop_reason or result.status.value)
    outcome = _outcome(call, result.thread_id, status, kind, result.answer or f"{call.tool} was not run")
    return outcome.model_copy(update={"run_id": result.run_id})


def exported_tools(
    rt: DirectRuntime,
    invoke_tool: Callable[..., ToolOutcome],
    signature: Callable[..., Any],
    names: Iterable[str] | None,
    options: dict[str, Any],
) -> list[BaseTool]:
    """The tools of the tenant's domain (``options["tenant"]``, default: the settings') as
    LangChain ``BaseTool``s whose every call goes through ``invoke_tool`` with ``options``
    (``thread_id``: one thread for every call, so asking again for a call that waits for a
    reviewer continues it; default: a new thread per call). A call that does not execute comes
    back to the LangChain caller as an error ``ToolMessage`` with Tiller's message. ``signature``:
    the function whose keyword arguments ``options`` must be (``Tiller.ainvoke_tool``)."""
    inspect.signature(signature).bind("", None, **options)  # an unknown option fails here, not per call

    def invoke(tool: str, args: dict[str, Any]) -> ToolOutcome:
        return invoke_tool(tool, args, **options)

    registry = rt.domains.registry(options.get("tenant") or rt.settings.tenant)
    return registry.as_langchain_tools(invoke, names=names)
