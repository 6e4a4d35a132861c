"""``POST /v1/threads/{id}/calls``: one tool call a program asks for, over HTTP, through the
agent's own path (validation, policy, approval, exactly-once), and ``GET …/calls/{call_id}``."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from agent.interfaces.service.context import ServiceContext
from tests.agent.interfaces.service.conftest import MakeKey, stream
from tests.agent.interfaces.service.test_service_approvals import refunded_cents

REFUND = {"tool": "issue_refund", "args": {"order_id": "W1000001", "amount": "129.99", "reason": "damaged"}}


def thread_of(client: TestClient, who: dict[str, str]) -> str:
    made = client.post("/v1/threads", json={"title": "calls"}, headers=who)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def call(client: TestClient, who: dict[str, str], thread: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"/v1/threads/{thread}/calls", json=body, headers=who)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_read_call_runs_and_its_outcome_can_be_read_again(client: TestClient, make_key: MakeKey) -> None:
    ivy = make_key("user", "ivy.calls")
    thread = thread_of(client, ivy)
    done = call(client, ivy, thread, {"tool": "get_order", "args": {"order_id": "W1000002"}})
    assert done["status"] == "executed" and done["result"]["order_id"] == "W1000002"
    assert done["thread_id"] == thread and done["call_id"] and done["run_id"]
    again = client.get(f"/v1/threads/{thread}/calls/{done['call_id']}", headers=ivy)
    assert again.status_code == 200 and again.json()["result"] == done["result"]
    missing = client.get(f"/v1/threads/{thread}/calls/tc_9_9_9", headers=ivy)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "call_not_found"


def test_a_high_risk_call_waits_for_a_reviewer_then_runs_once(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext
) -> None:
    una, rita = make_key("user", "una.calls"), make_key("reviewer", "rita.calls")
    before = refunded_cents(ctx, "W1000001")
    thread = thread_of(client, una)
    paused = call(client, una, thread, REFUND)
    assert paused["status"] == "pending_approval" and paused["approval_id"].startswith("apr_")
    assert f"GET /v1/threads/{thread}/calls/{paused['call_id']}" in paused["next_step"]
    assert call(client, una, thread, REFUND)["approval_id"] == paused["approval_id"]  # the same call: the same wait
    other = call(client, una, thread, {"tool": "get_order", "args": {"order_id": "W1000002"}})
    assert other["status"] == "refused" and other["error_kind"] == "thread_waiting"
    assert refunded_cents(ctx, "W1000001") == before  # nothing ran before the decision

    decided = client.post(f"/v1/approvals/{paused['approval_id']}/approve", headers=rita)
    assert decided.status_code == 200 and decided.json()["resuming"] is True
    stream(client, "GET", f"/v1/threads/{thread}/events", una)  # until the thread settles
    outcome = client.get(f"/v1/threads/{thread}/calls/{paused['call_id']}", headers=una).json()
    assert outcome["status"] == "executed" and outcome["approval_id"] == paused["approval_id"]
    assert refunded_cents(ctx, "W1000001") == sorted([*before, 12999])


def test_bad_arguments_are_an_invalid_outcome_naming_the_field(client: TestClient, make_key: MakeKey) -> None:
    vic = make_key("user", "vic.calls")
    thread = thread_of(client, vic)
    bad = call(client, vic, thread, {"tool": "get_order", "args": {"order_id": "nope"}})
    assert bad["status"] == "invalid" and "order_id" in bad["message"]
    unknown = call(client, vic, thread, {"tool": "launch_rocket", "args": {}})
    assert unknown["status"] in ("invalid", "refused") and "launch_rocket" in unknown["message"]


def test_only_the_threads_owner_calls_on_it_and_others_do_not_see_it(client: TestClient, make_key: MakeKey) -> None:
    wes = make_key("user", "wes.calls")
    thread = thread_of(client, wes)
    body = {"tool": "get_order", "args": {"order_id": "W1000002"}}
    stranger = client.post(f"/v1/threads/{thread}/calls", json=body, headers=make_key("user", "xena.calls"))
    assert stranger.status_code == 404
    reviewer = client.post(f"/v1/threads/{thread}/calls", json=body, headers=make_key("reviewer", "yuri.calls"))
    assert reviewer.status_code == 403 and reviewer.json()["error"]["code"] == "not_thread_owner"
    empty = client.post(f"/v1/threads/{thread}/calls", json={"args": {}}, headers=wes)
    assert empty.status_code == 422
