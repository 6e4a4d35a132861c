"""Keys, tenants and roles: every refusal of the gateway, with its status and message."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from agent.interfaces.service.context import ServiceContext
from agent.persistence.tables import ApiKeyRow
from tests.agent.interfaces.service.conftest import MakeKey


def paused_refund(client: TestClient, headers: dict[str, str], text: str) -> tuple[str, str]:
    """A thread whose refund waits for a reviewer: (thread id, approval id)."""
    thread = client.post("/v1/threads", json={}, headers=headers).json()["id"]
    result = client.post(f"/v1/threads/{thread}/messages", json={"content": text, "stream": False}, headers=headers)
    assert result.json()["status"] == "awaiting_approval", result.text
    return thread, result.json()["pending_approvals"][0]["id"]


def test_missing_malformed_and_unknown_keys_get_401(client: TestClient, make_key: MakeKey) -> None:
    missing = client.get("/v1/threads")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == "missing_key"
    assert "Authorization: Bearer <key>" in missing.json()["error"]["message"]
    basic = client.get("/v1/threads", headers={"Authorization": "Basic YWxhZGRpbjpvcGVu"})
    assert basic.status_code == 401 and "Bearer <key>" in basic.json()["error"]["message"]
    malformed = client.get("/v1/threads", headers={"Authorization": "Bearer hunter2"})
    assert malformed.status_code == 401 and "malformed API key" in malformed.json()["error"]["message"]
    real = make_key("user", "ivan.keys")["Authorization"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    wrong = client.get("/v1/threads", headers={"Authorization": forged})
    assert wrong.status_code == 401 and wrong.json()["error"] == {
        "code": "invalid_key",
        "message": "invalid API key: no key matches it",
    }


def test_a_revoked_key_fails_from_the_next_request_on(client: TestClient, ctx: ServiceContext) -> None:
    info, key = ctx.keys.create(tenant="acme", role="user", name="judy.revoked")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/threads", headers=headers).status_code == 200
    ctx.keys.revoke(info.id)
    refused = client.get("/v1/threads", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "key_revoked"
    assert f"API key {info.id} was revoked" in refused.json()["error"]["message"]


def test_a_key_whose_stored_role_is_unknown_grants_nothing(client: TestClient, ctx: ServiceContext) -> None:
    info, key = ctx.keys.create(tenant="acme", role="reviewer", name="una.role")
    with ctx.tiller.sessions.begin() as session:  # a row edited by hand, or by an older release
        session.execute(update(ApiKeyRow).where(ApiKeyRow.id == info.id).values(role="superuser"))
    refused = client.get("/v1/approvals", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_key"
    assert f"API key {info.id} has the role 'superuser'" in refused.json()["error"]["message"]


def test_a_user_key_cannot_see_or_decide_approvals(client: TestClient, make_key: MakeKey) -> None:
    kim = make_key("user", "kim.user")
    _, approval = paused_refund(client, kim, "refund $1 on order W1000004, it arrived damaged")
    for method, url in [
        ("GET", "/v1/approvals"),
        ("GET", f"/v1/approvals/{approval}"),
        ("POST", f"/v1/approvals/{approval}/approve"),
        ("POST", f"/v1/approvals/{approval}/reject"),
        ("POST", f"/v1/approvals/{approval}/edit"),
    ]:
        refused = client.request(method, url, headers=kim, json={"reason": "x", "args": {"amount": "1"}})
        assert refused.status_code == 403, (method, url, refused.text)
        assert refused.json()["error"]["code"] == "role_forbidden"
        assert "this is a user key" in refused.json()["error"]["message"]


def test_another_tenants_ids_are_not_found(client: TestClient, make_key: MakeKey) -> None:
    lena = make_key("user", "lena.acme")
    thread, approval = paused_refund(client, lena, "refund $1 on order W1000004, it arrived damaged")
    globex_user, globex_reviewer = (
        make_key("user", "gus", tenant="globex"),
        make_key("reviewer", "gail", tenant="globex"),
    )
    for headers in (globex_user, globex_reviewer):
        assert client.get(f"/v1/threads/{thread}", headers=headers).status_code == 404
        assert client.get(f"/v1/threads/{thread}/events", headers=headers).status_code == 404
        assert client.get(f"/v1/threads/{thread}/feedback", headers=headers).status_code == 404
        posted = client.post(f"/v1/threads/{thread}/messages", json={"content": "hi"}, headers=headers)
        assert posted.status_code == 404 and posted.json()["error"]["code"] == "thread_not_found"
    assert client.get("/v1/approvals", headers=globex_reviewer).json() == []
    shown = client.get(f"/v1/approvals/{approval}", headers=globex_reviewer)
    assert shown.status_code == 404 and shown.json()["error"]["code"] == "approval_not_found"
    decided = client.post(f"/v1/approvals/{approval}/approve", headers=globex_reviewer)
    assert decided.status_code == 404
    assert (
        client.post(f"/v1/approvals/{approval}/reject", json={"reason": "no"}, headers=globex_reviewer).status_code
        == 404
    )
    assert (
        client.post(
            f"/v1/approvals/{approval}/edit", json={"args": {"amount": "1"}}, headers=globex_reviewer
        ).status_code
        == 404
    )


def test_the_requester_cannot_approve_their_own_request(client: TestClient, make_key: MakeKey) -> None:
    mia = make_key("user", "mia.both")
    mia_reviewer = make_key("reviewer", "mia.both")  # the same person holding a reviewer key
    _, approval = paused_refund(client, mia, "refund $1 on order W1000004, it arrived damaged")
    own = client.post(f"/v1/approvals/{approval}/approve", headers=mia_reviewer)
    assert own.status_code == 403 and own.json()["error"]["code"] == "self_approval"
    assert "separation of duties" in own.json()["error"]["message"]
    assert client.get(f"/v1/approvals/{approval}", headers=mia_reviewer).json()["status"] == "pending"
