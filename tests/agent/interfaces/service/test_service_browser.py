"""The done-means in a real headless Chromium: a customer asks for a refund in the chat page, a
reviewer approves it in the inbox, and the chat page shows the completed refund.

Chromium is Debian's (``apt-get install chromium``) driven by Playwright from PyPI; screenshots
go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from agent.interfaces.service.context import ServiceContext
from tests.agent.interfaces.service.conftest import served
from tests.agent.interfaces.service.test_service_approvals import refunded_cents

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).exists() and not os.environ.get("TILLER_TEST_REQUIRE_BROWSER"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True
    )
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread of this process."""
    with served(app, lifespan="on") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def log_in(browser: object, base_url: str, key: str, page_path: str) -> object:
    context = browser.new_context(viewport={"width": 1100, "height": 820})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(base_url + page_path)
    assert "/login" in page.url  # pages need a session first
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + page_path)
    return page


def test_refund_requested_in_chat_is_approved_in_the_inbox(browser: object, base_url: str, ctx: ServiceContext) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    _, user_key = ctx.keys.create(tenant="acme", role="user", name="jane.doe")
    _, reviewer_key = ctx.keys.create(tenant="acme", role="reviewer", name="rita")
    chat = log_in(browser, base_url, user_key, "/chat")
    chat.fill("#message", "refund order W1000001, it arrived damaged")  # type: ignore[attr-defined]
    chat.click("form#ask button")  # type: ignore[attr-defined]
    chat.wait_for_selector("#status[data-status=awaiting_approval]")  # type: ignore[attr-defined]
    assert "model → get_order" in chat.text_content("#log")  # type: ignore[attr-defined]  # in the staff steps
    assert "needs a colleague's approval" in chat.inner_text("li.pause")  # type: ignore[attr-defined]
    assert "model →" not in chat.inner_text("#log")  # type: ignore[attr-defined]  # collapsed for the customer
    chat.screenshot(path=str(ARTIFACTS / "chat-waiting.png"), full_page=True)  # type: ignore[attr-defined]

    inbox = log_in(browser, base_url, reviewer_key, "/review")
    card = inbox.locator("article.approval").first  # type: ignore[attr-defined]
    text = card.inner_text()
    assert "issue_refund" in text and "W1000001" in text and "129.99" in text and "jane.doe" in text
    assert "refund order W1000001, it arrived damaged" in text and "left" in text
    inbox.screenshot(path=str(ARTIFACTS / "review-inbox.png"), full_page=True)  # type: ignore[attr-defined]
    card.locator("button.approve").click()
    inbox.wait_for_selector(".flash.ok")  # type: ignore[attr-defined]
    assert "issue_refund approved" in inbox.inner_text(".flash.ok")  # type: ignore[attr-defined]

    chat.wait_for_selector("#status[data-status=completed]")  # type: ignore[attr-defined]
    log = chat.text_content("#log")  # type: ignore[attr-defined]
    assert "approve by rita" in log and "Refunded $129.99 on order W1000001" in log
    chat.screenshot(path=str(ARTIFACTS / "chat-completed.png"), full_page=True)  # type: ignore[attr-defined]

    inbox.goto(base_url + "/review/history")  # type: ignore[attr-defined]
    row = inbox.inner_text("table.history tbody tr")  # type: ignore[attr-defined]
    assert "issue_refund" in row and "executed" in row and "rita" in row
    inbox.screenshot(path=str(ARTIFACTS / "review-history.png"), full_page=True)  # type: ignore[attr-defined]
    assert refunded_cents(ctx, "W1000001") == [12999]
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
