"""The approval audit log is a per-tenant hash chain: intact when untouched, and any edit,
deletion or reordering is named by ``tiller audit verify``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from agent.config import Settings
from agent.errors import ApprovalConflict
from agent.interfaces.cli.app import app
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.persistence import audit
from agent.persistence.approvals import ApprovalStore
from agent.persistence.database import open_database
from agent.persistence.migrations import alembic_config, upgrade
from agent.persistence.tables import ApprovalEventRow, create_store_schema
from agent.runtime import Tiller
from tests.conftest import POSTGRES_URL
from tools.canonical import args_hash
from tools.db import make_engine, make_session_factory, transaction

REFUND = {"order_id": "W1000001", "amount": "129.99", "reason": "damaged"}
LOOKUP_THEN_REFUND = [
    {"tool_calls": [{"name": "get_order", "args": {"order_id": "W1000001"}}]},
    {"tool_calls": [{"name": "issue_refund", "args": REFUND}]},
    "Your refund has been processed.",
]


class Log:
    """The audit log of one database: its approval store, and raw SQL for tampering with it."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self.engine, self.sessions = engine, sessions
        self.store = ApprovalStore(sessions, ttl_s=600)

    def request(self, n: int, tenant: str = "acme") -> str:
        return self.store.request(
            tenant_id=tenant,
            thread_id=f"t{n}",
            tool_call_id="call_1",
            tool="issue_refund",
            risk="high_risk",
            args={"order_id": f"W{1000000 + n}", "amount": "10.00", "reason": "damaged"},
            requested_by="agent.demo",
        ).id

    def sql(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    def ids(self, tenant: str = "acme") -> list[int]:
        return [r[0] for r in self.sql("SELECT id FROM approval_events WHERE tenant_id = :t ORDER BY id", t=tenant)]

    def verify(self, tenant: str | None = None, **kwargs: Any) -> audit.VerifyReport:
        return audit.verify(self.sessions, tenant, **kwargs)


@pytest.fixture
def log(settings: Settings) -> Iterator[Log]:
    engine, sessions = open_database(settings.db_url)
    yield Log(engine, sessions)
    engine.dispose()


@pytest.fixture
def three_decisions(log: Log) -> Log:
    """Three approvals of acme: approved, rejected, edited — six entries."""
    first, second, third = log.request(1), log.request(2), log.request(3)
    log.store.decide("acme", first, decision="approve", decided_by="rita")
    log.store.decide("acme", second, decision="reject", decided_by="rita", reason="needs photos")
    edited = {"order_id": "W1000003", "amount": "5.00", "reason": "damaged"}
    log.store.decide("acme", third, decision="edit", decided_by="sam", edited_args=edited)
    return log


@pytest.fixture
def tiller_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("TILLER_HOME", str(settings.home))
    monkeypatch.setenv("COLUMNS", "80")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["audit", *args], catch_exceptions=False)


def test_an_approved_refund_leaves_an_intact_chain_of_its_events(settings: Settings) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        paused = tiller.ask("refund W1000001, it arrived damaged", thread_id="t-audit")
        [approval] = paused.pending_approvals
        tiller.decide(approval.id, decision="approve", decided_by="rita")
        assert tiller.resume("t-audit").status is RunStatus.COMPLETED
        report = audit.verify(tiller.sessions)
        entries = audit.recent(tiller.sessions, approval_id=approval.id)[::-1]
    assert report.ok and report.entries == 3
    [head] = report.heads
    assert (head.tenant_id, head.seq, head.entry_hash) == ("acme", 3, entries[-1].entry_hash)
    assert [(e.seq, e.event, e.actor) for e in entries] == [
        (1, "requested", "agent.demo"),
        (2, "approved", "rita"),
        (3, "executed", "agent.demo"),
    ]
    assert {e.args_hash for e in entries} == {args_hash(REFUND)}
    assert [e.prev_hash for e in entries] == [audit.GENESIS, entries[0].entry_hash, entries[1].entry_hash]
    assert all(e.tenant_id == "acme" and e.at.tzinfo is not None for e in entries)


def test_every_event_carries_the_hash_of_the_arguments_it_is_about(three_decisions: Log) -> None:
    log = three_decisions
    expiring = ApprovalStore(log.sessions, ttl_s=-1)
    gone = expiring.request(
        tenant_id="acme", thread_id="t9", tool_call_id="c", tool="t", risk="high_risk", args={"a": 1}, requested_by="x"
    ).id
    assert expiring.expire_due("acme") == 1
    rows = {(r.approval_id, r.event): r.args_hash for r in audit.recent(log.sessions)}
    approvals = {a.id: a for a in log.store.list("acme", status=None)}
    for (approval_id, event), hashed in rows.items():
        a = approvals[approval_id]
        expected = a.args_hash if event in ("requested", "rejected", "expired") else args_hash(a.edited_args or a.args)
        assert hashed == expected, (approval_id, event)
    assert len(rows) == 8 and rows[(gone, "expired")] == args_hash({"a": 1})
    assert log.verify().ok


