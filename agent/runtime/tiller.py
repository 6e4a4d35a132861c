"""The public Python API: ``Tiller`` runs requests, resumes threads and records decisions.

    with Tiller(Settings()) as tiller:
        result = tiller.ask("what is the status of ticket T1000002?")
        if result.status is RunStatus.AWAITING_APPROVAL:
            tiller.decide(result.pending_approvals[0].id, decision="approve", decided_by="rita")
            result = tiller.resume(result.thread_id)

The runtime is async (``await tiller.aask(...)``, ``aresume``); ``ask`` and ``resume`` are the
thin sync facade scripts and the CLI use. The graph, model calls and checkpoints run on the
runtime's own event loop (``agent.runtime.loop``). Every call acts for a tenant and a user
(defaults from settings). Every run returns a ``RunResult``; failures of the run are statuses,
not exceptions.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from contextlib import ExitStack
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.checks import GuardPolicies, redact
from agent.config import Limits, Settings, domain_of, load_limits, load_settings, with_domain_defaults
from agent.errors import ConfigError, MessageTooLarge
from agent.loop.context import AgentDeps, Caller
from agent.loop.graph import AgentGraph, build_graph
from agent.loop.state import PendingApproval, RunResult
from agent.models.chain import ModelChain
from agent.models.factory import as_chain
from agent.models.pricing import PriceTable
from agent.models.router import RouterChain
from agent.persistence.approvals import Decision
from agent.persistence.checkpoint import open_async_checkpointer
from agent.persistence.database import open_database, translate_database_errors
from agent.persistence.inplace import InPlace, RuntimeStores
from agent.persistence.names import normalize_name
from agent.persistence.storage import home_fix, require_writable
from agent.runtime.budget import budget_refusal
from agent.runtime.cache import ToolResultCache
from agent.runtime.decision_checks import check_approval, checked_edit
from agent.runtime.direct_calls import DirectCalls, direct_call, exported_tools
from agent.runtime.domains import DomainRuntimes, Overrides, table_checker
from agent.runtime.execution import ToolExecutor
from agent.runtime.loop import RuntimeLoop
from agent.runtime.review import Reviews, ReviewView
from agent.runtime.runs import EventHandler, RunDriver, Tokens, config, new_turn, token_check
from agent.tracing.export import exporters_from_env
from agent.tracing.metrics import RunMetrics
from tools.outcome import ToolOutcome
from tools.policy import ApprovalPolicy
from tools.registry import ToolRegistry

log = logging.getLogger("tiller.runtime")
T = TypeVar("T")


WAITING_FOR_REVIEWER = (
    "Your earlier request is waiting for a reviewer's decision; I'll continue as soon as they decide. "
    "Please send your new message once it is done."
)
"""The answer to a message sent while the thread waits for a reviewer (the message is not run)."""


def new_thread_id() -> str:
    """A new thread id (``t_`` and 12 hex digits)."""
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
        start: bool = True,
    ) -> None:
        """``settings`` (default: from the environment) name the domain; ``registry``, ``policy``
        and ``guard_policies`` replace that domain's tools, approval policy and guard policy;
        ``checkpointer`` must be async-capable (``InMemorySaver``, ``AsyncSqliteSaver``, ``InlineSqliteSaver``…).
        ``start=False``: the graph and checkpointer open later, on the loop that awaits
        ``astart()``, and runs are awaited there (a server's own loop); otherwise the runtime
        starts now on an event loop of its own (``agent.runtime.loop``)."""
        self.settings = with_domain_defaults(settings) if settings is not None else load_settings()
        self.limits = limits or load_limits()
        self._stack = ExitStack()
        self._loop = RuntimeLoop()
        self._checkpointer = checkpointer
        self._stack.callback(self._loop.close)  # first in, last out: after everything that may use it
        try:
            self._open(model, Overrides(registry, policy, guard_policies))
            if start:
                self._loop.start_own(self._start)
        except BaseException:
            self.close()
            raise

    def _open(self, model: ModelChain | RouterChain | BaseChatModel | None, overrides: Overrides) -> None:
        s = self.settings
        self.domain = domain_of(s)
        # The own domain's tables must be there (unless code brought its own tools): say what to run.
        own_tables = self.domain if overrides.registry is None else None
        if not s.uses_postgres:  # checkpoints (and by default the database) live in the home
            require_writable(s.home, "the Tiller home", home_fix(s.home, s.database_url is None))
        self.engine, self.sessions = open_database(s.db_url, require=own_tables, busy_timeout_s=s.db_busy_timeout_s)
        self._stack.callback(self.engine.dispose)
        self.stores = InPlace(lambda ss: RuntimeStores.over(ss, approval_ttl_s=s.approval_ttl_s), self.sessions)
        self._stack.callback(self.stores.close)
        pooled = self.stores.pooled  # for sync callers; async code uses ``stores.run`` (in place on SQLite)
        self.threads, self.approvals, self.traces = pooled.threads, pooled.approvals, pooled.traces
        executor = ToolExecutor(self.sessions, self.approvals, cache=ToolResultCache() if s.tool_cache else None)
        self._stack.callback(executor.close)
        chain = as_chain(model, s)
        self.metrics = RunMetrics()
        self.metrics.watch_stores(self.approvals.count_by_status, lambda: self.stores.fallbacks)
        self.exporters = exporters_from_env()
        for exporter in self.exporters:
            self._stack.callback(exporter.close)
        self.prices = PriceTable.load(s.price_file)
        shared = AgentDeps(
            model_name=chain.spec,
            prices=self.prices,
            registry=ToolRegistry(),
            policy=ApprovalPolicy(),
            stores=self.stores,
            executor=executor,
            model_with_tools=chain.bind(None),
            model_without_tools=chain.bind(None),
        )
        self.domains = DomainRuntimes(s, chain, shared, overrides, table_checker(self.engine))
        self._stack.callback(self.domains.close)
        self.deps = self.domains.deps(s.tenant)  # the own domain's, built now: its errors surface at start
        self.registry = self.deps.registry
        self.reviews = Reviews(self.sessions, self.domains)
        self.runs = RunDriver(self)
        self.direct = DirectCalls(self)

    async def _start(self) -> None:
        """Open what belongs to the event loop: the async checkpointer, and the graph on it."""
        checkpointer = self._checkpointer
        if checkpointer is None:
            opening = open_async_checkpointer(self.settings.db_url, self.settings.checkpoint_path)
            checkpointer = await self._loop.stack.enter_async_context(opening)
        elif type(checkpointer).aget_tuple is BaseCheckpointSaver.aget_tuple:
            raise ConfigError(
                f"{type(checkpointer).__name__} has no async methods; the runtime is async: pass an async-capable "
                "checkpointer (InMemorySaver, AsyncSqliteSaver, AsyncPostgresSaver) or none"
            )
        self.graph: AgentGraph = build_graph(checkpointer)

    async def astart(self) -> None:
        """Start a ``start=False`` runtime on the running loop: its checkpointer opens and its runs run here."""
        await self._loop.start_here(self._start)

    @property
    def started(self) -> bool:
        """Whether the runtime runs (made with ``start=True``, or ``astart`` awaited)."""
        return self._loop.started

    def close(self) -> None:
        """Close the checkpointer, the stores and the event loop (from any thread but the loop's)."""
        self._stack.close()

    async def aclose(self) -> None:
        """``close`` from a running loop (on the one a ``start=False`` runtime runs on, too)."""
        await self._loop.aclose()
        await asyncio.to_thread(self._stack.close)

    def __enter__(self) -> Tiller:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run_coroutine(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the runtime's loop and wait for it (callers without a loop)."""
        return self._loop.run(coro)

    def ask(self, text: str, **options: Any) -> RunResult:
        """``aask`` for callers without an event loop (scripts, the CLI)."""
        return self._loop.run(self.aask(text, **options))

    def resume(self, thread_id: str, **options: Any) -> RunResult:
        """``aresume`` for callers without an event loop."""
        return self._loop.run(self.aresume(thread_id, **options))

    async def aask(
        self,
        text: str,
        *,
        thread_id: str | None = None,
        tenant: str | None = None,
        user: str | None = None,
        role: str | None = None,
        subject: str | None = None,
        limits: Limits | None = None,
        on_event: EventHandler | None = None,
        labels: dict[str, str] | None = None,
        tokens: Tokens = None,
    ) -> RunResult:
        """Run one user message to completion, a pause for approval, or a limit. ``role``: the
        requester's (default: the domain's); it is kept with the thread and used on resume.
        ``subject``: the principal inside the tenant the run acts for (one customer: its tools
        touch that customer's records only); kept with the thread, which no other subject sees.
        A message over ``TILLER_MAX_MESSAGE_CHARS`` raises ``MessageTooLarge`` (nothing runs).
        ``on_event`` receives every step (``agent.loop.events``) as it happens, on the runtime's
        loop. ``labels`` are copied onto the run's trace (an eval puts the scenario id there).
        ``tokens``: whether the model streams text tokens to ``on_event`` (default: when it is
        given; a callable is asked before each model call) — unstreamed calls cost less."""
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise MessageTooLarge(
                f"message is {len(text)} characters; at most {limit} are accepted (TILLER_MAX_MESSAGE_CHARS)"
            )
        caller = self._caller(thread_id, tenant, user, role, subject)
        return await self._loop.call(self._ask(text, caller, limits, on_event, labels, token_check(tokens, on_event)))

    def _caller(
        self, thread_id: str | None, tenant: str | None, user: str | None, role: str | None, subject: str | None
    ) -> Caller:
        tenant = tenant or self.settings.tenant
        return Caller(
            tenant=tenant,
            user=normalize_name(user or self.settings.user),
            thread=thread_id or new_thread_id(),
            role=role or self.domains.domain_of(tenant).role,
            subject=subject or None,
        )

    @translate_database_errors
    async def _ask(
        self,
        text: str,
        caller: Caller,
        limits: Limits | None,
        on_event: EventHandler | None,
        labels: dict[str, str] | None,
        tokens: Callable[[], bool],
    ) -> RunResult:
        async with self.runs.open_thread(caller, text, limits) as opened:
            caller = opened.caller
            if opened.snapshot is not None and opened.snapshot.interrupts:  # still waiting: decide first — and say so
                waiting = await self.runs.result(caller.thread, caller.tenant, 0.0)
                return waiting.model_copy(update={"answer": WAITING_FOR_REVIEWER})
            if refusal := await self.over_budget(caller):
                return refusal
            payload = new_turn(self.user_message(text, caller.tenant), opened.turn + 1)
            ctx = self.runs.context(caller, limits, labels, tokens)
            return await self.runs.invoke(payload, ctx, on_event, "ask", opened.held)

    async def over_budget(self, caller: Caller) -> RunResult | None:
        """A refusal when the caller's tenant spent its daily budget (``TILLER_TENANT_DAILY_BUDGETS``)."""
        return await budget_refusal(self.settings.tenant_daily_budgets, self.traces, caller)

    def user_message(self, text: str, tenant: str, **kwargs: Any) -> HumanMessage:
        """``text`` as the thread keeps it: secrets cut before it enters the checkpoint
        (``guard_input`` reports them); ``kwargs`` go to its ``additional_kwargs``."""
        clean, findings = redact(text, self.domains.guard_policy(tenant).secret_rules())
        redacted = {"redacted": sorted({f.kind for f in findings})} if findings else {}
        return HumanMessage(content=clean, additional_kwargs=redacted | kwargs)

    def invoke_tool(self, tool: str, args: Mapping[str, Any] | None = None, **options: Any) -> ToolOutcome:
        """``ainvoke_tool`` for callers without an event loop (and the invoker of exported tools)."""
        return self._loop.run(self.ainvoke_tool(tool, args, **options))

    async def ainvoke_tool(
        self,
        tool: str,
        args: Mapping[str, Any] | None = None,
        *,
        thread_id: str | None = None,
        tenant: str | None = None,
        user: str | None = None,
        role: str | None = None,
        subject: str | None = None,
        limits: Limits | None = None,
        on_event: EventHandler | None = None,
        labels: dict[str, str] | None = None,
    ) -> ToolOutcome:
        """Run one call of ``tool`` the calling program asks for, through the same path as the
        agent's own calls (``agent.runtime.direct_calls``): a turn of thread ``thread_id`` (default:
        a new thread) whose plan is this call. Caller options are ``aask``'s. The answer is a
        ``ToolOutcome``: executed, invalid, refused, rejected, pending_approval or failed; a call
        waiting for a reviewer continues with ``resume`` or the same call on its thread."""
        call = direct_call(tool, args, self.settings.max_message_chars)
        if isinstance(call, ToolOutcome):  # arguments no call can be made of
            return call
        caller = self._caller(thread_id, tenant, user, role, subject)
        return await self._loop.call(self.direct.invoke(call, caller, limits, on_event, labels))

    def langchain_tools(self, names: Iterable[str] | None = None, **options: Any) -> list[BaseTool]:
        """The tenant's tools as LangChain ``BaseTool``s whose calls go through ``invoke_tool``
        with ``options`` (``agent.runtime.direct_calls.exported_tools``)."""
        return exported_tools(self, self.invoke_tool, self.ainvoke_tool, names, options)

    async def aresume(
        self,
        thread_id: str,
        *,
        tenant: str | None = None,
        on_event: EventHandler | None = None,
        labels: dict[str, str] | None = None,
        tokens: Tokens = None,
    ) -> RunResult:
        """Continue a paused or interrupted thread; a no-op returning its state if nothing is due.
        The run acts as the thread's requester, with the role they asked with (``tokens``: as ``aask``)."""
        tenant = tenant or self.settings.tenant
        return await self._loop.call(self._resume(thread_id, tenant, on_event, labels, token_check(tokens, on_event)))

    @translate_database_errors
    async def _resume(
        self,
        thread_id: str,
        tenant: str,
        on_event: EventHandler | None,
        labels: dict[str, str] | None,
        tokens: Callable[[], bool],
    ) -> RunResult:
        row = await self.stores.run(lambda st: st.threads.get(tenant, thread_id))
        role = row.role or self.domains.domain_of(row.tenant_id).role
        caller = Caller(tenant=row.tenant_id, user=row.user_id, thread=thread_id, role=role, subject=row.subject)
        return await self.runs.resume_command(caller, self.runs.context(caller, None, labels, tokens), on_event)

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
        customer_message: str | None = None,
    ) -> PendingApproval:
        """Record a reviewer's decision. ``reason`` is the reviewer's internal note (never shown
        to the customer); ``customer_message`` is what the agent may tell them. Edited arguments
        are validated and pre-checked against the tool's rules first (``check_edit``); approving
        a call that breaks one of them is refused (``check_approve``)."""
        tenant = tenant or self.settings.tenant
        edited = self.check_edit(approval_id, tenant=tenant, edits=edits or {}) if decision == "edit" else None
        if decision == "approve":
            self.check_approve(approval_id, tenant=tenant)
        decided = self.approvals.decide(
            tenant,
            approval_id,
            decision=decision,
            decided_by=decided_by,
            reason=reason,
            edited_args=edited,
            customer_message=customer_message,
        )
        self.metrics.observe_decision(decided)
        return decided

    @translate_database_errors
    def check_edit(self, approval_id: str, *, tenant: str | None = None, edits: dict[str, Any]) -> dict[str, Any]:
        """The arguments an edit makes, validated and pre-checked against the tool's business
        rules (``agent.runtime.decision_checks.checked_edit``): ``InvalidEdit`` says why not."""
        return checked_edit(
            self.approvals, self.domains, self.reviews, tenant or self.settings.tenant, approval_id, edits
        )

    @translate_database_errors
    def check_approve(self, approval_id: str, *, tenant: str | None = None) -> None:
        """Raise ``ApprovalBlocked`` when the call, as requested, breaks a blocking rule of its
        tool, evaluated now on fresh facts (``agent.runtime.decision_checks.check_approval``)."""
        check_approval(self.approvals, self.reviews, tenant or self.settings.tenant, approval_id)

    def review(self, approval: PendingApproval) -> ReviewView:
        """What the approval's reviewer needs beside its arguments (``agent.runtime.review``)."""
        return self.reviews.context(approval.tenant_id, approval.tool, approval.effective_args)

    def result(self, thread_id: str, *, tenant: str | None = None) -> RunResult:
        """The thread's latest run as a result (status, answer, trajectory)."""
        tenant = tenant or self.settings.tenant
        self.threads.get(tenant, thread_id)
        return self._loop.run(self.runs.result(thread_id, tenant, 0.0))

    def messages(self, thread_id: str, *, tenant: str | None = None) -> list[AnyMessage]:
        """The thread's messages as checkpointed (``ThreadNotFound`` outside the tenant)."""
        tenant = tenant or self.settings.tenant
        self.threads.get(tenant, thread_id)
        snapshot = self._loop.run(self.graph.aget_state(config(thread_id, self.limits)))
        return list(snapshot.values.get("messages", []))
