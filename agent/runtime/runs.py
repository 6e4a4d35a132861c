"""Running the graph for one thread: lease it, run to the next stop, record the trace, release.

All of it is async, on the runtime's event loop. The runtime's own stores (threads, approvals,
traces) are short synchronous SQLAlchemy transactions, one implementation for sync and async
callers: ``rt.stores.run`` calls them in place on a SQLite file — over a connection that never
waits for a lock, on a worker thread when the file is busy — and on a worker thread on
PostgreSQL (``agent/persistence/inplace.py``). The SQLite checkpointer is awaited in place too
(``agent/persistence/sqlite_saver.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError
from langgraph.types import Command, StateSnapshot
from langsmith import tracing_context

from agent.config import Limits
from agent.loop.calls import ReviewDecision
from agent.loop.context import Caller, RunContext
from agent.loop.events import EVENTS, NodeEvent, RunEvent
from agent.loop.results import build_result
from agent.loop.state import RunResult, RunStatus
from agent.models.request_cache import cache_scope
from agent.tracing import TraceRecorder, TraceView

if TYPE_CHECKING:
    from agent.loop.graph import AgentGraph
    from agent.models.pricing import PriceTable
    from agent.persistence.approvals import ApprovalStore
    from agent.persistence.inplace import InPlace, RuntimeStores
    from agent.runtime.domains import DomainRuntimes
    from agent.tracing.export import TraceExporter
    from agent.tracing.metrics import RunMetrics

EventHandler = Callable[[RunEvent], None]
log = logging.getLogger("tiller.runtime")
_INTERRUPT = "__interrupt__"  # where graph.ainvoke's output lists the interrupts a run paused on
_FRESH_RUN = {"planned": [], "steps": 0, "input_tokens": 0, "output_tokens": 0, "estimated_tokens": 0, "cost_usd": 0.0}
_FRESH_RUN |= {"invalid_args": 0, "stop_reason": None, "status": None, "error": None}


def new_turn(message: Any, turn: int) -> dict[str, Any]:
    """The graph input that starts turn ``turn`` of a thread with ``message``: the run's
    counters start again (limits count per run)."""
    return {"messages": [message], "turn": turn, **_FRESH_RUN}


@dataclass
class Lease:
    """What a run leaves behind when its thread's lease is released."""

    status: str | None = None
    """The status the finished run leaves its thread in (``None``: read it from the checkpoint)."""
    trace: TraceView | None = None
    """The run's trace, stored when the lease is released."""


def _never() -> bool:
    return False


Tokens = bool | Callable[[], bool] | None
"""Whether a run streams its text tokens: ``True``/``False``, a check asked before each model
call (the service asks whether anyone follows the thread), or ``None``: when ``on_event`` is given."""


def token_check(tokens: Tokens, on_event: object) -> Callable[[], bool]:
    """``tokens`` as the check a run's context holds."""
    if callable(tokens):
        return tokens
    wanted = on_event is not None if tokens is None else tokens
    return _always if wanted else _never


def _always() -> bool:
    return True


@dataclass(frozen=True)
class OpenThread:
    """A thread opened for a new turn, its lease held."""

    caller: Caller
    """The caller as the thread records it (tenant, user and subject are the thread's)."""
    held: Lease
    snapshot: StateSnapshot | None
    """The thread's state as this lease found it (``None``: a new thread, no state yet)."""

    @property
    def turn(self) -> int:
        """The number of the thread's last turn (0: none yet)."""
        return int(self.snapshot.values.get("turn", 0)) if self.snapshot is not None else 0


def config(thread_id: str, limits: Limits) -> RunnableConfig:
    """LangGraph's config of a run on ``thread_id``, with a recursion limit above what the limits allow."""
    # Each model step takes at most 4 graph steps; the limits end the run long before this does.
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": (limits.max_steps + 2) * 4 + 10}


class RuntimeParts(Protocol):
    """What a run needs of its runtime — ``Tiller`` has each — named here so that this module
    does not import the one that imports it."""

    graph: AgentGraph
    limits: Limits
    domains: DomainRuntimes
    stores: InPlace[RuntimeStores]
    metrics: RunMetrics
    exporters: list[TraceExporter]
    prices: PriceTable


