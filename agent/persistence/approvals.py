"""Approvals as rows: request, decide, consume — bound to the exact arguments.

- ``request`` is idempotent per (tenant, thread, tool call): re-running the planning step after a
  crash finds the same row.
- ``decide`` enforces separation of duties (the decider is not the requester), expiry, and
  decide-once (a conditional UPDATE; a concurrent second decision gets ``ApprovalConflict``).
- ``consume`` runs inside the transaction of the side effect: it marks the approval executed
  only if it is approved, unexpired, unconsumed, and the arguments about to run hash to what was
  approved. ``record_failure`` marks an approved call the tool refused when it ran as ``failed``,
  with the tool's reason. Every step appends to the audit log.

Statuses: ``pending`` → ``approved`` (decided, not run yet) → ``executed`` | ``failed``;
``pending`` → ``rejected`` | ``expired``. The ``approved`` filter of ``list`` means "a reviewer
approved it" (with or without edits), whatever happened when it ran.
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from pydantic import BaseModel, computed_field
from sqlalchemy import CursorResult, Engine, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import ApprovalConflict, ApprovalExpired, ApprovalNotFound, SelfApproval
from agent.persistence import audit
from agent.persistence.names import normalize_name, same_person
from agent.persistence.tables import ApprovalEventRow, ApprovalRow, table_of
from tools.canonical import args_hash, canonical_json, digest
from tools.db import transaction, utcnow


class PendingApproval(BaseModel):
    """A high-risk call waiting for a reviewer (the public view of an approval row)."""

    id: str
    tenant_id: str
    thread_id: str
    tool_call_id: str
    tool: str
    risk: str
    args: dict[str, Any]
    args_hash: str
    status: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    excerpt: str = ""
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    """The reviewer's internal note: for reviewers and the audit log, never for the customer."""
    edited_args: dict[str, Any] | None = None
    customer_message: str | None = None
    """What the reviewer wants the customer told (the agent passes it on)."""
    outcome: str | None = None
    """Why the call failed when it ran (status ``failed``)."""

    provenance: dict[str, Any] | None = None
    """Why the policy asked (``why``) and where each argument came from (``args``: ``{name:
    {source, where}}``, sources ``user | system | trusted | untrusted | model``), for the reviewer."""

    @computed_field  # type: ignore[prop-decorator]  # mypy rejects any decorator over @property; pydantic's documented spelling
    @property
    def effective_args(self) -> dict[str, Any]:
        """The arguments that run (or ran): the reviewer's edit, else the requested ones."""
        return self.edited_args if self.edited_args is not None else self.args


STATUSES = ("pending", "approved", "executed", "failed", "rejected", "expired")
DECIDED = ("approved", "executed", "failed", "rejected", "expired")
_APPROVED = ("approved", "executed", "failed")  # what the `approved` filter finds


Decision = Literal["approve", "edit", "reject"]
"""What a reviewer decides (the one definition: the store, the runtime, the API and the CLI use it)."""
_STATUS_OF: dict[str, str] = {"approve": "approved", "edit": "approved", "reject": "rejected"}


def _provenance_json(reason: str, provenance: dict[str, Any] | None) -> str | None:
    if not reason and provenance is None:
        return None
    return json.dumps({"why": reason, **(provenance or {})}, sort_keys=True)


def approval_id_for(tenant_id: str, thread_id: str, tool_call_id: str) -> str:
    """The id of the approval for one call: the same call always gets the same id (re-planning is idempotent)."""
    return "apr_" + digest(tenant_id, thread_id, tool_call_id)[:16]


def to_view(row: ApprovalRow) -> PendingApproval:
    """An approval row as the runtime and its callers see it."""
    return PendingApproval(
        id=row.id,
        tenant_id=row.tenant_id,
        thread_id=row.thread_id,
        tool_call_id=row.tool_call_id,
        tool=row.tool,
        risk=row.risk,
        args=json.loads(row.args_json),
        args_hash=row.args_hash,
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        excerpt=row.excerpt,
        decision=row.decision,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
        edited_args=json.loads(row.edited_args_json) if row.edited_args_json else None,
        customer_message=row.customer_message,
        outcome=row.outcome,
        provenance=json.loads(row.provenance_json) if row.provenance_json else None,
    )


