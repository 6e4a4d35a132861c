"""Threads through the real app: create, post (streamed and not), history, follow, feedback, shaping."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agent.interfaces.service.context import ServiceContext
from tests.agent.interfaces.service.conftest import MakeKey, stream


def new_thread(client: TestClient, headers: dict[str, str]) -> str:
    created = client.post("/v1/threads", json={"title": "help"}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "idle"
    return str(created.json()["id"])


def test_a_message_streams_the_runs_steps_as_server_sent_events(client: TestClient, make_key: MakeKey) -> None:
    alice = make_key("user", "alice.stream")
    thread = new_thread(client, alice)
    events = stream(
        client, "POST", f"/v1/threads/{thread}/messages", alice, json={"content": "where is my order W1000002?"}
    )
    kinds = [k for k, _ in events]
    assert kinds[0] == "run_started" and kinds[-1] == "status"
    assert {"model", "tool_call", "tool_result", "final"} <= set(kinds)
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("final")
    call = next(d for k, d in events if k == "tool_call")
    assert (call["tool"], call["args"]) == ("get_order", {"order_id": "W1000002"})
    status = events[-1][1]
    assert status["status"] == "completed" and "1Z999AA10123456784" in status["answer"]
    assert {d["job_id"] for _, d in events} == {events[0][1]["job_id"]}  # one run's events
    assert status["run_id"].startswith("run_")  # the run's trace id

    history = client.get(f"/v1/threads/{thread}", headers=alice).json()
    assert history["status"] == "completed"
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert history["messages"][0]["content"] == "where is my order W1000002?"
    assert "shipped" in history["messages"][2]["content"]
    assert history["last_run"]["trajectory"][0]["tool"] == "get_order"


def test_without_streaming_the_run_result_is_returned(client: TestClient, make_key: MakeKey) -> None:
    bob = make_key("user", "bob.json")
    thread = new_thread(client, bob)
    body = {"content": "refund $5 on order W1000004, it arrived damaged", "stream": False}
    result = client.post(f"/v1/threads/{thread}/messages", json=body, headers=bob)
    assert result.status_code == 200, result.text
    paused = result.json()
    assert paused["status"] == "awaiting_approval"
    [approval] = paused["pending_approvals"]
    assert approval["tool"] == "issue_refund" and approval["requested_by"] == "bob.json"

    again = client.post(f"/v1/threads/{thread}/messages", json={"content": "hello?"}, headers=bob)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "awaiting_approval" and approval["id"] in again.json()["error"]["message"]

    listed = client.get("/v1/threads", headers=bob).json()
    assert [(t["id"], t["status"]) for t in listed] == [(thread, "awaiting_approval")]


def test_following_a_settled_thread_gives_its_status_and_ends(client: TestClient, make_key: MakeKey) -> None:
    carol = make_key("user", "carol.follow")
    thread = new_thread(client, carol)
    assert stream(client, "GET", f"/v1/threads/{thread}/events", carol) == [
        ("status", {"thread_id": thread, "status": "idle"})
    ]
    client.post(
        f"/v1/threads/{thread}/messages", json={"content": "where is W1000002?", "stream": False}, headers=carol
    )
    [(kind, data)] = stream(client, "GET", f"/v1/threads/{thread}/events", carol)
    assert kind == "status" and data["status"] == "completed" and "UPS" in data["answer"]


def test_a_reconnect_after_the_run_ended_gets_what_it_missed(client: TestClient, make_key: MakeKey) -> None:
    dora = make_key("user", "dora.reconnect")
    thread = new_thread(client, dora)
    url = f"/v1/threads/{thread}/messages"
    with client.stream("POST", url, headers=dora, json={"content": "where is my order W1000002?"}) as response:
        ids = [line.removeprefix("id: ") for line in response.iter_lines() if line.startswith("id: ")]
    events = stream(client, "GET", f"/v1/threads/{thread}/events", dora)
    assert [k for k, _ in events] == ["status"] and events[0][1]["status"] == "completed"

    # A client whose connection dropped after the run's second event reconnects once the run has
    # ended, with the last id it saw (as EventSource does): the status, then every event after it.
    resumed = stream(client, "GET", f"/v1/threads/{thread}/events", {**dora, "Last-Event-ID": ids[1]})
    kinds = [k for k, _ in resumed]
    assert kinds[0] == "status" and resumed[0][1]["status"] == "completed"
    assert {"tool_result", "final"} <= set(kinds) and kinds[-1] == "status"
    assert len(resumed) == 1 + len(ids) - 2  # the status, then the events after the second one


def test_a_running_thread_refuses_a_second_message(client: TestClient, make_key: MakeKey, ctx: ServiceContext) -> None:
    dave = make_key("user", "dave.busy")
    thread = new_thread(client, dave)
    ctx.tiller.threads.claim(thread)  # as if another process were running it
    try:
        busy = client.post(f"/v1/threads/{thread}/messages", json={"content": "hi"}, headers=dave)
    finally:
        ctx.tiller.threads.release(thread, "idle")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "thread_busy"


def test_only_the_owner_posts_and_other_users_do_not_see_the_thread(client: TestClient, make_key: MakeKey) -> None:
    erin, frank = make_key("user", "erin.owner"), make_key("user", "frank.other")
    rita = make_key("reviewer", "rita.reads")
    thread = new_thread(client, erin)
    assert client.get(f"/v1/threads/{thread}", headers=frank).status_code == 404
    assert client.get(f"/v1/threads/{thread}/events", headers=frank).status_code == 404
    assert client.post(f"/v1/threads/{thread}/messages", json={"content": "hi"}, headers=frank).status_code == 404
    assert thread not in [t["id"] for t in client.get("/v1/threads", headers=frank).json()]
    assert client.get(f"/v1/threads/{thread}", headers=rita).status_code == 200  # reviewers read the tenant's threads
    posted = client.post(f"/v1/threads/{thread}/messages", json={"content": "hi"}, headers=rita)
    assert posted.status_code == 403 and posted.json()["error"]["code"] == "not_thread_owner"


def test_message_and_body_size_limits(client: TestClient, make_key: MakeKey) -> None:
    gina = make_key("user", "gina.size")
    thread = new_thread(client, gina)
    long = client.post(f"/v1/threads/{thread}/messages", json={"content": "x" * 2001}, headers=gina)
    assert long.status_code == 413
    assert long.json()["error"] == {
        "code": "message_too_large",
        "message": "message is 2001 characters; at most 2000 are accepted (TILLER_MAX_MESSAGE_CHARS)",
    }
    huge = client.post(f"/v1/threads/{thread}/messages", json={"content": "x" * 20_000}, headers=gina)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    empty = client.post(f"/v1/threads/{thread}/messages", json={"content": ""}, headers=gina)
    assert empty.status_code == 422 and empty.json()["error"]["fields"][0]["field"] == "content"
    missing = client.get("/v1/threads/t_nope", headers=gina)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "thread_not_found"


def test_feedback_on_a_run_is_stored_and_traces_are_shown(client: TestClient, make_key: MakeKey) -> None:
    hana = make_key("user", "hana.feedback")
    thread = new_thread(client, hana)
    early = client.post(f"/v1/threads/{thread}/feedback", json={"rating": "up"}, headers=hana)
    assert early.status_code == 409 and early.json()["error"]["code"] == "nothing_to_rate"
    body = {"content": "where is W1000002?", "stream": False}
    run_id = client.post(f"/v1/threads/{thread}/messages", json=body, headers=hana).json()["run_id"]
    saved = client.post(f"/v1/threads/{thread}/feedback", json={"rating": "down", "comment": "too terse"}, headers=hana)
    assert saved.status_code == 201, saved.text
    assert (saved.json()["run_id"], saved.json()["user"]) == (run_id, "hana.feedback")
    explicit = client.post(f"/v1/threads/{thread}/feedback", json={"rating": "up", "run_id": run_id}, headers=hana)
    assert explicit.status_code == 201
    bad = client.post(f"/v1/threads/{thread}/feedback", json={"rating": "meh"}, headers=hana)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "rating"
    other = client.post(f"/v1/threads/{thread}/feedback", json={"rating": "up", "run_id": "run_nope"}, headers=hana)
    assert other.status_code == 422 and other.json()["error"]["fields"][0]["field"] == "run_id"
    listed = client.get(f"/v1/threads/{thread}/feedback", headers=hana).json()
    assert [(f["rating"], f["comment"]) for f in listed] == [("down", "too terse"), ("up", "")]
    assert 'tiller_feedback_total{rating="down"} 1.0' in client.get("/metrics").text

    [summary] = client.get(f"/v1/threads/{thread}/traces", headers=hana).json()
    assert (summary["id"], summary["status"], summary["kind"]) == (run_id, "completed", "ask")
    spans = client.get(f"/v1/traces/{run_id}", headers=hana).json()["spans"]
    assert {"model", "tool"} <= {s["kind"] for s in spans}
    stranger = make_key("reviewer", "gil", tenant="globex")
    assert client.get(f"/v1/traces/{run_id}", headers=stranger).status_code == 404
    assert client.get(f"/v1/traces/{run_id}", headers=make_key("user", "hal.other")).status_code == 404
