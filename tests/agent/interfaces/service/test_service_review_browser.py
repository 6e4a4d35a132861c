"""Reviewers decide with the facts, in a real headless Chromium: the inbox card with the review
context, an approval's own page, an edit the tool would refuse, Approve off while a rule fails
(and checked again on click), a rejection whose internal note stays internal, pages that follow
a decision made elsewhere to its outcome without a reload, and ``/docs`` with every request off
this machine blocked.

Screenshots go to ``test-artifacts/`` (the README's come from there: docs/img).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.interfaces.service.context import ServiceContext
from tests.agent.interfaces.service.conftest import served
from tests.agent.interfaces.service.test_service_approvals import refunded_cents
from tests.agent.interfaces.service.test_service_auth import paused_refund
from tests.agent.interfaces.service.test_service_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, log_in
from tests.agent.runtime.test_review import refund_in_full_elsewhere
from tools.commerce.models import Order, OrderStatus

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    with served(app, lifespan="on") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def keys(ctx: ServiceContext, name: str) -> tuple[dict[str, str], str]:
    """A customer's API headers and a reviewer's key, both new."""
    _, user = ctx.keys.create(tenant="acme", role="user", name=f"{name}.customer")
    _, reviewer = ctx.keys.create(tenant="acme", role="reviewer", name=f"{name}.reviewer")
    return {"Authorization": f"Bearer {user}"}, reviewer


def test_the_inbox_card_and_the_detail_page_show_the_facts(
    browser: object, base_url: str, client: TestClient, ctx: ServiceContext
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    user, reviewer = keys(ctx, "facts")
    _, approval = paused_refund(client, user, "refund order W1000001, it arrived damaged")
    inbox = log_in(browser, base_url, reviewer, "/review")
    card = inbox.locator(f"article[data-approval={approval}]")  # type: ignore[attr-defined]
    text = card.inner_text()
    assert "$129.99 USD" in text and "Refundable balance" in text and "Jane Doe" in text
    assert "Already refunded" in text and "days ago" in text and "Earlier refunds of this customer" in text
    assert "✓ within the refundable balance" in text and "outside the 30-day return window" in text
    card.locator("details.policy summary").click()
    assert "[damaged-items#" in card.inner_text()
    inbox.screenshot(path=str(ARTIFACTS / "review-inbox.png"), full_page=True)  # type: ignore[attr-defined]

    card.locator("a.title").click()
    inbox.wait_for_url(f"{base_url}/review/{approval}")  # type: ignore[attr-defined]
    page = inbox.inner_text("main")  # type: ignore[attr-defined]
    assert "Refundable balance" in page and "Audit log" in page and "requested by" in page
    inbox.fill("input[name=customer_message]", "Your refund is on its way.")  # type: ignore[attr-defined]
    inbox.click("button.approve")  # type: ignore[attr-defined]
    inbox.wait_for_selector(".flash.ok")  # type: ignore[attr-defined]
    assert inbox.url == f"{base_url}/review/{approval}"  # type: ignore[attr-defined]
    # The thread continues in the background; the page follows it on its own, to the refund's outcome.
    inbox.wait_for_selector(f"article[data-approval={approval}][data-status=executed]")  # type: ignore[attr-defined]
    done = inbox.inner_text("main")  # type: ignore[attr-defined]
    assert "executed" in done and "Told the customer: “Your refund is on its way.”" in done
    assert refunded_cents(ctx, "W1000001") == [12999]


def test_an_edit_the_tool_would_refuse_is_refused_in_the_inbox(
    browser: object, base_url: str, client: TestClient, ctx: ServiceContext
) -> None:
    user, reviewer = keys(ctx, "edit")
    _, approval = paused_refund(client, user, "refund order W1000008, the poles arrived damaged")
    inbox = log_in(browser, base_url, reviewer, "/review")
    card = inbox.locator(f"article[data-approval={approval}]")  # type: ignore[attr-defined]
    card.locator("details.edit summary").click()
    card.locator("input[name='arg:amount']").fill("5000")
    card.locator("button.edit").click()
    inbox.wait_for_selector(".flash.error")  # type: ignore[attr-defined]
    error = inbox.inner_text(".flash.error")  # type: ignore[attr-defined]
    assert approval in error and "A refund of $5000.00 exceeds the refundable balance" in error
    assert inbox.locator(f"article[data-approval={approval}][data-status=pending]").count() == 1  # type: ignore[attr-defined]
    inbox.screenshot(path=str(ARTIFACTS / "review-refused-edit.png"), full_page=True)  # type: ignore[attr-defined]
    assert ctx.tiller.approvals.get("acme", approval).status == "pending"


def test_approve_is_off_while_a_rule_of_the_tool_fails_and_an_edit_that_passes_goes_through(
    browser: object, base_url: str, client: TestClient, ctx: ServiceContext
) -> None:
    user, reviewer = keys(ctx, "blocked")
    _, approval = paused_refund(client, user, "refund $5000 on order W1000008, the poles arrived damaged")
    page = log_in(browser, base_url, reviewer, f"/review/{approval}")
    card = page.locator(f"article[data-approval={approval}]")  # type: ignore[attr-defined]
    assert card.locator("button.approve").is_disabled()
    note = card.locator("p.blocked").inner_text()
    assert "A refund of $5000.00 exceeds the refundable balance" in note and "Edit the arguments" in note
    assert "exceeds the refundable balance" in (card.locator("button.approve").get_attribute("title") or "")
    assert card.locator("details.edit").get_attribute("open") is not None  # the way out is open
    page.screenshot(path=str(ARTIFACTS / "review-blocked.png"), full_page=True)  # type: ignore[attr-defined]
    card.locator("input[name='arg:amount']").fill("2.50")
    card.locator("button.edit").click()
    page.wait_for_selector(".flash.ok")  # type: ignore[attr-defined]
    assert ctx.tiller.approvals.get("acme", approval).status in ("approved", "executed")


def test_approve_is_checked_on_fresh_facts_not_on_the_page_shown_earlier(
    browser: object, base_url: str, client: TestClient, ctx: ServiceContext
) -> None:
    user, reviewer = keys(ctx, "stale")
    _, first = paused_refund(client, user, "refund $60 on order W1000008, the poles arrived damaged")
    _, second = paused_refund(client, user, "refund $60 on order W1000008, the bag arrived damaged")
    inbox = log_in(browser, base_url, reviewer, "/review")
    card = inbox.locator(f"article[data-approval={second}]")  # type: ignore[attr-defined]
    assert card.locator("button.approve").is_enabled()  # both fit the balance when the page was drawn
    ctx.tiller.decide(first, decision="approve", decided_by="someone.else", tenant="acme")
    ctx.tiller.resume(ctx.tiller.approvals.get("acme", first).thread_id, tenant="acme")
    assert ctx.tiller.approvals.get("acme", first).status == "executed"
    card.locator("button.approve").click()  # the page is stale; the decision is checked again
    inbox.wait_for_selector(".flash.error")  # type: ignore[attr-defined]
    error = inbox.inner_text(".flash.error")  # type: ignore[attr-defined]
    assert second in error and "cannot be approved as requested" in error and "exceeds the refundable" in error
    assert ctx.tiller.approvals.get("acme", second).status == "pending"
    assert inbox.locator(f"article[data-approval={second}] button.approve").is_disabled()  # type: ignore[attr-defined]


def test_a_rejection_tells_the_customer_only_the_message_for_them(
    browser: object, base_url: str, ctx: ServiceContext
) -> None:
    _, user_key = ctx.keys.create(tenant="acme", role="user", name="reject.customer")
    _, reviewer = ctx.keys.create(tenant="acme", role="reviewer", name="reject.reviewer")
    chat = log_in(browser, base_url, user_key, "/chat")
    chat.fill("#message", "refund $20 on order W1000004, it arrived damaged")  # type: ignore[attr-defined]
    chat.click("form#ask button")  # type: ignore[attr-defined]
    chat.wait_for_selector("#status[data-status=awaiting_approval]")  # type: ignore[attr-defined]

    inbox = log_in(browser, base_url, reviewer, "/review")
    card = inbox.locator("article.approval").first  # type: ignore[attr-defined]
    card.locator("input[name=reason]").fill("third claim this month, see case 7731")
    card.locator("input[name=customer_message]").fill("Please reply with a photo of the damage.")
    card.locator("button.reject").click()
    inbox.wait_for_selector(".flash.ok")  # type: ignore[attr-defined]

    chat.wait_for_selector("#status[data-status=completed]")  # type: ignore[attr-defined]
    said = chat.inner_text("#log")  # type: ignore[attr-defined]
    assert "Please reply with a photo of the damage." in said
    assert "case 7731" not in said and "third claim" not in said
    chat.locator("li.steps summary").last.click()  # type: ignore[attr-defined]  # the staff details too
    assert "case 7731" not in chat.content()  # type: ignore[attr-defined]
    chat.screenshot(path=str(ARTIFACTS / "chat-rejected.png"), full_page=True)  # type: ignore[attr-defined]
    inbox.goto(base_url + "/review/history")  # type: ignore[attr-defined]
    history = inbox.inner_text("table.history")  # type: ignore[attr-defined]
    assert "case 7731" in history and "Please reply with a photo" in history  # reviewers see both


def test_the_chat_page_reads_as_a_conversation_and_answers_while_a_request_waits(
    browser: object, base_url: str, ctx: ServiceContext
) -> None:
    _, user_key = ctx.keys.create(tenant="acme", role="user", name="waiting.customer")
    _, reviewer = ctx.keys.create(tenant="acme", role="reviewer", name="waiting.reviewer")
    chat = log_in(browser, base_url, user_key, "/chat")
    chat.fill("#message", "refund $10 on order W1000004, the jacket arrived damaged")  # type: ignore[attr-defined]
    chat.click("form#ask button")  # type: ignore[attr-defined]
    chat.wait_for_selector("#status[data-status=awaiting_approval]")  # type: ignore[attr-defined]
    shown = chat.inner_text("#log")  # type: ignore[attr-defined]
    assert "needs a colleague's approval" in shown and "model →" not in shown  # steps are collapsed
    chat.fill("#message", "also, where is my order W1000002?")  # type: ignore[attr-defined]
    chat.click("form#ask button")  # type: ignore[attr-defined]
    chat.wait_for_selector("li.agent")  # type: ignore[attr-defined]
    assert "still waiting for a colleague's approval" in chat.inner_text("#log")  # type: ignore[attr-defined]
    assert chat.get_attribute("#status", "data-status") == "awaiting_approval"  # type: ignore[attr-defined]
    assert chat.locator("li.error").count() == 0  # type: ignore[attr-defined]
    chat.screenshot(path=str(ARTIFACTS / "chat-waiting.png"), full_page=True)  # type: ignore[attr-defined]

    inbox = log_in(browser, base_url, reviewer, "/review")
    inbox.locator("article.approval").first.locator("button.approve").click()  # type: ignore[attr-defined]
    chat.wait_for_selector("#status[data-status=completed]")  # type: ignore[attr-defined]
    assert "Refunded $10.00 on order W1000004" in chat.inner_text("#log")  # type: ignore[attr-defined]
    # The answers streamed in as tokens (a draft line), then the checked answer replaced the draft.
    assert int(chat.get_attribute("body", "data-tokens") or 0) > 0  # type: ignore[attr-defined]
    assert chat.locator("li.draft").count() == 0  # type: ignore[attr-defined]
    chat.locator("li.steps summary").first.click()  # type: ignore[attr-defined]
    assert "model → get_order" in chat.inner_text("#log")  # type: ignore[attr-defined]  # staff can open them
    chat.screenshot(path=str(ARTIFACTS / "chat-completed.png"), full_page=True)  # type: ignore[attr-defined]


def test_the_api_docs_load_with_the_network_blocked(browser: object, base_url: str) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    off_machine: list[str] = []

    def only_local(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(base_url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            off_machine.append(url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(base_url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Tiller" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag")
    assert "approvals" in page.inner_text(".swagger-ui")
    assert off_machine == []
    context.close()


def a_delivered_order(ctx: ServiceContext) -> str:
    """A delivered order with its whole payment refundable that no other test of the module uses."""
    named = [f"W100000{n}" for n in range(1, 10)]
    with ctx.tiller.sessions() as session:
        query = (
            select(Order.public_id)
            .where(Order.tenant_id == "acme", Order.status == OrderStatus.DELIVERED, Order.amount_refunded_cents == 0)
            .where(Order.amount_paid_cents > 1000, Order.public_id.not_in(named))
            .order_by(Order.public_id)
        )
        return str(session.scalars(query).first())


def test_the_approval_page_shows_a_decision_made_elsewhere_and_its_outcome_without_a_reload(
    browser: object, base_url: str, client: TestClient, ctx: ServiceContext
) -> None:
    user, reviewer = keys(ctx, "live")
    _, approval = paused_refund(client, user, "refund $4 on order W1000004, it arrived damaged")
    page = log_in(browser, base_url, reviewer, f"/review/{approval}")
    page.evaluate("window.sameDocument = true")  # type: ignore[attr-defined]  # gone after any reload
    assert page.locator("button.approve").count() == 1  # type: ignore[attr-defined]
    _, other = ctx.keys.create(tenant="acme", role="reviewer", name="live.elsewhere")
    body = {"customer_message": "Your $4 refund is on its way."}
    decided = client.post(f"/v1/approvals/{approval}/approve", json=body, headers={"Authorization": f"Bearer {other}"})
    assert decided.status_code == 200, decided.text
    page.wait_for_selector(f"article[data-approval={approval}][data-status=executed]")  # type: ignore[attr-defined]
    assert page.evaluate("window.sameDocument") is True  # type: ignore[attr-defined]
    shown = page.inner_text("main")  # type: ignore[attr-defined]
    assert (
        "executed · approve by live.elsewhere" in shown
        and "Told the customer: “Your $4 refund is on its way.”" in shown
    )
    assert "approved by live.elsewhere" in shown  # the audit log, read again
    assert page.locator("button.approve").count() == 0  # type: ignore[attr-defined]  # the form is gone


def test_an_inbox_card_follows_its_approval_to_a_call_that_failed_when_it_ran(
    browser: object, base_url: str, client: TestClient, ctx: ServiceContext
) -> None:
    user, reviewer = keys(ctx, "live-failed")
    order = a_delivered_order(ctx)
    thread, approval = paused_refund(client, user, f"refund $5 on order {order}, it arrived damaged")
    inbox = log_in(browser, base_url, reviewer, "/review")
    inbox.evaluate("window.sameDocument = true")  # type: ignore[attr-defined]
    card = f"article[data-approval={approval}]"
    inbox.locator(f"{card} input[name=reason]").fill("typing a note while it is decided elsewhere")  # type: ignore[attr-defined]
    ctx.tiller.decide(approval, decision="approve", decided_by="live.cli", tenant="acme")  # `tiller approvals approve`
    inbox.wait_for_selector(f"{card}[data-status=approved]")  # type: ignore[attr-defined]
    refund_in_full_elsewhere(ctx.tiller, order)  # the facts change before the call runs
    assert ctx.tiller.resume(thread, tenant="acme").status.value == "completed"
    inbox.wait_for_selector(f"{card}[data-status=failed]")  # type: ignore[attr-defined]
    assert inbox.evaluate("window.sameDocument") is True  # type: ignore[attr-defined]
    shown = inbox.inner_text(card)  # type: ignore[attr-defined]
    assert "failed · approve by live.cli" in shown and "The call failed when it ran:" in shown
    assert "fully refunded already" in shown
    inbox.screenshot(path=str(ARTIFACTS / "review-live-failed.png"), full_page=True)  # type: ignore[attr-defined]
