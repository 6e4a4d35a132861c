"""The service's own runtime runs on the app's event loop, started and closed with the app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agent.config import Settings
from agent.interfaces.service.app import create_app
from agent.interfaces.service.config import ServiceSettings


def test_the_service_runs_its_own_runtime_on_the_app_loop(settings: Settings) -> None:
    app = create_app(settings, ServiceSettings(redis_url=None, rate_per_minute=10_000))
    tiller = app.state.context.tiller
    assert not tiller.started  # nothing runs before the app starts
    with TestClient(app) as client:
        assert tiller.started
        _, key = app.state.context.keys.create(tenant="acme", role="user", name="ann")
        headers = {"Authorization": f"Bearer {key}"}
        thread = client.post("/v1/threads", json={"title": "order"}, headers=headers).json()
        answer = client.post(
            f"/v1/threads/{thread['id']}/messages",
            json={"content": "where is my order W1000002?", "stream": False},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "completed"
        # A second start of the same app while it runs (a test client beside a server) shares the runtime.
        with TestClient(app) as second:
            again = second.get(f"/v1/threads/{thread['id']}", headers=headers)
            assert again.status_code == 200
        assert tiller.started
        still = client.get(f"/v1/threads/{thread['id']}", headers=headers)
        assert still.status_code == 200 and still.json()["last_run"]["status"] == "completed"