def test_a_changed_actor_or_detail_is_named_as_modified(three_decisions: Log, tiller_cli: Callable[..., Any]) -> None:
    log = three_decisions
    ids = log.ids()
    intact = tiller_cli("verify")
    assert (
        intact.exit_code == 0
        and f"audit log intact: 6 entries, head {log.verify().heads[0].entry_hash}" in intact.output
    )

    log.sql("UPDATE approval_events SET actor = 'mallory' WHERE id = :id", id=ids[3])
    report = log.verify()
    assert not report.ok and [(b.entry_id, b.seq, b.kind) for b in report.breaks] == [(ids[3], 4, "modified")]
    out = tiller_cli("verify")
    assert out.exit_code == 1
    assert f"entry {ids[3]} (tenant acme, #4) modified" in out.output and "intact" not in out.output

    log.sql("UPDATE approval_events SET actor = 'rita' WHERE id = :id", id=ids[3])  # put back: intact again
    assert log.verify().ok
    log.sql("UPDATE approval_events SET details_json = '{}' WHERE id = :id", id=ids[1])
    assert [(b.entry_id, b.kind) for b in log.verify().breaks] == [(ids[1], "modified")]


def test_a_deleted_middle_entry_is_named_by_the_entry_after_the_gap(three_decisions: Log) -> None:
    log = three_decisions
    ids = log.ids()
    log.sql("DELETE FROM approval_events WHERE id IN (:a, :b)", a=ids[2], b=ids[3])
    [broken] = log.verify().breaks
    assert (broken.entry_id, broken.kind) == (ids[4], "deleted")
    assert "#3..#4" in broken.detail


def test_swapped_entries_are_named_as_reordered(three_decisions: Log) -> None:
    log = three_decisions
    ids = log.ids()
    log.sql("UPDATE approval_events SET id = -1 WHERE id = :id", id=ids[1])
    log.sql("UPDATE approval_events SET id = :old WHERE id = :id", old=ids[1], id=ids[2])
    log.sql("UPDATE approval_events SET id = :old WHERE id = -1", old=ids[2])
    [broken] = log.verify().breaks
    assert (broken.entry_id, broken.seq, broken.kind) == (ids[1], 3, "reordered")
    assert f"#2 is stored after it (entry {ids[2]})" in broken.detail


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_link_after_it(three_decisions: Log) -> None:
    log = three_decisions
    ids = log.ids()
    with log.sessions() as session, session.begin():
        row = session.get(ApprovalEventRow, ids[2])
        assert row is not None
        row.actor = "mallory"
        row.entry_hash = audit.hash_of_row(row)  # the row itself is consistent again…
    [broken] = log.verify().breaks  # … but the next one still points at the old hash
    assert (broken.entry_id, broken.kind) == (ids[3], "unlinked")
    assert f"entry {ids[2]}" in broken.detail


def test_a_cut_tail_is_caught_by_an_exported_head(three_decisions: Log, tiller_cli: Callable[..., Any]) -> None:
    log = three_decisions
    exported = log.verify().heads[0].entry_hash
    assert tiller_cli("verify", "--expect-head", exported).exit_code == 0
    log.sql("DELETE FROM approval_events WHERE id = :id", id=log.ids()[-1])
    assert log.verify().ok  # the chain alone cannot tell its newest entry is gone
    report = log.verify(expect_head=exported)
    assert not report.ok and report.missing_head == exported
    out = tiller_cli("verify", "--expect-head", exported)
    assert out.exit_code == 1 and "rewritten or cut short" in out.output


def test_each_tenant_has_its_own_chain(log: Log, tiller_cli: Callable[..., Any]) -> None:
    for n in range(3):
        log.request(n, "acme")
        log.request(n, "globex")
    assert [h.seq for h in log.verify().heads] == [3, 3]
    log.sql("UPDATE approval_events SET actor = 'mallory' WHERE id = :id", id=log.ids("globex")[1])
    assert log.verify("acme").ok and not log.verify("globex").ok
    assert [b.tenant_id for b in log.verify().breaks] == ["globex"]
    assert tiller_cli("verify", "--tenant", "acme").exit_code == 0
    assert tiller_cli("verify").exit_code == 1


