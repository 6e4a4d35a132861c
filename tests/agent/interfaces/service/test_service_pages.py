"""The web pages without a browser: login, sessions and CSRF, the inbox's forms, history."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from agent.interfaces.service.app import create_app
from agent.interfaces.service.context import ServiceContext
from tests.agent.interfaces.service.conftest import MakeKey
from tests.agent.interfaces.service.test_service_auth import paused_refund


def browser(client: TestClient) -> TestClient:
    """A client with its own cookie jar (one browser), sharing the app of ``client``."""
    return TestClient(client.app, base_url="http://testserver")


def log_in(web: TestClient, key: str, next_path: str) -> None:
    page = web.post("/login", data={"key": key, "next": next_path}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == next_path


def csrf_of(html: str) -> str:
    return re.search(r'data-csrf="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_login_sessions_and_csrf(client: TestClient, ctx: ServiceContext) -> None:
    web = browser(client)
    assert web.get("/chat", follow_redirects=False).headers["location"] == "/login?next=/chat"
    refused = web.post("/login", data={"key": "tk_nope", "next": "/chat"})
    assert refused.status_code == 401 and "malformed API key" in refused.text
    info, key = ctx.keys.create(tenant="acme", role="user", name="una.web")
    log_in(web, key, "/chat")
    page = web.get("/chat")
    assert page.status_code == 200 and "una.web · user · acme" in page.text
    assert key not in web.cookies.get("tiller_session", "")  # the session holds the key's id only
    forged = web.post("/v1/threads", json={})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf"
    created = web.post("/v1/threads", json={}, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert created.status_code == 201 and created.json()["user"] == "una.web"
    assert web.post("/login", data={"key": key, "next": "https://evil.example"}).url.path == "/chat"
    ctx.keys.revoke(info.id)
    gone = web.get("/chat", follow_redirects=False)
    assert gone.headers["location"] == "/login?next=/chat"
    assert "revoked" in web.get("/login?next=/chat").text


def test_the_inbox_is_for_reviewers(client: TestClient, ctx: ServiceContext) -> None:
    web = browser(client)
    _, key = ctx.keys.create(tenant="acme", role="user", name="vera.web")
    log_in(web, key, "/review")
    assert web.get("/review", follow_redirects=False).headers["location"] == "/login?next=/review"
    assert "the inbox needs a reviewer or admin key" in web.get("/login?next=/review").text


def test_deciding_in_the_inbox(client: TestClient, make_key: MakeKey, ctx: ServiceContext) -> None:
    wim = make_key("user", "wim.web")
    _, first = paused_refund(client, wim, "refund $1 on order W1000004, it arrived damaged")
    _, second = paused_refund(client, wim, "refund $2 on order W1000004, it arrived damaged")
    web = browser(client)
    _, key = ctx.keys.create(tenant="acme", role="reviewer", name="rex.web")
    log_in(web, key, "/review")
    inbox = web.get("/review").text
    assert inbox.index(second) < inbox.index(first)  # newest first
    assert "wim.web" in inbox and "refund $2 on order W1000004, it arrived damaged" in inbox and "left" in inbox
    csrf = csrf_of(inbox)

    def decide(approval: str, **form: str) -> str:
        return web.post(f"/review/{approval}", data={"csrf": csrf, **form}).text

    assert "missing or stale CSRF token" in web.post(f"/review/{first}", data={"decision": "approve"}).text
    assert "a rejection needs a reason" in decide(first, decision="reject")
    assert "unknown decision 'escalate'" in html.unescape(decide(first, decision="escalate"))
    page = decide(first, decision="edit", **{"arg:amount": "-3"})
    assert f"{first}: args.amount: Input should be greater than 0" in page
    page = decide(first, decision="edit", **{"arg:amount": "0.50", "arg:order_id": "W1000004", "arg:reason": "damaged"})
    assert "issue_refund approved" in page and "the conversation continues" in page
    page = decide(second, decision="reject", reason="duplicate request")
    assert "issue_refund rejected" in page
    assert f'data-approval="{first}"' not in page and f'data-approval="{second}"' not in page
    history = web.get("/review/history").text
    assert "rex.web" in history and "duplicate request" in history and "edited" in history


def test_pages_share_one_session_secret_across_processes(client: TestClient, ctx: ServiceContext) -> None:
    """A second app on the same database (another process) accepts the first one's session."""
    web = browser(client)
    _, key = ctx.keys.create(tenant="acme", role="user", name="yan.web")
    log_in(web, key, "/chat")
    other = create_app(ctx.settings, ctx.service, tiller=ctx.tiller)
    with TestClient(other, cookies=web.cookies) as second:
        assert second.get("/chat", follow_redirects=False).status_code == 200


def test_the_live_status_of_approvals_and_a_card_fetched_again(
    client: TestClient, make_key: MakeKey, ctx: ServiceContext
) -> None:
    nina = make_key("user", "nina.live")
    _, approval = paused_refund(client, nina, "refund $1 on order W1000004, it arrived damaged")
    _, globex_key = ctx.keys.create(tenant="globex", role="reviewer", name="gus.live")
    _, key = ctx.keys.create(tenant="acme", role="reviewer", name="rita.live")
    web = browser(client)
    assert web.get(f"/review/live?id={approval}", follow_redirects=False).status_code == 303  # needs a session
    log_in(web, key, "/review")

    [state] = web.get(f"/review/live?id={approval}&id=apr_unknown").json()["approvals"]
    assert state == {
        "id": approval,
        "status": "pending",
        "decision": None,
        "decided_by": None,
        "decided_at": None,
        "outcome": None,
    }
    ctx.tiller.decide(approval, decision="approve", decided_by="sam.elsewhere", tenant="acme")
    [state] = web.get(f"/review/live?id={approval}").json()["approvals"]
    assert (state["status"], state["decided_by"]) == ("approved", "sam.elsewhere") and state["decided_at"]
    card = web.get(f"/review/{approval}/card?detail=true&back=/review/{approval}")
    assert card.status_code == 200 and card.text.count("<article") == 1 and "<html" not in card.text
    assert 'data-status="approved"' in card.text and 'data-detail="1"' in card.text and "Audit log" in card.text
    too_many = "&".join(f"id=apr_{n}" for n in range(101))
    assert web.get(f"/review/live?{too_many}").status_code == 422

    other = browser(client)
    log_in(other, globex_key, "/review")
    assert other.get(f"/review/live?id={approval}").json() == {"approvals": []}  # another tenant's: not there
    assert other.get(f"/review/{approval}/card").status_code == 404
