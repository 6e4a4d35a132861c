"""The idempotency ledger: a side effect, its key and its result commit in one transaction.

``run_once`` is called inside the transaction that performs the effect. If the key is already
recorded, the recorded result is returned and nothing runs. Otherwise the effect runs and its
result is recorded under a primary-key constraint: a concurrent duplicate fails at commit, rolls
back its own effect, and the caller reads the recorded result (``recorded_result``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from tools.canonical import canonical_json, digest
from tools.db import Base, UTCDateTime, transaction
from tools.errors import OutcomeUnknown, ToolError, ToolUnavailable

SENT = "__tiller_sent__"
"""The result of a remote call that was sent and whose outcome is not recorded (yet)."""
_SENT_JSON = json.dumps({SENT: True})
_ANSWERED = ("invalid_arguments", "business_rule", "not_found", "tool_error", "refused")
"""Error kinds that mean the remote side answered and refused: nothing was applied."""


class ToolEffect(Base):
    """One executed side effect, keyed by its idempotency key."""

    __tablename__ = "tool_effects"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    thread_id: Mapped[str] = mapped_column(String(128))
    tool_call_id: Mapped[str] = mapped_column(String(128))
    tool: Mapped[str] = mapped_column(String(64))
    args_hash: Mapped[str] = mapped_column(String(64))
    result_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


def idempotency_key(tenant_id: str, thread_id: str, tool_call_id: str, tool: str, args: Any) -> str:
    """Derived from tenant, thread, tool call id and canonical args (DESIGN, exactly-once)."""
    return digest(tenant_id, thread_id, tool_call_id, tool, canonical_json(args))


def recorded_result(session: Session, key: str) -> dict[str, Any] | None:
    """The result recorded under an idempotency key, if the effect ran before."""
    row = session.get(ToolEffect, key)
    return None if row is None else json.loads(row.result_json)


def run_once(
    session: Session,
    *,
    key: str,
    tenant_id: str,
    thread_id: str,
    tool_call_id: str,
    tool: str,
    args_hash: str,
    effect: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Run ``effect`` unless ``key`` is recorded; return ``(result, replayed)``."""
    previous = recorded_result(session, key)
    if previous is not None:
        return previous, True
    result = effect()
    session.add(
        ToolEffect(
            key=key,
            tenant_id=tenant_id,
            thread_id=thread_id,
            tool_call_id=tool_call_id,
            tool=tool,
            args_hash=args_hash,
            result_json=json.dumps(result, sort_keys=True),
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    return result, False


def unknown_outcomes(
    sessions: sessionmaker[Session], *, tenant_id: str, thread_id: str, tool: str, args_hash: str
) -> list[str]:
    """The call ids of ``tool`` calls with these arguments in this thread that were sent and
    whose outcome was never recorded (``execute_remote_once``), oldest first: another call like
    them may do the same thing twice."""
    query = (
        select(ToolEffect.tool_call_id)
        .where(ToolEffect.tenant_id == tenant_id, ToolEffect.thread_id == thread_id)
        .where(ToolEffect.tool == tool, ToolEffect.args_hash == args_hash, ToolEffect.result_json == _SENT_JSON)
        .order_by(ToolEffect.created_at)
    )
    with sessions() as session:
        return list(session.scalars(query))


def execute_remote_once(
    sessions: sessionmaker[Session],
    *,
    key: str,
    tenant_id: str,
    thread_id: str,
    tool_call_id: str,
    tool: str,
    args_hash: str,
    effect: Callable[[Session], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """``execute_once`` for an effect outside Tiller's database: the call is recorded as sent,
    in its own commit, before ``effect`` runs; its result replaces that record when it commits.

    A key found *sent* without a result — the process died between sending and recording, or the
    answer was lost — raises :class:`OutcomeUnknown` instead of sending again: only a person
    (a reviewer checking the remote system) can tell whether it ran. A call the remote side
    refused (an error it answered with) drops the record, so asking again sends again.
    """
    row = dict(tenant_id=tenant_id, thread_id=thread_id, tool_call_id=tool_call_id, tool=tool, args_hash=args_hash)
    with transaction(sessions) as session:
        previous = recorded_result(session, key)
        if previous is None:
            session.add(ToolEffect(key=key, result_json=_SENT_JSON, created_at=datetime.now(UTC), **row))
    if previous is not None and SENT not in previous:
        return previous, True
    if previous is not None:
        raise OutcomeUnknown(
            f"{tool} was sent before and its outcome was never recorded (the process stopped or the answer was lost); "
            "it is not sent again: check the remote system, then ask for a new call if it did not run"
        )
    try:
        with transaction(sessions) as session:
            result = effect(session)
            stored = session.get(ToolEffect, key)
            assert stored is not None  # committed above; only this call holds the key
            stored.result_json = json.dumps(result, sort_keys=True)
    except ToolError as exc:
        if exc.kind in _ANSWERED:  # answered and refused: nothing ran, the key may be used again
            with transaction(sessions) as session:
                session.query(ToolEffect).filter_by(key=key).delete()
        raise
    return result, False


def execute_once(
    sessions: sessionmaker[Session],
    *,
    key: str,
    tenant_id: str,
    thread_id: str,
    tool_call_id: str,
    tool: str,
    args_hash: str,
    effect: Callable[[Session], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Run ``effect(session)`` in its own transaction under ``key`` (see ``run_once``); when a
    concurrent duplicate committed first, ours rolled back and the recorded result is returned.
    Returns ``(result, replayed)``."""
    try:
        with transaction(sessions) as session:
            return run_once(
                session,
                key=key,
                tenant_id=tenant_id,
                thread_id=thread_id,
                tool_call_id=tool_call_id,
                tool=tool,
                args_hash=args_hash,
                effect=lambda: effect(session),
            )
    except IntegrityError:
        with sessions() as session:
            recorded = recorded_result(session, key)
        if recorded is None:
            raise ToolUnavailable(f"{tool}: conflicting write, try again") from None
        return recorded, True