def test_list_shows_entries_newest_first_within_80_columns(
    three_decisions: Log, tiller_cli: Callable[..., Any]
) -> None:
    approval_id = three_decisions.store.list("acme", status="approved")[0].id
    out = tiller_cli("list")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert max(map(len, lines)) <= 80, out.output
    body = "\n".join(lines)
    assert body.index("edited") < body.index("rejected") < body.index("requested")
    assert approval_id in body and "rita" in body and "acme" in body
    one = tiller_cli("list", "--approval", approval_id, "--limit", "1")
    assert one.exit_code == 0 and approval_id in one.output and one.output.count("apr_") == 2  # title + the row


def test_verify_says_what_to_do_without_a_database_or_with_an_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILLER_HOME", str(tmp_path / ".tiller"))
    missing = CliRunner().invoke(app, ["audit", "verify"])
    assert missing.exit_code == 2 and "no Tiller database" in missing.output
    (tmp_path / ".tiller").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / '.tiller' / 'tiller.db'}")
    command.upgrade(alembic_config(engine), "0001")  # made by an older Tiller, not upgraded
    engine.dispose()
    old = CliRunner().invoke(app, ["audit", "verify"])
    assert old.exit_code == 2 and "tiller db upgrade" in old.output
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    empty = CliRunner().invoke(app, ["audit", "verify"])
    assert empty.exit_code == 0 and "audit log intact: 0 entries" in empty.output


OLD_APPROVALS = [  # id, tenant, tool call, status, decision, approved hash
    ("apr_a", "acme", "c1", "executed", "edit", "h-ed"),
    ("apr_b", "globex", "c2", "rejected", "reject", None),
]
OLD_EVENTS = [  # approval, tenant, event, actor, at, details
    ("apr_a", "acme", "requested", "agent", "2026-01-01 10:00:00.123456", '{"args_hash": "h-req", "tool": "t"}'),
    ("apr_b", "globex", "requested", "agent", "2026-01-01 10:00:01", '{"args_hash": "h-req", "tool": "t"}'),
    ("apr_a", "acme", "edited", "rita", "2026-01-01 10:01:00", '{"reason": null}'),
    ("apr_b", "globex", "rejected", "rita", "2026-01-01 10:01:00", '{"reason": "no"}'),
    ("apr_a", "acme", "executed", "agent", "2026-01-01 10:02:00", '{"args_hash": "h-ed"}'),
]


