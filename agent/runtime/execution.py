"""Executing one tool call: timeout, retries, the idempotency ledger and approval consumption.

Awaited by the loop on the runtime's event loop. A synchronous tool runs in its own transaction
on a bounded pool of worker threads, so a timeout abandons the call without sharing a session
across threads and the event loop never blocks on a tool; a local write abandoned at its timeout
rolls back when its thread reaches its commit (``_CommitGate``), so "timed out" means "did not
happen". For a side-effecting call the transaction also records the idempotency key and, for an
approved call, consumes the approval: the effect commits exactly once or not at all. A repeat
(resume after a crash, a double resume) finds the key and returns the recorded result without
running anything. A read tool that has an async path (``ToolSpec.afunc``: MCP servers, async
LangChain tools) is awaited on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent.errors import ApprovalError
from agent.loop.calls import CallIdentity, Outcome
from agent.persistence.approvals import ApprovalStore
from agent.runtime.cache import ToolResultCache
from tools import ledger
from tools.canonical import args_hash, to_jsonable
from tools.contract import ToolContext, ToolSpec
from tools.db import refusals_as_tool_errors, transaction
from tools.errors import OutcomeUnknown, ToolError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("tiller.runtime")
_TRANSIENT = frozenset({"timeout", "unavailable", "circuit_open", OutcomeUnknown.kind})


def _contextualized(spec: ToolSpec, args: BaseModel, history: tuple[str, ...]) -> BaseModel:
    """``args`` completed by the tool's ``contextualize`` hook; unchanged when it has none or fails
    (completing a follow-up is a refinement, never a reason for the call to fail)."""
    if spec.contextualize is None or not history:
        return args
    try:
        return spec.contextualize(args, history)
    except Exception:
        return args


class ToolExecutor:
    """The runtime's ``ToolRunner``: each call in its own transaction on a worker thread."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        approvals: ApprovalStore,
        workers: int = 8,
        cache: ToolResultCache | None = None,
    ) -> None:
        self._sessions = sessions
        self._approvals = approvals
        self.cache = cache
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tiller-tool")

    def close(self) -> None:
        """Wait for the tool threads to finish and stop them."""
        self._pool.shutdown(wait=True)

    async def execute(self, spec: ToolSpec, args: BaseModel, who: CallIdentity, approval_id: str | None) -> Outcome:
        """Run the call with its timeout and retry policy; never raises for tool failures."""
        started = time.perf_counter()
        args = _contextualized(spec, args, who.history)
        key = ToolResultCache.key(who.tenant_id, spec, args, who.subject)
        cached = self.cache.get(key) if self.cache is not None and spec.cache_ttl_s is not None else None
        if cached is not None:
            return Outcome(ok=True, data=cached, cache_hit=True, latency_ms=(time.perf_counter() - started) * 1000)
        attempts = 1 + (spec.max_retries if spec.idempotent else 0)
        outcome = Outcome(ok=False, error_kind="unavailable", message="not run")
        for attempt in range(attempts):
            outcome = await self._attempt(spec, args, who, approval_id)
            if outcome.ok or outcome.error_kind not in ("unavailable", "timeout"):
                break
            await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
        if approval_id is not None and not outcome.ok:
            await self._record_failure(approval_id, outcome, who)
        if self.cache is not None and outcome.ok and outcome.data is not None:
            if spec.risk.has_side_effects:
                self.cache.invalidate_tenant(who.tenant_id)
            else:
                self.cache.put(key, spec, outcome.data)
        return Outcome(**{**outcome.__dict__, "latency_ms": (time.perf_counter() - started) * 1000})

    async def _record_failure(self, approval_id: str, outcome: Outcome, who: CallIdentity) -> None:
        """The approved call was refused: its approval says so (``failed``, with the tool's reason).
        Not after a transient failure: a timed-out remote call may still record its outcome, and a
        call that timed out or met a locked or unreachable database left it unused for a retry."""
        if outcome.error_kind in _TRANSIENT:
            return
        message = outcome.message or outcome.error_kind or "failed"
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._pool, self._approvals.record_failure, approval_id, message, who.user_id
            )
        except Exception:  # the database refused the note: the run still reports the failure
            log.warning("could not record the failure of approval %s", approval_id, exc_info=True)

    async def _attempt(self, spec: ToolSpec, args: BaseModel, who: CallIdentity, approval_id: str | None) -> Outcome:
        gate = None
        if spec.afunc is not None and not spec.risk.has_side_effects:
            running: Awaitable[Outcome] = self._run_async(spec, args, who)
        else:
            gate = _CommitGate() if spec.risk.has_side_effects and not spec.remote else None
            running = asyncio.get_running_loop().run_in_executor(
                self._pool, self._run, spec, args, who, approval_id, gate
            )
        try:
            return await asyncio.wait_for(asyncio.shield(running), timeout=spec.timeout_s)
        except TimeoutError:
            # A thread cannot be stopped. A read's late result is dropped (it commits nothing); a
            # write either has not reached its commit, and is told to roll back, or is committing,
            # and its outcome is awaited: a timeout never hides an effect that happened.
            if gate is not None and not gate.abandon():
                return await running
            if spec.sent_once:
                return Outcome(ok=False, error_kind=OutcomeUnknown.kind, message=_unknown(spec))
            return Outcome(
                ok=False, error_kind="timeout", message=f"{spec.name} did not answer within {spec.timeout_s:g}s"
            )

    async def _run_async(self, spec: ToolSpec, args: BaseModel, who: CallIdentity) -> Outcome:
        """A read tool's async path, on the event loop (it gets no database session)."""
        assert spec.afunc is not None
        ctx = ToolContext(
            who.tenant_id,
            who.user_id,
            who.thread_id,
            session=None,  # async tools reach their own backends
            tool_call_id=who.tool_call_id,
            subject=who.subject,
        )
        try:
            result = await spec.afunc(ctx, args)
            return Outcome(ok=True, data=to_jsonable(spec.result_model.model_validate(result)))
        except Exception as exc:  # as in _run: a failure becomes the outcome the model reads
            return _failure(spec, exc)

    def _run(
        self, spec: ToolSpec, args: BaseModel, who: CallIdentity, approval_id: str | None, gate: _CommitGate | None
    ) -> Outcome:
        try:
            with refusals_as_tool_errors():  # the ledger, the approval or the commit met a lock or lost the database
                if not spec.risk.has_side_effects:
                    with transaction(self._sessions) as session:
                        return Outcome(ok=True, data=self._call(spec, args, who, session))
                return self._run_effect(spec, args, who, approval_id, gate)
        except Exception as exc:  # a bug in a tool must not crash the run; the model and trace see what it said
            return _failure(spec, exc)

    def _run_effect(
        self, spec: ToolSpec, args: BaseModel, who: CallIdentity, approval_id: str | None, gate: _CommitGate | None
    ) -> Outcome:
        digest = args_hash(args)

        def effect(session: Session) -> dict[str, Any]:
            if approval_id is not None:
                self._approvals.consume(session, approval_id, digest, who.user_id)
            result = self._call(spec, args, who, session)
            if gate is not None:
                gate.enter_commit()  # past its timeout: raises, and the transaction rolls back
            return result

        # A remote effect that is not idempotent is recorded as sent before it goes out; an
        # idempotent one may simply go again (with the same key), so retries stay possible.
        run = ledger.execute_remote_once if spec.sent_once else ledger.execute_once
        data, replayed = run(
            self._sessions,
            key=ledger.idempotency_key(who.tenant_id, who.thread_id, who.tool_call_id, spec.name, args),
            tenant_id=who.tenant_id,
            thread_id=who.thread_id,
            tool_call_id=who.tool_call_id,
            tool=spec.name,
            args_hash=digest,
            effect=effect,
        )
        return Outcome(ok=True, data=data, replayed=replayed)

    @staticmethod
    def _call(spec: ToolSpec, args: BaseModel, who: CallIdentity, session: Session) -> dict[str, Any]:
        ctx = ToolContext(
            tenant_id=who.tenant_id,
            user_id=who.user_id,
            thread_id=who.thread_id,
            session=session,
            tool_call_id=who.tool_call_id,
            subject=who.subject,
        )
        result = spec.func(ctx, args)
        return to_jsonable(spec.result_model.model_validate(result))


