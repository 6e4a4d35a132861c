"""The reviewer's API: list, show, approve / reject / edit, and the thread continuing on its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from agent.interfaces.service.context import ServiceContext
from agent.persistence.tables import ApprovalRow
from tests.agent.interfaces.service.conftest import MakeKey, stream
from tests.agent.interfaces.service.test_service_auth import paused_refund
from tools.commerce.models import Order, Refund


def refunded_cents(ctx: ServiceContext, order_id: str) -> list[int]:
    with ctx.tiller.sessions() as session:
        query = select(Refund.amount_cents).join(Order, Refund.order_id == Order.id).where(Order.public_id == order_id)
        return sorted(session.scalars(query).all())


def test_list_filters_and_show_details(client: TestClient, make_key: MakeKey) -> None:
    nora, rita = make_key("user", "nora.list"), make_key("reviewer", "rita.list")
    thread, approval = paused_refund(client, nora, "refund $2 on order W1000004, it arrived damaged")
    pending = client.get("/v1/approvals", headers=rita).json()
    assert pending[0]["id"] == approval  # newest first
    assert all(a["status"] == "pending" for a in pending)
    assert approval in [
        a["id"] for a in client.get("/v1/approvals?tool=issue_refund&max_age_s=600", headers=rita).json()
    ]
    assert client.get("/v1/approvals?tool=cancel_order", headers=rita).json() == []
    assert approval not in [a["id"] for a in client.get("/v1/approvals?min_age_s=3600", headers=rita).json()]
    assert client.get("/v1/approvals?status=bogus", headers=rita).status_code == 422

    shown = client.get(f"/v1/approvals/{approval}", headers=rita).json()
    assert shown["args"] == {"order_id": "W1000004", "amount": "2", "reason": "damaged"} or shown["args"]["amount"] in (
        "2",
        "2.00",
    )
    assert (shown["tool"], shown["risk"], shown["requested_by"]) == ("issue_refund", "high_risk", "nora.list")
    assert shown["excerpt"] == "refund $2 on order W1000004, it arrived damaged"
    assert 86000 < shown["seconds_left"] <= 86400
    assert shown["conversation"][0] == {
        "role": "user",
        "content": "refund $2 on order W1000004, it arrived damaged",
        "tool_calls": [],
        "tool": None,
    }
    assert [m["role"] for m in shown["conversation"]] == ["user", "assistant", "tool", "assistant"]
    assert [e["event"] for e in shown["audit"]] == ["requested"]
    assert shown["thread_id"] == thread


def test_approving_resumes_the_thread_and_its_stream_shows_the_continuation(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext
) -> None:
    olga, rita = make_key("user", "olga.approve"), make_key("reviewer", "rita.approve")
    before = refunded_cents(ctx, "W1000004")
    thread, approval = paused_refund(client, olga, "refund $3 on order W1000004, it arrived damaged")
    decided = client.post(f"/v1/approvals/{approval}/approve", json={"reason": "photo checks out"}, headers=rita)
    assert decided.status_code == 200, decided.text
    assert decided.json()["resuming"] is True
    assert (decided.json()["approval"]["status"], decided.json()["approval"]["decided_by"]) == (
        "approved",
        "rita.approve",
    )

    events = stream(client, "GET", f"/v1/threads/{thread}/events", olga)
    assert events[-1][0] == "status" and events[-1][1]["status"] == "completed"
    if events[0][1]["status"] == "running":  # caught the continuation while it ran: every step is there
        kinds = [k for k, _ in events]
        assert {"approval_decided", "tool_result", "final"} <= set(kinds)
    assert "Refunded $3.00" in events[-1][1]["answer"]
    assert refunded_cents(ctx, "W1000004") == sorted([*before, 300])

    twice = client.post(f"/v1/approvals/{approval}/approve", headers=make_key("reviewer", "sam.late"))
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "approval_conflict"
    assert "already executed" in twice.json()["error"]["message"]
    assert 'tiller_approvals_decided_total{decision="approve",tool="issue_refund"}' in client.get("/metrics").text


def test_rejecting_needs_a_reason_and_the_agent_is_told(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext
) -> None:
    pia, rita = make_key("user", "pia.reject"), make_key("reviewer", "rita.reject")
    before = refunded_cents(ctx, "W1000004")
    thread, approval = paused_refund(client, pia, "refund $4 on order W1000004, it arrived damaged")
    no_reason = client.post(f"/v1/approvals/{approval}/reject", json={}, headers=rita)
    assert no_reason.status_code == 422 and no_reason.json()["error"]["fields"][0]["field"] == "reason"
    blank = client.post(f"/v1/approvals/{approval}/reject", json={"reason": "  "}, headers=rita)
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "reason_required"
    body = {"reason": "no photo of the damage", "customer_message": "Please reply with a photo of the damage."}
    # Follow from the paused run's last event (SSE's Last-Event-ID): the stream then replays the
    # continuation's every event, however fast it ran after the decision.
    channel = ctx.hub.channel(thread)
    paused_at = channel.id_before(channel.seq)
    assert paused_at is not None
    rejected = client.post(f"/v1/approvals/{approval}/reject", json=body, headers=rita)
    assert rejected.status_code == 200 and rejected.json()["approval"]["status"] == "rejected"
    events = stream(client, "GET", f"/v1/threads/{thread}/events", {**pia, "Last-Event-ID": paused_at})
    assert events[-1][1]["status"] == "completed"
    answer = events[-1][1]["answer"]
    assert "Please reply with a photo of the damage." in answer and "no photo of the damage" not in answer
    decided = [data for kind, data in events if kind == "approval_decided"]
    assert decided and "reason" not in decided[0], [k for k, _ in events]
    # The internal note is nowhere the customer reads: the stream (the run's result in its `status`
    # event included) and the thread as the API shows it.
    assert "no photo of the damage" not in json.dumps(events)
    assert "no photo of the damage" not in client.get(f"/v1/threads/{thread}", headers=pia).text
    assert refunded_cents(ctx, "W1000004") == before
    history = client.get("/v1/approvals?status=rejected", headers=rita).json()
    assert [(a["id"], a["decided_by"], a["reason"]) for a in history if a["id"] == approval] == [
        (approval, "rita.reject", "no photo of the damage")
    ]


def test_editing_validates_the_new_arguments_and_runs_them(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext
) -> None:
    quinn, rita = make_key("user", "quinn.edit"), make_key("reviewer", "rita.edit")
    before = refunded_cents(ctx, "W1000004")
    thread, approval = paused_refund(client, quinn, "refund $9 on order W1000004, it arrived damaged")
    invalid = client.post(f"/v1/approvals/{approval}/edit", json={"args": {"amount": "-5"}}, headers=rita)
    assert invalid.status_code == 422, invalid.text
    error = invalid.json()["error"]
    assert error["code"] == "invalid_edit" and error["fields"][0]["field"] == "args.amount"
    assert "amount" in error["message"]
    unknown = client.post(f"/v1/approvals/{approval}/edit", json={"args": {"colour": "red"}}, headers=rita)
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]["message"]
    empty = client.post(f"/v1/approvals/{approval}/edit", json={"args": {}}, headers=rita)
    assert empty.status_code == 422

    edited = client.post(f"/v1/approvals/{approval}/edit", json={"args": {"amount": "6.50"}}, headers=rita)
    assert edited.status_code == 200, edited.text
    assert edited.json()["approval"]["edited_args"]["amount"] in ("6.5", "6.50")
    events = stream(client, "GET", f"/v1/threads/{thread}/events", quinn)
    assert events[-1][1]["status"] == "completed" and "$6.50" in events[-1][1]["answer"]
    assert refunded_cents(ctx, "W1000004") == sorted([*before, 650])


def test_an_expired_approval_cannot_be_decided(client: TestClient, make_key: MakeKey, ctx: ServiceContext) -> None:
    rosa, rita = make_key("user", "rosa.expired"), make_key("reviewer", "rita.expired")
    _, approval = paused_refund(client, rosa, "refund $1 on order W1000004, it arrived damaged")
    with ctx.tiller.sessions() as session, session.begin():
        past = datetime.now(UTC) - timedelta(minutes=1)
        session.execute(update(ApprovalRow).where(ApprovalRow.id == approval).values(expires_at=past))
    late = client.post(f"/v1/approvals/{approval}/approve", headers=rita)
    assert late.status_code == 409 and late.json()["error"]["code"] == "approval_expired"
    with ctx.tiller.sessions() as session:
        assert session.scalar(select(func.count()).where(ApprovalRow.id == approval, ApprovalRow.status == "expired"))


def test_a_thread_decided_elsewhere_continues_when_followed(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext
) -> None:
    """Decided through the CLI (or before a restart): nobody resumed it; following it does."""
    tess = make_key("user", "tess.elsewhere")
    thread, approval = paused_refund(client, tess, "refund $1 on order W1000004, it arrived damaged")
    ctx.tiller.decide(approval, decision="approve", decided_by="rita", tenant="acme")
    posted = client.post(f"/v1/threads/{thread}/messages", json={"content": "and?"}, headers=tess)
    assert (
        posted.status_code == 409 and "continuing after its approvals were decided" in posted.json()["error"]["message"]
    )
    events = stream(client, "GET", f"/v1/threads/{thread}/events", tess)
    assert events[-1][1]["status"] == "completed" and "Refunded $1.00" in events[-1][1]["answer"]


def test_approving_a_call_that_breaks_a_blocking_rule_is_a_409_and_an_edit_that_passes_goes_through(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext
) -> None:
    rosa, rita = make_key("user", "rosa.blocked"), make_key("reviewer", "rita.blocked")
    before = refunded_cents(ctx, "W1000004")
    thread, approval = paused_refund(client, rosa, "refund $5000 on order W1000004, it arrived damaged")
    shown = client.get(f"/v1/approvals/{approval}", headers=rita).json()
    [failing] = [c for c in shown["context"]["checks"] if c["blocking"] and not c["passed"]]
    refused = client.post(f"/v1/approvals/{approval}/approve", json={}, headers=rita)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "approval_blocked"
    assert error["message"].startswith("issue_refund cannot be approved as requested: " + failing["message"])
    assert error["message"].endswith("Edit its arguments so they pass the rule, or reject it.")
    assert ctx.tiller.approvals.get("acme", approval).status == "pending"
    assert [e["event"] for e in client.get(f"/v1/approvals/{approval}", headers=rita).json()["audit"]] == ["requested"]

    edited = client.post(f"/v1/approvals/{approval}/edit", json={"args": {"amount": "1.25"}}, headers=rita)
    assert edited.status_code == 200, edited.text
    events = stream(client, "GET", f"/v1/threads/{thread}/events", rosa)
    assert events[-1][1]["status"] == "completed"
    assert refunded_cents(ctx, "W1000004") == sorted([*before, 125])
