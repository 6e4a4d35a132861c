"""The trace pages: ``/traces`` and ``/traces/RUN_ID`` for a chat run, a workflow run and an eval
run, with the JSON API's access rule (others' runs are 404 pages); one look in headless Chromium.

An eval trial runs on its own copy of the seeded home, deleted after scoring, so its traces never
reach a service's database: the eval case here records its run through the runtime with the
``scenario`` label an eval trace carries, on the service's own database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.interfaces.service.context import ServiceContext
from agent.tracing.render import timeline
from tests.agent.interfaces.service.conftest import MakeKey, served
from tests.agent.interfaces.service.test_service_pages import browser as web_client
from tests.agent.interfaces.service.test_service_pages import log_in
from tests.agent.interfaces.service.test_service_workflows import wait_for

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"


def chat_run(client: TestClient, headers: dict[str, str], text: str) -> tuple[str, str]:
    """A completed chat run through the thread API: (thread id, run id)."""
    thread = client.post("/v1/threads", json={}, headers=headers).json()["id"]
    result = client.post(f"/v1/threads/{thread}/messages", json={"content": text, "stream": False}, headers=headers)
    assert result.status_code == 200 and result.json()["status"] == "completed", result.text
    return thread, result.json()["run_id"]


def web_as(client: TestClient, ctx: ServiceContext, role: str, name: str, tenant: str = "acme") -> TestClient:
    """A browser session (its own cookie jar) logged in with a new key."""
    web = web_client(client)
    _, key = ctx.keys.create(tenant=tenant, role=role, name=name)
    log_in(web, key, "/traces")
    return web


def test_a_chat_runs_trace_page_shows_its_spans_and_totals(client: TestClient, ctx: ServiceContext) -> None:
    _, key = ctx.keys.create(tenant="acme", role="user", name="tara.trace")
    thread, run_id = chat_run(client, {"Authorization": f"Bearer {key}"}, "where is my order W1000002?")
    web = web_client(client)
    log_in(web, key, f"/traces/{run_id}")
    page = web.get(f"/traces/{run_id}")
    assert page.status_code == 200
    html = page.text
    stored = ctx.tiller.traces.get("acme", run_id)  # what the CLI and /v1/traces show
    assert run_id in html and "completed" in html and f"/traces?thread={thread}" in html
    assert "tenant acme" in html and "user tara.trace" in html and f"/chat?thread={thread}" in html
    assert "tool call" in html and "get_order" in html and "W1000002" in html  # the tool span and its arguments
    assert "model call" in html and "offline" in html  # the model span, the model in the header
    assert html.count('data-kind="') == len(stored.spans)  # every span, none dropped
    assert html.count('data-kind="tool"') == stored.tool_calls == 1
    totals = re.search(r'<dl class="totals">(.*?)</dl>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "tool calls</dt><dd>1<" in totals and f"model steps</dt><dd>{stored.steps}<" in totals
    assert f"{stored.input_tokens} / {stored.output_tokens}" in totals and f"${stored.cost_usd:.6f}" in totals
    # spans are nested under the node they happened in: the tool call inside plan_tools (which
    # runs calls that need no approval)
    [planning] = [e for e in timeline(stored) if e.span.name == "plan_tools"]
    assert [c.span.kind for c in planning.children] == ["tool"]
    nested = html[html.index('data-kind="node"', html.index("plan_tools") - 300) :]
    assert nested.index('<ol class="children">') < nested.index('data-kind="tool"')
    assert all(e.offset_pct >= 0 and e.offset_pct + e.width_pct <= 100.01 for e in timeline(stored))

    listed = web.get("/traces").text
    assert f'href="/traces/{run_id}"' in listed and "where is" not in listed  # runs, not messages
    assert f'href="/traces/{run_id}"' in web.get(f"/traces?thread={thread}").text
    assert f'href="/traces/{run_id}"' in web.get("/traces?status=completed").text
    assert f'href="/traces/{run_id}"' not in web.get("/traces?status=failed").text


def test_other_users_and_tenants_get_a_404_page(client: TestClient, ctx: ServiceContext, make_key: MakeKey) -> None:
    thread, run_id = chat_run(client, make_key("user", "ulla.trace"), "where is my order W1000002?")
    reviewer = web_as(client, ctx, "reviewer", "rosa.trace")
    assert reviewer.get(f"/traces/{run_id}").status_code == 200  # a reviewer sees the tenant's runs
    assert f'href="/traces/{run_id}"' in reviewer.get("/traces").text

    for web in (web_as(client, ctx, "user", "otto.trace"), web_as(client, ctx, "admin", "gus", tenant="globex")):
        page = web.get(f"/traces/{run_id}")
        assert page.status_code == 404 and f"No run {run_id}" in page.text and "recent runs" in page.text
        assert "get_order" not in page.text and "ulla.trace" not in page.text
        assert f'href="/traces/{run_id}"' not in web.get("/traces").text  # nor listed
        hidden = web.get(f"/traces?thread={thread}")
        assert hidden.status_code == 404 and f"No thread {thread}" in hidden.text
    unknown = reviewer.get("/traces/run_nope")
    assert unknown.status_code == 404 and "No run run_nope" in unknown.text


def test_pages_need_a_session(client: TestClient) -> None:
    web = web_client(client)
    page = web.get("/traces/run_abc", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/traces/run_abc"
    assert web.get("/traces", follow_redirects=False).headers["location"] == "/login?next=/traces"


def test_a_workflow_runs_tasks_have_trace_pages(client: TestClient, ctx: ServiceContext) -> None:
    _, key = ctx.keys.create(tenant="acme", role="user", name="wanda.trace")
    headers = {"Authorization": f"Bearer {key}"}
    workflow = {"name": "trace-lookups", "tasks": [{"id": "w2", "prompt": "where is my order W1000002?"}]}
    started = client.post("/v1/workflows/runs", json={"workflow": workflow}, headers=headers)
    assert started.status_code == 202, started.text
    wf_run = started.json()["id"]
    wait_for(client, f"/v1/workflows/runs/{wf_run}", headers, lambda p: p["status"] == "finished")
    [result] = client.get(f"/v1/workflows/runs/{wf_run}/results", headers=headers).json()
    thread = result["thread_id"]
    web = web_client(client)
    log_in(web, key, f"/traces?thread={thread}")
    listed = web.get(f"/traces?thread={thread}")
    assert listed.status_code == 200
    [run_id] = re.findall(r'href="/traces/(run_[0-9a-f]+)"', listed.text)
    page = web.get(f"/traces/{run_id}").text
    assert "wanda.trace" in page and thread in page and 'data-kind="tool"' in page and "get_order" in page
    assert "/chat?thread=" not in page  # a workflow task is not a conversation


def test_an_eval_runs_trace_page_shows_its_scenario(client: TestClient, ctx: ServiceContext) -> None:
    result = ctx.tiller.ask(
        "where is my order W1000002?",
        thread_id="eval-order-status-0",
        tenant="acme",
        user="eval.runner",
        labels={"scenario": "order-status", "trial": "0"},
    )
    assert result.run_id is not None
    web = web_as(client, ctx, "reviewer", "rhea.trace")
    page = web.get(f"/traces/{result.run_id}").text
    assert "scenario</dt><dd>order-status<" in page and "trial=0" in page and "get_order" in page
    row = re.search(rf'<tr id="{result.run_id}">(.*?)</tr>', web.get("/traces").text, re.S).group(1)  # type: ignore[union-attr]
    assert "order-status" in row and "eval-order-status-0" in row


@pytest.fixture(scope="module")
def base_url(app: FastAPI, client: TestClient) -> Iterator[str]:
    """The app on a free port of 127.0.0.1 (its lifespan stays with ``client``)."""
    with served(app, lifespan="off") as url:
        yield url


def test_a_trace_page_in_the_browser(base_url: str, ctx: ServiceContext) -> None:
    """Ask in the chat page, follow its link to the run's trace, open the tool call's attributes."""
    if not Path(CHROMIUM).exists() and not os.environ.get("TILLER_TEST_REQUIRE_BROWSER"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it")
    from tests.agent.interfaces.service.test_service_browser import CHROMIUM_ARGS
    from tests.agent.interfaces.service.test_service_browser import log_in as browser_log_in

    playwright_api = pytest.importorskip("playwright.sync_api")
    _, key = ctx.keys.create(tenant="acme", role="user", name="bea.trace")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser_log_in(chromium, base_url, key, "/chat")
            page.fill("#message", "where is my order W1000002?")  # type: ignore[attr-defined]
            page.click("form#ask button")  # type: ignore[attr-defined]
            page.wait_for_selector("#status[data-status=completed]")  # type: ignore[attr-defined]
            page.click("li.trace a")  # type: ignore[attr-defined]
            page.wait_for_url(re.compile(r".*/traces/run_[0-9a-f]+$"))  # type: ignore[attr-defined]
            assert "completed" in page.inner_text("section.trace-head")  # type: ignore[attr-defined]
            tool = page.locator('li.span[data-kind="tool"] > details')  # type: ignore[attr-defined]
            assert not tool.locator("table.attrs").is_visible()
            tool.locator("summary").click()
            assert tool.get_attribute("open") is not None and tool.locator("table.attrs").is_visible()
            assert '"order_id": "W1000002"' in tool.locator("table.attrs").inner_text()
            bar = page.locator('li.span[data-kind="tool"] .bar').bounding_box()  # type: ignore[attr-defined]
            assert bar is not None and bar["width"] >= 2  # drawn, to scale
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "trace-page.png"), full_page=True)  # type: ignore[attr-defined]
        finally:
            chromium.close()