class RunDriver:
    """The run machinery of one runtime (``Tiller``): its stores, graph, domains and exporters."""

    def __init__(self, rt: RuntimeParts) -> None:
        self.rt = rt

    @property
    def graph(self) -> AgentGraph:
        """The runtime's compiled graph."""
        return self.rt.graph

    def context(
        self,
        caller: Caller,
        limits: Limits | None,
        labels: dict[str, str] | None = None,
        tokens: Callable[[], bool] | None = None,
    ) -> RunContext:
        """The context of one run: the caller, the limits and their deadline, the tenant's domain and guard
        policy, and whether its text tokens stream (``tokens``; default: not)."""
        limits = limits or self.rt.limits
        return RunContext(
            caller=caller,
            limits=limits,
            deps=self.rt.domains.deps(caller.tenant),
            guard_policy=self.rt.domains.guard_policy(caller.tenant),
            labels=labels or {},
            deadline=time.monotonic() + limits.deadline_s,
            tokens=tokens or _never,
        )

    @asynccontextmanager
    async def lease(self, thread_id: str, *, claimed: bool = False) -> AsyncIterator[Lease]:
        """Hold the thread's lease (``claimed``: already taken by ``open_and_claim``). On release
        the thread's status is the run's, or else read from its checkpoint, and the run's trace is
        stored in the same transaction."""
        if not claimed:
            await self.rt.stores.run(lambda st: st.threads.claim(thread_id))
        held = Lease()
        try:
            yield held
        finally:
            status = held.status
            if status is None:
                snapshot = await self.graph.aget_state(config(thread_id, self.rt.limits))
                status = "awaiting_approval" if snapshot.interrupts else snapshot.values.get("status") or "idle"
            await self._release(thread_id, status, held.trace)

    @asynccontextmanager
    async def open_thread(self, caller: Caller, title: str, limits: Limits | None) -> AsyncIterator[OpenThread]:
        """Open the caller's thread (creating it, titled ``title``), hold its lease and read its
        state: what a new turn starts from."""
        row, created = await self.rt.stores.run(
            lambda st: st.threads.open_and_claim(
                caller.thread,
                tenant_id=caller.tenant,
                user_id=caller.user,
                title=title[:80],
                role=caller.role,
                subject=caller.subject,
            )
        )
        caller = replace(caller, tenant=row.tenant_id, user=row.user_id, subject=row.subject)
        async with self.lease(caller.thread, claimed=True) as held:  # the state read below is the one we continue
            # A thread row is created before its first checkpoint: a new thread has no state to read.
            snapshot = None if created else await self.graph.aget_state(config(caller.thread, limits or self.rt.limits))
            yield OpenThread(caller, held, snapshot)

    async def _release(self, thread_id: str, status: str, trace: TraceView | None) -> None:
        """Release the lease and store the run's trace in one transaction (one commit less per
        run); a trace the database refuses never fails the run: the lease is released alone.
        A stored trace goes to the metrics, and to the exporters on a thread (they send it over
        the network)."""

        def release(st: RuntimeStores) -> bool:
            also = partial(st.traces.add, trace=trace) if trace is not None else None
            return st.threads.release(thread_id, status, also=also)

        if await self.rt.stores.run(release) and trace is not None:
            self.rt.metrics.observe_trace(trace)
            if self.rt.exporters:
                await asyncio.to_thread(self._export, trace)

    def _export(self, trace: TraceView) -> None:
        for exporter in self.rt.exporters:
            try:
                exporter.export(trace)
            except Exception:  # an unreachable collector must not fail the run it observes
                log.warning("could not export trace %s with %s", trace.id, type(exporter).__name__, exc_info=True)

    async def invoke(
        self, payload: Any, ctx: RunContext, on_event: EventHandler | None, kind: str, held: Lease
    ) -> RunResult:
        """Run the graph to its next stop; the caller holds the thread's lease, which stores the
        run's status and trace when it is released."""
        started = time.monotonic()
        caller = ctx.caller
        recorder = TraceRecorder(
            kind=kind,
            tenant_id=caller.tenant,
            user_id=caller.user,
            thread_id=caller.thread,
            model=ctx.deps.model_name,
            prices=self.rt.prices,
            labels=ctx.labels,
        )

        def emit(event: RunEvent | dict[str, Any]) -> None:  # as the event happens, on the loop
            typed = EVENTS.validate_python(event) if isinstance(event, dict) else event  # lower layers send dicts
            recorder.observe(typed)
            if on_event is not None and not isinstance(typed, NodeEvent):  # node spans are the trace's
                on_event(typed)

        forced, final = None, None
        try:
            # Our own exporters send the redacted trace; LangChain's automatic tracing stays off.
            with tracing_context(enabled=False), cache_scope(caller.tenant):
                final = await self.graph.ainvoke(
                    payload, config(caller.thread, ctx.limits), context=replace(ctx, emit=emit), durability="sync"
                )
        except GraphRecursionError:
            forced = RunStatus.LIMIT_REACHED
        result = await self.result(caller.thread, caller.tenant, started, forced=forced, final=final)
        held.status, held.trace = result.status.value, recorder.finish(result)
        return result.model_copy(update={"run_id": recorder.id})

    async def result(
        self, thread_id: str, tenant: str, started: float, forced: RunStatus | None = None, final: Any = None
    ) -> RunResult:
        """The thread's result. ``final``: the state a run just ended in, as ``graph.ainvoke``
        returned it (the same values as its last checkpoint, with ``__interrupt__`` when it
        paused), which saves reading them back; otherwise the checkpoint is read."""
        if isinstance(final, dict):
            values = {k: v for k, v in final.items() if k != _INTERRUPT}
            interrupted = _INTERRUPT in final
        else:
            snapshot = await self.graph.aget_state(config(thread_id, self.rt.limits))
            values, interrupted = snapshot.values or {}, bool(snapshot.interrupts)
        pending = (
            await self.rt.stores.run(lambda st: st.approvals.list(tenant, thread_id=thread_id, status="pending"))
            if interrupted
            else []
        )
        elapsed = time.monotonic() - started if started else 0.0
        return build_result(thread_id, values, interrupted, pending, elapsed, forced)

    async def resume_command(self, caller: Caller, ctx: RunContext, on_event: EventHandler | None) -> RunResult:
        """Continue the thread: with the decisions when it waits for them, from its last
        checkpoint when a run stopped mid-way; else its result as it stands."""
        async with self.lease(caller.thread) as held:  # read the state only once no one else can move the thread
            snapshot = await self.graph.aget_state(config(caller.thread, self.rt.limits))
            return await self.continue_run(snapshot, ctx, on_event, held)

    async def continue_run(
        self, snapshot: StateSnapshot, ctx: RunContext, on_event: EventHandler | None, held: Lease
    ) -> RunResult:
        """Continue the thread whose state under ``held`` is ``snapshot`` (see ``resume_command``)."""
        caller = ctx.caller
        if snapshot.interrupts:
            ids: list[str] = snapshot.interrupts[0].value["approval_ids"]
            decisions = await self.rt.stores.run(lambda st: decisions_of(st.approvals, caller.tenant, ids))
            if decisions is None:
                return await self.result(caller.thread, caller.tenant, 0.0)
            return await self.invoke(Command(resume=decisions), ctx, on_event, "resume", held)
        if snapshot.next:  # a run stopped mid-way (crash): continue from the last checkpoint
            return await self.invoke(None, ctx, on_event, "resume", held)
        return await self.result(caller.thread, caller.tenant, 0.0)


def decisions_of(approvals: ApprovalStore, tenant: str, approval_ids: list[str]) -> dict[str, dict[str, Any]] | None:
    """The reviewers' decisions on every approval of the interrupt (as the paused run takes
    them), or ``None`` while any is still pending."""
    approvals.expire_due(tenant)
    decisions: dict[str, dict[str, Any]] = {}
    for approval_id in approval_ids:
        a = approvals.get(tenant, approval_id)
        if a.status == "pending":
            return None
        if a.status == "expired":
            continue  # no decision: request_approval reports the expiry to the model
        decision = ReviewDecision(
            decision=a.decision,
            decided_by=a.decided_by,
            edited_args=a.edited_args,
            customer_message=a.customer_message,
        )
        decisions[approval_id] = decision.model_dump()
    return decisions
