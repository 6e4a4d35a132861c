"""Where the server's CPU goes under load: py-spy on the ``tiller serve`` process, summarised.

``python -m bench load --profile 30`` starts ``py-spy record --gil`` on the server once the
warm-up is over and records for that many seconds. ``--gil`` samples only the thread holding the
GIL, so the samples are the process's Python CPU time (waiting threads and an idle event loop are
not counted). The raw stacks are written beside the JSON result (``<name>.pyspy.txt``, py-spy's
collapsed format, for a flame graph) and summarised here: the share of samples per package and
the Tiller functions with the most inclusive time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Packages a sample is attributed to: its deepest frame whose path starts with (or has after a "/")
# one of these, the first that matches. py-spy names a frame of LangGraph — a namespace package —
# by its path under ``langgraph/`` (``pregel/_loop.py``, ``checkpoint/…``, ``_internal/…``), so
# those come last, after every package that holds folders of the same name (pydantic/_internal).
_PACKAGES = (
    ("agent/", "tiller (agent/)"),
    ("tools/", "tiller (tools/)"),
    ("openai/", "openai SDK"),
    ("langchain_openai/", "langchain-openai"),
    ("langchain_core/", "langchain-core"),
    ("langgraph/", "langgraph"),
    ("pydantic", "pydantic"),
    ("sqlalchemy/", "sqlalchemy"),
    ("aiosqlite/", "aiosqlite"),
    ("httpx", "httpx / httpcore"),
    ("httpcore", "httpx / httpcore"),
    ("uvicorn/", "uvicorn / starlette / fastapi"),
    ("starlette/", "uvicorn / starlette / fastapi"),
    ("fastapi/", "uvicorn / starlette / fastapi"),
    ("h11/", "uvicorn / starlette / fastapi"),
    ("anyio/", "anyio"),
    ("asyncio/", "asyncio"),
    ("threading.py", "threads"),
    ("concurrent/futures/", "threads"),
    ("json/", "json"),
    *((f"{folder}/", "langgraph") for folder in ("pregel", "_internal", "channels", "checkpoint", "serde", "sqlite")),
    *((f"{folder}/", "langgraph") for folder in ("graph", "managed", "func", "prebuilt")),
)
_FRAME = re.compile(r"(?P<func>.*) \((?P<path>.*?):\d+\)$")


@dataclass
class Profile:
    """A summary of py-spy's samples."""

    samples: int = 0
    packages: list[tuple[str, float]] = field(default_factory=list)
    """(package, share of samples), largest first."""
    functions: list[tuple[str, float]] = field(default_factory=list)
    """(Tiller function, inclusive share of samples), largest first."""
    raw: str | None = None


def frame_name(frame: str) -> str:
    """``func (…/site-packages/pkg/mod.py:12)`` → ``pkg/mod.py:func``."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = re.sub(r".*site-packages/", "", m["path"])
    path = re.sub(r".*?/(?=(agent|tools|bench|evals)/)", "", path)
    return f"{path}:{m['func']}"


def summarise(collapsed: str, top: int = 25) -> Profile:
    """Per-package shares (by the deepest known frame) and Tiller's heaviest functions."""
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [frame_name(f) for f in stack.split(";")]
        packages[_package(frames)] += n
        for name in {f for f in frames if f.startswith(("agent/", "tools/"))}:
            inclusive[name] += n
    if not total:
        return Profile()
    return Profile(
        samples=total,
        packages=[(p, round(100 * n / total, 1)) for p, n in packages.most_common()],
        functions=[(f, round(100 * n / total, 1)) for f, n in inclusive.most_common(top)],
    )


def _package(frames: list[str]) -> str:
    for frame in reversed(frames):
        path = frame.split(":", 1)[0]
        for marker, package in _PACKAGES:
            if path.startswith(marker) or f"/{marker}" in path:
                return package
    return "other"


class ServerProfiler:
    """Records the server with py-spy on a background thread: ``start`` after ``delay_s``."""

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        self.pid, self.seconds, self.out = pid, seconds, out
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self, delay_s: float) -> None:
        beside = Path(sys.executable).with_name("py-spy")  # the venv's, when it is not on PATH
        spy = str(beside) if beside.exists() else shutil.which("py-spy")
        if spy is None:
            self.error = "py-spy is not installed (pip install -e '.[bench]')"
            return
        self._thread = threading.Thread(target=self._record, args=(spy, delay_s), daemon=True)
        self._thread.start()

    def _record(self, spy: str, delay_s: float) -> None:
        time.sleep(delay_s)
        cmd = [spy, "record", "--pid", str(self.pid), "--gil", "--rate", "100", "--duration", str(int(self.seconds))]
        cmd += ["--format", "raw", "--nonblocking", "--output", str(self.out)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            self.error = f"py-spy failed ({done.returncode}): {done.stderr.strip()[-300:]}"

    def finish(self) -> Profile | None:
        """The summary once py-spy has written its file (``None`` if it could not run)."""
        if self._thread is not None:
            self._thread.join(timeout=self.seconds + 30)
        if self.error or not self.out.exists():
            return None
        profile = summarise(self.out.read_text())
        profile.raw = str(self.out)
        return profile


def render_profile(profile: Profile | None, error: str | None) -> list[str]:
    """Markdown lines for the report."""
    if profile is None:
        return ["", f"Profile: not recorded ({error or 'no samples'})."]
    lines = ["", f"### Server CPU profile (py-spy --gil, {profile.samples} samples; raw: {profile.raw})", ""]
    lines += ["| package | share of CPU |", "|---|---|", *(f"| {p} | {s} % |" for p, s in profile.packages)]
    lines += ["", "| Tiller function (inclusive) | share of CPU |", "|---|---|"]
    lines += [f"| `{f}` | {s} % |" for f, s in profile.functions]
    return lines
