"""Fixtures of the eval tests: one work dir per session so seeded templates are built once; the
local fake OpenAI server for the judge, the simulated user and a live-path agent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from evals.loader import load_scenario
from evals.runner import RunOptions
from evals.scenario import Scenario
from tests.fakes.openai_server import API_KEY, FakeOpenAI, fake_openai

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios" / "commerce"


@pytest.fixture(scope="session")
def eval_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every runner call of the session: templates are seeded once, copied per trial."""
    return tmp_path_factory.mktemp("eval-work")


@pytest.fixture
def options(eval_work_dir: Path) -> RunOptions:
    return RunOptions(model="offline", work_dir=eval_work_dir)


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str, str], Scenario]:
    """``write_scenario(name, yaml_text)`` → the loaded scenario (file under tmp_path)."""

    def write(name: str, text: str) -> Scenario:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path)

    return write


ServeFake = Callable[..., AbstractContextManager[FakeOpenAI]]


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> ServeFake:
    """``with fake_llm(replies) as server:`` — the local fake OpenAI server playing ``replies``
    in order (to the agent, the judge and the simulated user alike: tell them apart by
    ``request["model"]``), with ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` pointing at it."""
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)

    @contextmanager
    def serve(replies: list[dict[str, Any]]) -> Iterator[FakeOpenAI]:
        with fake_openai(replies) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            yield server

    return serve


def say(text: str) -> dict[str, Any]:
    """A scripted reply of plain text (an agent's answer, a simulated user's message)."""
    return {"content": text}


def call(tool: str, **args: Any) -> dict[str, Any]:
    """A scripted reply calling one tool."""
    return {"content": None, "tool_calls": [{"name": tool, "arguments": args}]}


def verdict(*criteria: tuple[bool, str]) -> dict[str, Any]:
    """A judge's scripted reply: ``(passed, reason)`` per criterion, numbered from 1."""
    items = [{"number": n, "passed": ok, "reason": why} for n, (ok, why) in enumerate(criteria, start=1)]
    return {"content": json.dumps({"criteria": items})}


def requests_of(server: FakeOpenAI, model: str) -> list[dict[str, Any]]:
    """The requests the fake server got for ``model``."""
    return [r for r in server.requests if r.get("model") == model]
