"""The load benchmark's profile: py-spy's collapsed stacks summarised per package and per Tiller function."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load_profile import ServerProfiler, frame_name, render_profile, summarise

SITE = "/venv/lib/python3.11/site-packages"
STACKS = "\n".join(
    [
        f"run (/repo/agent/loop/graph.py:10);create ({SITE}/openai/resources/chat.py:5) 30",
        "run (/repo/agent/loop/graph.py:10);_hits (/repo/agent/checks/injection/detector.py:80) 10",
        f"select ({SITE}/../selectors.py:1) 60",
        # LangGraph as py-spy names it (a namespace package: its frames' paths start below langgraph/)
        "run (/repo/agent/loop/graph.py:10);tick (pregel/_loop.py:3);put (checkpoint/sqlite/__init__.py:9) 8",
        f"tick (pregel/_loop.py:3);validate ({SITE}/pydantic/_internal/_validators.py:2) 2",
        "garbage line",
    ]
)


def test_frames_are_named_by_package_path_and_function() -> None:
    assert frame_name(f"create ({SITE}/openai/resources/chat.py:5)") == "openai/resources/chat.py:create"
    assert frame_name("run (/work/main/agent/loop/graph.py:10)") == "agent/loop/graph.py:run"


def test_samples_are_attributed_to_their_deepest_known_package() -> None:
    profile = summarise(STACKS)
    assert profile.samples == 110
    assert dict(profile.packages) == {
        "other": 54.5,
        "openai SDK": 27.3,
        "tiller (agent/)": 9.1,
        "langgraph": 7.3,
        "pydantic": 1.8,  # pydantic/_internal is pydantic's, not LangGraph's _internal/
    }
    assert profile.functions[0] == ("agent/loop/graph.py:run", 43.6)  # inclusive: the stacks through it
    lines = render_profile(profile, None)
    assert any("| openai SDK | 27.3 % |" in line for line in lines)


def test_a_profile_that_could_not_run_says_why() -> None:
    assert "py-spy is not installed" in render_profile(None, "py-spy is not installed (pip install -e '.[bench]')")[-1]


def test_py_spy_records_a_running_process(tmp_path: Path) -> None:
    busy = subprocess.Popen([sys.executable, "-c", "while True: sum(range(1000))"])
    try:
        profiler = ServerProfiler(busy.pid, 2, tmp_path / "stacks.txt")
        profiler.start(delay_s=0.2)
        profile = profiler.finish()
    finally:
        busy.kill()
        busy.wait()
    if profile is None and profiler.error and "Permission" in profiler.error and os.geteuid() != 0:
        pytest.skip(f"py-spy may not attach here: {profiler.error}")  # ptrace needs root or CAP_SYS_PTRACE
    assert profile is not None, profiler.error
    assert profile.samples > 20