def _unknown(spec: ToolSpec) -> str:
    return (
        f"{spec.name} was sent and did not answer within {spec.timeout_s:g}s: whether it ran is not known "
        "yet, and it is not sent again; tell the user it is being checked rather than calling it again"
    )


class _Abandoned(Exception):
    """A write that passed its timeout before its commit: its transaction rolls back."""


class _CommitGate:
    """Decides, once, between a side effect's commit and its abandonment at the timeout: the
    tool's thread enters the commit only if the call was not abandoned, and the loop abandons
    it only if its commit has not begun (else it awaits the outcome)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "running"

    def enter_commit(self) -> None:
        """On the tool's thread, inside its transaction: go on to commit, or raise ``_Abandoned``."""
        with self._lock:
            if self._state == "abandoned":
                raise _Abandoned("the call passed its timeout before its commit: rolled back")
            self._state = "committing"

    def abandon(self) -> bool:
        """On the loop, at the timeout: True when the call will not commit."""
        with self._lock:
            if self._state == "committing":
                return False
            self._state = "abandoned"
            return True


def _failure(spec: ToolSpec, exc: Exception) -> Outcome:
    """The outcome of a call that raised: a tool's own error, an approval that cannot authorise
    it, or a crash (whose message the model still reads)."""
    if isinstance(exc, ToolError):
        return Outcome(ok=False, error_kind=exc.kind, message=exc.message)
    if isinstance(exc, ApprovalError):
        return Outcome(ok=False, error_kind="approval", message=str(exc))
    detail = " ".join(str(exc).split())[:300]
    message = f"{spec.name} failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
    return Outcome(ok=False, error_kind="tool_crashed", message=message)
