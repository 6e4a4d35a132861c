"""Schemathesis over the whole HTTP API, generated from the app's own OpenAPI schema.

Every operation gets a bounded number of generated requests — valid and invalid bodies, query
values and headers (schemathesis' positive and negative modes) — sent with an admin key, and
every answer must be no server error (5xx), carry a documented status code and content type,
and have a body that conforms to the documented schema. Operations under a resource also get
requests on a real one (a completed thread and its trace, a pending approval, a workflow run),
or they would only ever see 404s. Runs use the offline model (``module_settings``).

schemathesis' lazy pytest integration (``schemathesis.pytest.from_fixture``) does not run on
pytest 9 (it sets ``Function._nodeid``, which pytest 9 removed), so the schema is loaded in a
fixture and each operation runs as a subtest with ``operation.as_strategy()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.interfaces.service.context import ServiceContext
from tests.agent.interfaces.service.conftest import MakeKey

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency (pip install -e '.[dev]')")
hypothesis = pytest.importorskip("hypothesis")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.python import asgi  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 20  # per operation: 22 operations in about half a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
WORKFLOW = {"name": "fuzz", "approval": "deny", "tasks": [{"id": "t1", "prompt": "where is my order W1000002?"}]}


@dataclass(frozen=True)
class RealIds:
    thread: str
    trace: str
    approval: str
    workflow_run: str

    def for_path(self, path: str) -> dict[str, str]:
        """Real values for the path's parameters (empty for a path without any)."""
        prefixes = {
            "/v1/threads/{thread_id}": {"thread_id": self.thread},
            "/v1/traces/{run_id}": {"run_id": self.trace},
            "/v1/approvals/{approval_id}": {"approval_id": self.approval},
            "/v1/workflows/runs/{run_id}": {"run_id": self.workflow_run},
        }
        return next((ids for prefix, ids in prefixes.items() if path.startswith(prefix)), {})


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Iterator[Any]:
    """The schema as the app serves it; schemathesis starts the app's lifespan, and stops it here."""
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def admin(make_key: MakeKey) -> dict[str, str]:
    return make_key("admin", "fuzz.admin")


@pytest.fixture(scope="module")
def real_ids(app: FastAPI, ctx: ServiceContext, admin: dict[str, str]) -> RealIds:
    """A thread the admin owns (completed, with a trace), a refund waiting for a reviewer (asked
    by someone else, so the admin may decide it) and a workflow run."""
    done = ctx.tiller.ask("where is my order W1000002?", tenant="acme", user="fuzz.admin")
    paused = ctx.tiller.ask("refund order W1000001, it arrived damaged", tenant="acme", user="fuzz.user")
    assert done.run_id is not None and paused.pending_approvals, (done.status, paused.status)
    started = TestClient(app).post("/v1/workflows/runs", json={"workflow": WORKFLOW}, headers=admin)
    assert started.status_code == 202, started.text
    return RealIds(done.thread_id, done.run_id, paused.pending_approvals[0].id, started.json()["id"])


# schemathesis' own generators touch the global `random` module while drawing; hypothesis warns
# about that (in schemathesis' code, not this API's), and warnings are errors here.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_every_operation_answers_as_documented(
    api_schema: Any, admin: dict[str, str], real_ids: RealIds, subtests: Any
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # .ok(): the schema is valid
    assert len(operations) >= 20
    for operation in operations:
        with subtests.test(msg=operation.label):
            _fuzz(operation, admin, real_ids)


def _fuzz(operation: Any, headers: dict[str, str], real_ids: RealIds) -> None:
    """Valid and invalid requests of one operation (also on a real resource); each answer checked."""
    real = real_ids.for_path(operation.path)
    assert bool(real) == ("{" in operation.path), f"{operation.label}: no real resource for its path parameters"
    cases = operation.as_strategy() | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    if real:
        cases |= operation.as_strategy(path_parameters=real)
        cases |= operation.as_strategy(path_parameters=real, generation_mode=GenerationMode.NEGATIVE)

    @hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None)
    @hypothesis.given(case=cases)
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)

    call()


def test_a_body_that_cannot_be_parsed_is_a_documented_400(app: FastAPI, admin: dict[str, str]) -> None:
    """Found by the fuzzer: FastAPI answers 400 to a body that is not UTF-8; it was undocumented."""
    headers = {**admin, "Content-Type": "application/json"}
    answer = TestClient(app).post("/v1/threads", content=b'{"title": "\xff"}', headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["message"] == "There was an error parsing the body"
    assert "400" in app.openapi()["paths"]["/v1/threads"]["post"]["responses"]
