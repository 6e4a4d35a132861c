"""A remote effect (an MCP server, a LangChain tool calling an API) cannot commit with its ledger
row: the ledger records it as sent first, and a call found sent without a result is never sent
again — its outcome is unknown, and the runtime says so instead of guessing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tools import ledger
from tools.db import Base, make_engine, make_session_factory
from tools.errors import BusinessRuleViolation, OutcomeUnknown, ToolUnavailable
from tools.ledger import SENT, ToolEffect


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    Base.metadata.create_all(engine, tables=[ToolEffect.__table__])  # type: ignore[list-item]  # a Table
    return make_session_factory(engine)


SENT_LOG: list[str] = []


def _send(outcome: Any = None) -> Any:
    def effect(_: Session) -> dict[str, Any]:
        SENT_LOG.append("sent")
        if isinstance(outcome, Exception):
            raise outcome
        return {"ok": True}

    return effect


def _call(sessions: sessionmaker[Session], effect: Any, key: str = "k1") -> tuple[dict[str, Any], bool]:
    return ledger.execute_remote_once(
        sessions,
        key=key,
        tenant_id="t",
        thread_id="th",
        tool_call_id="c1",
        tool="tag_item",
        args_hash="h",
        effect=effect,
    )


def _rows(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return [r.result_json for r in session.scalars(select(ToolEffect))]


def test_a_sent_call_is_recorded_before_it_goes_and_replayed_after(sessions: sessionmaker[Session]) -> None:
    SENT_LOG.clear()

    def effect(session: Session) -> dict[str, Any]:
        # While the remote call is under way, the ledger already says it was sent (its own commit).
        with sessions() as other:
            assert SENT in (ledger.recorded_result(other, "k1") or {})
        return _send()(session)

    assert _call(sessions, effect) == ({"ok": True}, False)
    assert _call(sessions, _send()) == ({"ok": True}, True)  # a resume: the recorded result, nothing sent
    assert SENT_LOG == ["sent"] and len(_rows(sessions)) == 1


def test_a_lost_answer_is_never_sent_again(sessions: sessionmaker[Session]) -> None:
    SENT_LOG.clear()
    with pytest.raises(ToolUnavailable):
        _call(sessions, _send(ToolUnavailable("connection dropped mid-call")))
    with pytest.raises(OutcomeUnknown, match="not sent again"):
        _call(sessions, _send())  # the same call resumed: it may have run; a person must check
    assert SENT_LOG == ["sent"]
    assert _call(sessions, _send(), key="k2") == ({"ok": True}, False)  # a new call is a new key


def test_a_refusal_of_the_remote_side_frees_the_key(sessions: sessionmaker[Session]) -> None:
    SENT_LOG.clear()
    with pytest.raises(BusinessRuleViolation):
        _call(sessions, _send(BusinessRuleViolation("locked", "item is locked")))
    assert _rows(sessions) == []  # it answered and refused: nothing ran
    assert _call(sessions, _send()) == ({"ok": True}, False)
    assert SENT_LOG == ["sent", "sent"]