def _audit(session: Session, row: ApprovalRow, event: str, actor: str, *, args_hash: str, **details: Any) -> None:
    """Append to the tenant's hash-chained audit log, in the caller's transaction (``agent.persistence.audit``).

    ``args_hash`` is the hash of the arguments the event is about: requested, approved (edited),
    or run. It is a column of the entry and, as before, part of the details that readers of
    ``events`` (CLI, HTTP) see.
    """
    audit.append(
        session,
        tenant_id=row.tenant_id,
        approval_id=row.id,
        event=event,
        actor=actor,
        args_hash=args_hash,
        details={**details, "args_hash": args_hash},
        at=utcnow(),
    )


_APPROVALS = table_of(ApprovalRow)
_DUE = (_APPROVALS.c.status == "pending", _APPROVALS.c.expires_at <= bindparam("b_now"))
_DUE_IN = (*_DUE, _APPROVALS.c.tenant_id == bindparam("b_tenant"))
"""Pending and past expiry (in one tenant): ``expire_due``'s probe runs before every read of
approvals, so its statements are built once (``threads``) with the rows' own conditions."""
_ANY_DUE, _ANY_DUE_IN = (select(_APPROVALS.c.id).where(*due).limit(1) for due in (_DUE, _DUE_IN))


class ApprovalStore:
    """Approval rows of every tenant; every read and write names the tenant."""

    def __init__(self, sessions: sessionmaker[Session], ttl_s: int) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self._ttl = timedelta(seconds=ttl_s)

    def request(
        self,
        *,
        tenant_id: str,
        thread_id: str,
        tool_call_id: str,
        tool: str,
        risk: str,
        args: dict[str, Any],
        requested_by: str,
        excerpt: str = "",
        reason: str = "",
        provenance: dict[str, Any] | None = None,
    ) -> PendingApproval:
        """The approval of one call, created once (a repeat returns it). ``reason`` is why the
        policy asks; ``provenance`` where the arguments came from (both shown to the reviewer)."""
        approval_id = approval_id_for(tenant_id, thread_id, tool_call_id)
        requested_by = normalize_name(requested_by)
        with transaction(self._sessions) as session:
            row = session.get(ApprovalRow, approval_id)
            if row is None:
                now = utcnow()
                row = ApprovalRow(
                    id=approval_id,
                    tenant_id=tenant_id,
                    thread_id=thread_id,
                    tool_call_id=tool_call_id,
                    tool=tool,
                    risk=risk,
                    args_json=canonical_json(args),
                    args_hash=args_hash(args),
                    requested_by=requested_by,
                    requested_at=now,
                    expires_at=now + self._ttl,
                    excerpt=excerpt[:2000],
                    status="pending",
                    provenance_json=_provenance_json(reason, provenance),
                )
                session.add(row)
                _audit(session, row, "requested", requested_by, args_hash=row.args_hash, tool=tool)
            elif row.args_hash != args_hash(args) or row.tool != tool:
                # A model re-sending a decided call id with new arguments must not inherit the decision.
                raise ApprovalConflict(
                    f"tool call id {tool_call_id} was already used for {row.tool} with other arguments; use a new call"
                )
            return to_view(row)

    def get(self, tenant_id: str, approval_id: str) -> PendingApproval:
        """One approval of the tenant, or ``ApprovalNotFound``."""
        with self._sessions() as session:
            return to_view(self._row(session, tenant_id, approval_id))

    def list(
        self, tenant_id: str, *, status: str | None = None, thread_id: str | None = None, tool: str | None = None
    ) -> list[PendingApproval]:
        """The tenant's approvals, newest first, by status, thread or tool (due ones are expired first)."""
        self.expire_due(tenant_id)
        query = select(ApprovalRow).where(ApprovalRow.tenant_id == tenant_id)
        if status == "approved":
            query = query.where(ApprovalRow.status.in_(_APPROVED))
        elif status:
            query = query.where(ApprovalRow.status == status)
        if thread_id:
            query = query.where(ApprovalRow.thread_id == thread_id)
        if tool:
            query = query.where(ApprovalRow.tool == tool)
        with self._sessions() as session:
            rows = session.scalars(query.order_by(ApprovalRow.requested_at.desc(), ApprovalRow.id)).all()
            return [to_view(r) for r in rows]

    # ``builtins.list``: in this class body, ``list`` names the method above.
    def events(self, tenant_id: str, approval_id: str) -> builtins.list[dict[str, Any]]:
        """The approval's audit log, oldest first: who requested, decided and executed it, and when."""
        with self._sessions() as session:
            self._row(session, tenant_id, approval_id)
            rows = session.scalars(
                select(ApprovalEventRow)
                .where(ApprovalEventRow.approval_id == approval_id)
                .order_by(ApprovalEventRow.id)
            ).all()
            return [
                {"event": r.event, "actor": r.actor, "at": r.at, "details": json.loads(r.details_json)} for r in rows
            ]

    def decide(
        self,
        tenant_id: str,
        approval_id: str,
        *,
        decision: Decision,
        decided_by: str,
        reason: str | None = None,
        edited_args: dict[str, Any] | None = None,
        customer_message: str | None = None,
    ) -> PendingApproval:
        """Record a decision once. ``edited_args`` must already be validated by the caller.
        Names compare in their canonical form (``agent.persistence.names``): ``"Agent.Demo "``
        is the requester ``agent.demo`` and may not decide its request."""
        decided_by = normalize_name(decided_by)
        with transaction(self._sessions) as session:
            row = self._row(session, tenant_id, approval_id)
            if same_person(decided_by, row.requested_by):
                raise SelfApproval(
                    f"{decided_by} requested approval {approval_id} and cannot decide it; "
                    "another reviewer must (separation of duties)"
                )
            if row.status != "pending":
                raise ApprovalConflict(f"approval {approval_id} is already {row.status} (by {row.decided_by})")
            now = utcnow()
            expires_at = row.expires_at
            if expires_at <= now:
                self._mark_expired(session, row)  # committed, then reported below
            else:
                said = (reason, (customer_message or "").strip() or None)
                return self._record_decision(session, row, decision, decided_by, said, edited_args, now)
        raise ApprovalExpired(f"approval {approval_id} expired at {expires_at:%Y-%m-%d %H:%M} UTC")

    def _record_decision(
        self,
        session: Session,
        row: ApprovalRow,
        decision: Decision,
        decided_by: str,
        said: tuple[str | None, str | None],
        edited_args: dict[str, Any] | None,
        now: datetime,
    ) -> PendingApproval:
        approval_id = row.id
        reason, customer_message = said
        effective = edited_args if decision == "edit" else json.loads(row.args_json)
        values = {
            "status": _STATUS_OF[decision],
            "decision": decision,
            "decided_by": decided_by,
            "decided_at": now,
            "reason": reason,
            "customer_message": customer_message,
            "edited_args_json": canonical_json(edited_args) if decision == "edit" else None,
            "approved_hash": args_hash(effective) if decision != "reject" else None,
        }
        # Conditional update: of two concurrent deciders exactly one sees rowcount 1.
        done = cast(
            "CursorResult[Any]",
            session.execute(
                update(ApprovalRow)
                .where(ApprovalRow.id == approval_id, ApprovalRow.status == "pending")
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        )
        if done.rowcount != 1:
            raise ApprovalConflict(f"approval {approval_id} was decided concurrently by another reviewer")
        session.refresh(row)
        event = _STATUS_OF[decision] if decision != "edit" else "edited"
        # An approval or edit is about the arguments that may now run; a rejection, the requested ones.
        decided_hash = row.approved_hash or row.args_hash
        told = {"customer_message": customer_message} if customer_message else {}
        _audit(session, row, event, decided_by, args_hash=decided_hash, reason=reason, **told)
        return to_view(row)

    def consume(self, session: Session, approval_id: str, args_hash_to_run: str, actor: str) -> None:
        """Inside the effect's transaction: use the approval once, for exactly these args."""
        done = cast(
            "CursorResult[Any]",
            session.execute(
                update(ApprovalRow)
                .where(
                    ApprovalRow.id == approval_id,
                    ApprovalRow.status == "approved",
                    ApprovalRow.approved_hash == args_hash_to_run,
                    ApprovalRow.expires_at > utcnow(),
                )
                .values(status="executed", executed_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        if done.rowcount != 1:
            row = session.get(ApprovalRow, approval_id)
            state = (
                "missing" if row is None else f"{row.status}, args hash match={row.approved_hash == args_hash_to_run}"
            )
            raise ApprovalConflict(f"approval {approval_id} cannot authorise this call ({state})")
        row = session.get(ApprovalRow, approval_id)
        assert row is not None
        _audit(session, row, "executed", actor, args_hash=args_hash_to_run)

    def record_failure(self, approval_id: str, message: str, actor: str) -> bool:
        """An approved call ran and the tool refused it (its effect rolled back): the approval is
        ``failed`` with the tool's reason, so history tells the real outcome. Only an approved,
        unconsumed approval changes; returns whether this one did."""
        with transaction(self._sessions) as session:
            done = cast(
                "CursorResult[Any]",
                session.execute(
                    update(ApprovalRow)
                    .where(ApprovalRow.id == approval_id, ApprovalRow.status == "approved")
                    .values(status="failed", outcome=message[:2000], executed_at=utcnow())
                    .execution_options(synchronize_session=False)
                ),
            )
            if done.rowcount != 1:
                return False
            row = session.get(ApprovalRow, approval_id)
            assert row is not None
            _audit(session, row, "failed", actor, args_hash=row.approved_hash or row.args_hash, outcome=message[:500])
            return True

    def count_by_status(self) -> dict[str, int]:
        """How many approvals are in each status, over all tenants (for metrics)."""
        self.expire_due()
        with self._sessions() as session:
            rows = session.execute(select(ApprovalRow.status, func.count()).group_by(ApprovalRow.status)).all()
        return {status: int(n) for status, n in rows}

    def expire_due(self, tenant_id: str | None = None) -> int:
        """Mark pending approvals past their expiry as expired (audited).

        Called before every read of approvals, so it first looks with a read: the write
        transaction (a lock on SQLite, a commit everywhere) is opened only when one is due."""
        due, parameters = (
            (_DUE_IN, {"b_now": utcnow(), "b_tenant": tenant_id}) if tenant_id else (_DUE, {"b_now": utcnow()})
        )
        with self._engine.connect() as conn:
            if conn.execute(_ANY_DUE_IN if tenant_id else _ANY_DUE, parameters).first() is None:
                return 0
        with transaction(self._sessions) as session:
            rows = session.scalars(select(ApprovalRow).where(*due), parameters).all()
            for row in rows:
                self._mark_expired(session, row)
            return len(rows)

    def _mark_expired(self, session: Session, row: ApprovalRow) -> None:
        row.status = "expired"
        row.reason = "approval expired before a decision"
        _audit(session, row, "expired", "system", args_hash=row.args_hash)

    def _row(self, session: Session, tenant_id: str, approval_id: str) -> ApprovalRow:
        row = session.get(ApprovalRow, approval_id)
        if row is None or row.tenant_id != tenant_id:
            raise ApprovalNotFound(f"no approval {approval_id} in tenant {tenant_id}; see `tiller approvals list`")
        return row
