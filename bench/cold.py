"""Cold start: ``tiller --help`` and the first answered ``tiller ask``, each in a new process.

Like hyperfine: one discarded warm-up run (it fills the page cache and writes ``.pyc`` files),
then ``runs`` timed runs of the whole process, wall clock from ``fork`` to exit. The ``ask``
runs use a seeded demo home (offline model, BM25 index) prepared once beforehand, so they time
start-up plus one answered request, not the seeding.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Column
from bench.stats import median, percentile

QUESTION = "where is my order W1000002?"


@dataclass(frozen=True)
class ColdRow:
    command: str
    runs: int
    median_s: float
    p95_s: float
    min_s: float


def tiller_executable() -> str:
    """The ``tiller`` script installed next to this interpreter."""
    path = Path(sys.executable).with_name("tiller")
    if not path.exists():
        raise RuntimeError(f"no tiller script at {path}; install the project (pip install -e .)")
    return str(path)


def bench_env(home: Path) -> dict[str, str]:
    """The environment of the timed processes: a private home, the offline model, BM25."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILLER_", "OPENAI_"))}
    return env | {"TILLER_HOME": str(home), "TILLER_MODEL": "offline", "TILLER_RETRIEVAL_MODE": "bm25"}


def prepare_home(home: Path) -> None:
    """Seed a demo home the way a user would (``tiller db init``, ``seed``, ``index``)."""
    exe, env = tiller_executable(), bench_env(home)
    for args in (["db", "init"], ["db", "seed"], ["index"]):
        subprocess.run([exe, *args], env=env, check=True, capture_output=True)


def time_command(argv: list[str], env: dict[str, str], runs: int) -> ColdRow:
    """Run ``argv`` once to warm up, then ``runs`` times, timing each process."""
    subprocess.run(argv, env=env, check=True, capture_output=True)
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    shown = shlex.join(["tiller", *argv[1:]])
    return ColdRow(shown, runs, median(times), percentile(times, 95), min(times))


def run_cold(workdir: Path, runs: int = 10) -> list[ColdRow]:
    """``tiller --help`` and ``tiller ask`` (a new thread each time) timed as whole processes."""
    home = workdir / "cold-home"
    prepare_home(home)
    exe, env = tiller_executable(), bench_env(home)
    return [
        time_command([exe, "--help"], env, runs),
        time_command([exe, "ask", QUESTION], env, runs),
    ]


COLD_COLUMNS = [
    Column("command", lambda r: f"`{r.command}`"),
    Column("runs", lambda r: r.runs),
    Column("median s", lambda r: r.median_s, "{:.3f}"),
    Column("p95 s", lambda r: r.p95_s, "{:.3f}"),
    Column("min s", lambda r: r.min_s, "{:.3f}"),
]
