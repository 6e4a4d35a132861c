"""The public Python API: ``Tiller`` runs requests, resumes threads and records decisions.

    with Tiller(Settings()) as tiller:
        result = tiller.ask("where is my order W1000002?")
        if result.status is RunStatus.AWAITING_APPROVAL:
            tiller.decide(result.pending_approvals[0].id, decision="approve", decided_by="rita")
            result = tiller.resume(result.thread_id)

Every call acts for a tenant and a user (defaults from settings). Every run returns a
``RunResult``; failures of the run are statuses, not exceptions.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command
from langsmith import tracing_context

from agent.checks import GuardPolicies, redact
from agent.config import Limits, Settings, domain_of, load_limits, load_settings, with_domain_defaults
from agent.errors import InvalidEdit
from agent.loop.context import AgentDeps, RunContext
from agent.loop.graph import build_graph
from agent.loop.results import build_result
from agent.loop.state import PendingApproval, RunResult, RunStatus, fresh_run_values
from agent.models.chain import ModelChain
from agent.models.factory import as_chain
from agent.models.pricing import PriceTable
from agent.models.request_cache import cache_scope
from agent.models.router import RouterChain
from agent.persistence.approvals import ApprovalStore, Decision
from agent.persistence.checkpoint import open_checkpointer
from agent.persistence.database import open_database, translate_database_errors
from agent.persistence.threads import ThreadStore
from agent.runtime.budget import over_budget
from agent.runtime.cache import ToolResultCache
from agent.runtime.domains import DomainRuntimes, Overrides, table_checker
from agent.runtime.execution import ToolExecutor
from agent.tracing import TraceRecorder, TraceStore, TraceView
from agent.tracing.export import exporters_from_env
from agent.tracing.metrics import RunMetrics
from tools.errors import ArgumentsInvalid
from tools.policy import ApprovalPolicy
from tools.registry import ToolRegistry
from tools.validation import validate_args

EventHandler = Callable[[dict[str, Any]], None]
log = logging.getLogger("tiller.runtime")
_INTERRUPT = "__interrupt__"  # where graph.invoke's output lists the interrupts a run paused on


def new_thread_id() -> str:
    return "t_" + uuid.uuid4().hex[:12]


class Tiller:
    """One runtime per process: shared model, tools, stores and checkpointer; many threads."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: ToolRegistry | None = None,
        model: ModelChain | RouterChain | BaseChatModel | None = None,
        policy: ApprovalPolicy | None = None,
        limits: Limits | None = None,
        checkpointer: BaseCheckpointSaver[str] | None = None,
        guard_policies: GuardPolicies | None = None,
    ) -> None:
        """``settings`` (default: from the environment) name the domain; ``registry``, ``policy``
        and ``guard_policies`` replace that domain's tools, approval policy and guard policy."""
        self.settings = with_domain_defaults(settings) if settings is not None else load_settings()
        self.limits = limits or load_limits()
        self._stack = ExitStack()
        try:
            self._open(model, checkpointer, Overrides(registry, policy, guard_policies))
        except BaseException:
            self._stack.close()
            raise

    def _open(
        self,
        model: ModelChain | RouterChain | BaseChatModel | None,
        checkpointer: BaseCheckpointSaver[str] | None,
        overrides: Overrides,
    ) -> None:
        s = self.settings
        self.domain = domain_of(s)
        # The own domain's tables must be there (unless code brought its own tools): say what to run.
        own_tables = self.domain if overrides.registry is None else None
        self.engine, self.sessions = open_database(s.db_url, require=own_tables, busy_timeout_s=s.db_busy_timeout_s)
        self._stack.callback(self.engine.dispose)
        self.approvals = ApprovalStore(self.sessions, ttl_s=s.approval_ttl_s)
        self.threads = ThreadStore(self.sessions)
        executor = ToolExecutor(self.sessions, self.approvals, cache=ToolResultCache() if s.tool_cache else None)
        self._stack.callback(executor.close)
        if checkpointer is None:
            checkpointer = self._stack.enter_context(open_checkpointer(s.db_url, s.checkpoint_path))
        chain = as_chain(model, s)
        self.traces = TraceStore(self.sessions)
        self.metrics = RunMetrics()
        self.metrics.watch_approvals(self.approvals.count_by_status)
        self._exporters = exporters_from_env()
        for exporter in self._exporters:
            self._stack.callback(exporter.close)
        self.prices = PriceTable.load(s.price_file)
        shared = AgentDeps(
            model_name=chain.spec,
            prices=self.prices,
            registry=ToolRegistry(),
            policy=ApprovalPolicy(),
            approvals=self.approvals,
            executor=executor,
            model_with_tools=chain.bind(None),
            model_without_tools=chain.bind(None),
        )
        self.domains = DomainRuntimes(s, chain, shared, overrides, table_checker(self.engine))
        self.deps = self.domains.deps(s.tenant)  # the own domain's, built now: its errors surface at start
        self.registry = self.deps.registry
        self.graph = build_graph(checkpointer)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Tiller:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- running -------------------------------------------------------------------------

    @translate_database_errors
    def ask(
        self,
        text: str,
        *,
        thread_id: str | None = None,
        tenant: str | None = None,
        user: str | None = None,
        role: str | None = None,
        limits: Limits | None = None,
        on_event: EventHandler | None = None,
        labels: dict[str, str] | None = None,
    ) -> RunResult:
        """Run one user message to completion, a pause for approval, or a limit. ``role``: the
        requester's (default: the domain's); it is kept with the thread and used on resume.

        ``labels`` are copied onto the run's trace (an eval puts the scenario id there)."""
        tenant = tenant or self.settings.tenant
        user = user or self.settings.user
        role = role or self.domains.domain_of(tenant).role
        thread_id = thread_id or new_thread_id()
        row, created = self.threads.open_and_claim(
            thread_id, tenant_id=tenant, user_id=user, title=text[:80], role=role
        )
        with self._lease(thread_id, claimed=True) as lease:  # the state read below is the one this run continues
            # A thread row is created before its first checkpoint: a new thread has no state to read.
            turn = 0
            if not created:
                snapshot = self.graph.get_state(_config(thread_id, limits or self.limits))
                if snapshot.interrupts:
                    return self._result(thread_id, tenant, 0.0)  # still waiting: decide first, then resume
                turn = snapshot.values.get("turn", 0)
            refusal = over_budget(self.settings.tenant_daily_budgets, self.traces, thread_id, row.tenant_id)
            if refusal is not None:
                return refusal
            # Secrets are cut before the text enters the checkpoint (guard_input reports them).
            clean, findings = redact(text, self.domains.guard_policy(row.tenant_id).secret_rules())
            redacted = {"redacted": sorted({f.kind for f in findings})} if findings else {}
            payload = {
                "messages": [HumanMessage(content=clean, additional_kwargs=redacted)],
                "turn": turn + 1,
                **fresh_run_values(),
            }
            ctx = self._context(thread_id, row.tenant_id, row.user_id, role, limits, labels)
            return self._invoke(payload, ctx, on_event, "ask", lease)

    @translate_database_errors
    def resume(
        self,
        thread_id: str,
        *,
        tenant: str | None = None,
        on_event: EventHandler | None = None,
        labels: dict[str, str] | None = None,
    ) -> RunResult:
        """Continue a paused or interrupted thread; a no-op returning its state if nothing is due."""
        tenant = tenant or self.settings.tenant
        row = self.threads.get(tenant, thread_id)
        role = row.role or self.domains.domain_of(row.tenant_id).role
        ctx = self._context(thread_id, row.tenant_id, row.user_id, role, None, labels)
        with self._lease(thread_id) as lease:  # read the state only once no one else can move the thread
            snapshot = self.graph.get_state(_config(thread_id, self.limits))
            if snapshot.interrupts:
                ids: list[str] = snapshot.interrupts[0].value["approval_ids"]
                decisions = self._decisions(tenant, ids)
                if decisions is None:
                    return self._result(thread_id, tenant, 0.0)
                return self._invoke(Command(resume=decisions), ctx, on_event, "resume", lease)
            if snapshot.next:  # a run stopped mid-way (crash): continue from the last checkpoint
                return self._invoke(None, ctx, on_event, "resume", lease)
            return self._result(thread_id, tenant, 0.0)

    @translate_database_errors
    def decide(
        self,
        approval_id: str,
        *,
        decision: Decision,
        decided_by: str,
        tenant: str | None = None,
        reason: str | None = None,
        edits: dict[str, Any] | None = None,
    ) -> PendingApproval:
        """Record a reviewer's decision; edited arguments are validated against the tool schema."""
        tenant = tenant or self.settings.tenant
        edited = None
        if decision == "edit":
            current = self.approvals.get(tenant, approval_id)
            spec = self.domains.registry(tenant).get(current.tool)
            if spec is None:
                raise InvalidEdit(f"tool {current.tool} is not a tool of this tenant's domain")
            try:
                from tools.canonical import to_jsonable

                edited = to_jsonable(validate_args(spec, {**current.args, **(edits or {})}))
            except ArgumentsInvalid as exc:
                raise InvalidEdit(exc.message) from None
        decided = self.approvals.decide(
            tenant, approval_id, decision=decision, decided_by=decided_by, reason=reason, edited_args=edited
        )
        self.metrics.observe_decision(decided)
        return decided

    def result(self, thread_id: str, *, tenant: str | None = None) -> RunResult:
        """The thread's latest run as a result (status, answer, trajectory)."""
        tenant = tenant or self.settings.tenant
        self.threads.get(tenant, thread_id)
        return self._result(thread_id, tenant, 0.0)

    def messages(self, thread_id: str, *, tenant: str | None = None) -> list[AnyMessage]:
        tenant = tenant or self.settings.tenant
        self.threads.get(tenant, thread_id)
        return list(self.graph.get_state(_config(thread_id, self.limits)).values.get("messages", []))

    # -- internals -----------------------------------------------------------------------

    def _context(
        self,
        thread_id: str,
        tenant: str,
        user: str,
        role: str,
        limits: Limits | None,
        labels: dict[str, str] | None = None,
    ) -> RunContext:
        limits = limits or self.limits
        return RunContext(
            labels=labels or {},
            guard_policy=self.domains.guard_policy(tenant),
            tenant_id=tenant,
            user_id=user,
            thread_id=thread_id,
            limits=limits,
            deps=self.domains.deps(tenant),
            role=role,
            deadline=time.monotonic() + limits.deadline_s,
        )

    @contextmanager
    def _lease(self, thread_id: str, *, claimed: bool = False) -> Iterator[_Lease]:
        """Hold the thread's lease (``claimed``: already taken by ``open_and_claim``). On release
        the thread's status is the run's, or else read from its checkpoint, and the run's trace is
        stored in the same transaction."""
        if not claimed:
            self.threads.claim(thread_id)
        lease = _Lease()
        try:
            yield lease
        finally:
            status = lease.status
            if status is None:
                snapshot = self.graph.get_state(_config(thread_id, self.limits))
                status = "awaiting_approval" if snapshot.interrupts else snapshot.values.get("status") or "idle"
            self._release(thread_id, status, lease.trace)

    def _release(self, thread_id: str, status: str, trace: TraceView | None) -> None:
        """Release the lease and store the run's trace in one transaction (one commit less per
        run); a trace the database refuses never fails the run: the lease is released alone."""
        also = partial(self.traces.add, trace=trace) if trace is not None else None
        if self.threads.release(thread_id, status, also=also) and trace is not None:
            self._observe(trace)

    def _observe(self, trace: TraceView) -> None:
        """A stored trace goes to the metrics and to every exporter."""
        self.metrics.observe_trace(trace)
        for exporter in self._exporters:
            try:
                exporter.export(trace)
            except Exception:  # an unreachable collector must not fail the run it observes
                log.warning("could not export trace %s with %s", trace.id, type(exporter).__name__, exc_info=True)

    def _invoke(
        self, payload: Any, ctx: RunContext, on_event: EventHandler | None, kind: str, lease: _Lease
    ) -> RunResult:
        """Run the graph to its next stop; the caller holds the thread's ``lease``, which stores
        the run's status and trace when it is released."""
        started = time.monotonic()
        recorder = TraceRecorder(
            kind=kind,
            tenant_id=ctx.tenant_id,
            user_id=ctx.user_id,
            thread_id=ctx.thread_id,
            model=self.deps.model_name,
            prices=self.prices,
            labels=ctx.labels,
        )
        forced = None

        def emit(event: dict[str, Any]) -> None:  # in the node's thread, as the event happens
            recorder.observe(event)
            if on_event is not None and event.get("type") != "node":  # node spans are the trace's
                on_event(event)

        final: Any = None
        try:
            config = _config(ctx.thread_id, ctx.limits)
            # Our own exporters send the redacted trace; LangChain's automatic tracing stays off.
            with tracing_context(enabled=False), cache_scope(ctx.tenant_id):
                final = self.graph.invoke(payload, config, context=replace(ctx, emit=emit), durability="sync")
        except GraphRecursionError:
            forced = RunStatus.LIMIT_REACHED
        result = self._result(ctx.thread_id, ctx.tenant_id, started, forced=forced, final=final)
        lease.status, lease.trace = result.status.value, recorder.finish(result)
        return result.model_copy(update={"run_id": recorder.id})

    def _decisions(self, tenant: str, approval_ids: list[str]) -> dict[str, dict[str, Any]] | None:
        """Decisions for every approval of the interrupt, or ``None`` while any is still pending."""
        self.approvals.expire_due(tenant)
        decisions: dict[str, dict[str, Any]] = {}
        for approval_id in approval_ids:
            a = self.approvals.get(tenant, approval_id)
            if a.status == "pending":
                return None
            if a.status == "expired":
                continue  # no decision: request_approval reports the expiry to the model
            decisions[approval_id] = {
                "decision": a.decision,
                "decided_by": a.decided_by,
                "reason": a.reason,
                "edited_args": a.edited_args,
            }
        return decisions

    def _result(
        self, thread_id: str, tenant: str, started: float, forced: RunStatus | None = None, final: Any = None
    ) -> RunResult:
        """The thread's result. ``final``: the state a run just ended in, as ``graph.invoke``
        returned it (the same values as its last checkpoint, with ``__interrupt__`` when it
        paused), which saves reading them back; otherwise the checkpoint is read."""
        if isinstance(final, dict):
            values = {k: v for k, v in final.items() if k != _INTERRUPT}
            interrupted = _INTERRUPT in final
        else:
            snapshot = self.graph.get_state(_config(thread_id, self.limits))
            values, interrupted = snapshot.values or {}, bool(snapshot.interrupts)
        pending = self.approvals.list(tenant, thread_id=thread_id, status="pending") if interrupted else []
        elapsed = time.monotonic() - started if started else 0.0
        return build_result(thread_id, values, interrupted, pending, elapsed, forced)


@dataclass
class _Lease:
    status: str | None = None
    """The status the finished run leaves its thread in (``None``: read it from the checkpoint)."""
    trace: TraceView | None = None
    """The run's trace, stored when the lease is released."""


def _config(thread_id: str, limits: Limits) -> dict[str, Any]:
    # Each model step takes at most 4 graph steps; the limits end the run long before this does.
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": (limits.max_steps + 2) * 4 + 10}