def _old_rows(engine: Engine) -> None:
    """Rows as revision 0001 wrote them: no chain columns."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO approvals (id, tenant_id, thread_id, tool_call_id, tool, risk, args_json, args_hash,"
                " requested_by, requested_at, expires_at, excerpt, status, decision, approved_hash) VALUES"
                " (:id, :t, 'th', :c, 't', 'high_risk', '{}', 'h-req', 'agent', :at, :at, '', :s, :d, :ah)"
            ),
            [
                dict(zip(("id", "t", "c", "s", "d", "ah"), a, strict=True), at="2026-01-01 10:00:00")
                for a in OLD_APPROVALS
            ],
        )
        conn.execute(
            text(
                "INSERT INTO approval_events (approval_id, tenant_id, event, actor, at, details_json)"
                " VALUES (:a, :t, :e, :who, :at, :d)"
            ),
            [dict(zip(("a", "t", "e", "who", "at", "d"), e, strict=True)) for e in OLD_EVENTS],
        )


def _upgrade_old_database(engine: Engine) -> sessionmaker[Session]:
    command.upgrade(alembic_config(engine), "0001")
    _old_rows(engine)
    assert upgrade(engine) == "database at revision 0005"
    return make_session_factory(engine)


def test_the_migration_chains_existing_entries(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    sessions = _upgrade_old_database(engine)
    report = audit.verify(sessions)
    assert (
        report.ok
        and report.entries == 5
        and [(h.tenant_id, h.seq) for h in report.heads] == [("acme", 3), ("globex", 2)]
    )
    assert [(r.event, r.args_hash) for r in audit.recent(sessions, tenant="acme")] == [
        ("executed", "h-ed"),
        ("edited", "h-ed"),
        ("requested", "h-req"),
    ]
    log = Log(engine, sessions)
    log.request(7)  # new entries continue the migrated chain
    assert log.verify().ok and log.verify("acme").heads[0].seq == 4
    command.downgrade(alembic_config(engine), "0001")
    assert upgrade(engine) == "database at revision 0005" and audit.verify(sessions).ok
    engine.dispose()


@contextmanager
def _postgres_schema() -> Iterator[Engine]:
    """An engine on a fresh, empty PostgreSQL schema, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("TILLER_TEST_POSTGRES_URL is not set (CI sets it)")
    schema = f"tiller_audit_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_migration_chains_entries_and_refuses_updates_and_deletes() -> None:
    with _postgres_schema() as engine:
        log = Log(engine, _upgrade_old_database(engine))
        assert log.verify().ok
        for statement in (
            "UPDATE approval_events SET actor = 'mallory'",
            "DELETE FROM approval_events WHERE tenant_id = 'globex'",
            "TRUNCATE approval_events",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                log.sql(statement)
        # The table's owner can switch the trigger off; the chain still shows what was done.
        log.sql("ALTER TABLE approval_events DISABLE TRIGGER approval_events_append_only")
        log.sql("UPDATE approval_events SET actor = 'mallory' WHERE seq = 2 AND tenant_id = 'acme'")
        assert [(b.tenant_id, b.seq, b.kind) for b in log.verify().breaks] == [("acme", 2, "modified")]


def _backend(name: str) -> Any:
    return pytest.param(name, marks=[pytest.mark.postgres] if name == "postgres" else [])


@contextmanager
def _log_on(backend: str, tmp_path: Path) -> Iterator[Log]:
    if backend == "sqlite":
        engine, sessions = open_database(f"sqlite:///{tmp_path / 'audit.db'}")
        yield Log(engine, sessions)
        engine.dispose()
        return
    with _postgres_schema() as engine:
        create_store_schema(engine)
        yield Log(engine, make_session_factory(engine))


@pytest.mark.parametrize("backend", [_backend("sqlite"), _backend("postgres")])
def test_concurrent_requests_and_decisions_leave_valid_chains(backend: str, tmp_path: Path) -> None:
    def tenant(n: int) -> str:
        return "acme" if n % 2 else "globex"

    with _log_on(backend, tmp_path) as log:
        start = threading.Barrier(10)

        def request(n: int) -> str:
            start.wait()
            return log.request(n, tenant(n))

        with ThreadPoolExecutor(10) as pool:
            ids = list(pool.map(request, range(10)))

        def request_and_decide(n: int) -> str:
            start.wait()
            log.request(10 + n, tenant(n))
            try:  # two reviewers race on each of five approvals: one wins, the other leaves no entry
                log.store.decide(tenant(n // 2), ids[n // 2], decision="approve", decided_by=f"rev{n}")
            except ApprovalConflict:
                return "lost"
            return "won"

        with ThreadPoolExecutor(10) as pool:
            outcomes = list(pool.map(request_and_decide, range(10)))
        report = log.verify()
    assert report.ok, report.breaks
    assert outcomes.count("won") == 5 and report.entries == 25
    # acme: 5 + 5 requests, 2 decisions; globex: 5 + 5 requests, 3 decisions
    assert sorted((h.tenant_id, h.seq) for h in report.heads) == [("acme", 12), ("globex", 13)]


@pytest.mark.parametrize("backend", [_backend("sqlite"), _backend("postgres")])
def test_appends_in_transactions_that_wrote_nothing_yet_are_serialised(backend: str, tmp_path: Path) -> None:
    """``append`` must lock the chain itself, not rely on an earlier write having locked the database."""
    with _log_on(backend, tmp_path) as log:
        start = threading.Barrier(10)

        def append(n: int) -> None:
            start.wait()
            for i in range(5):
                with transaction(log.sessions) as session:
                    audit.append(
                        session,
                        tenant_id="acme",
                        approval_id=f"apr_{n}",
                        event="requested",
                        actor="a",
                        args_hash="h",
                        details={"i": i},
                    )

        with ThreadPoolExecutor(10) as pool:
            list(pool.map(append, range(10)))
        report = log.verify()
    assert report.ok and report.entries == 50 and report.heads[0].seq == 50


def test_the_runtime_refuses_an_old_schema_with_the_fix_instead_of_failing_at_the_first_approval(
    tmp_path: Path,
) -> None:
    from agent.errors import DatabaseUnavailable
    from agent.persistence.database import open_database

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0001")  # an older Tiller's database, not upgraded
    with pytest.raises(
        DatabaseUnavailable, match=r"older Tiller \(.*approval_events: seq, args_hash.*tiller db upgrade"
    ):
        open_database(url)
    assert upgrade(engine) == "database at revision 0005"
    engine.dispose()
    engine, _ = open_database(url)  # upgraded: opens
    engine.dispose()
