"""The load test with several service workers (``--workers``, ``--database-url``, ``--redis-url``):
its options refuse what cannot work, its probe counts the worker processes' CPU, and a short
run on PostgreSQL + Redis completes without errors (no timing assertion)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.load import LoadOptions
from bench.load_server import cpu_seconds, process_tree, tree_cpu_seconds

PG_URL = os.environ.get("TILLER_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("TILLER_TEST_REDIS_URL")


def test_workers_need_a_shared_postgresql_database() -> None:
    with pytest.raises(ValueError, match="--database-url postgresql"):
        LoadOptions(workers=2)
    with pytest.raises(ValueError, match="at least 1"):
        LoadOptions(workers=0)
    assert LoadOptions(workers=2, database_url="postgresql://db/x").workers == 2


def test_the_probe_counts_the_cpu_of_child_processes() -> None:
    # A parent that only waits, with a child that burns 0.5 s of CPU then idles.
    burn = "import time\nwhile time.process_time() < 0.5: pass\ntime.sleep(30)\n"
    script = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {burn!r}])\n"
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while (tree_cpu_seconds(parent.pid) or 0) < 0.5:
            assert time.monotonic() < deadline, "the child's CPU never showed"
            time.sleep(0.1)
        assert (cpu_seconds(parent.pid) or 0) < 0.4  # the parent's own share is small
        assert process_tree(parent.pid)[1:]
    finally:
        for child in process_tree(parent.pid)[1:]:
            os.kill(child, signal.SIGKILL)
        parent.wait(10)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="needs TILLER_TEST_POSTGRES_URL and TILLER_TEST_REDIS_URL")
def test_two_workers_on_postgresql_and_redis_serve_the_load(tmp_path: Path) -> None:
    argv = ["load", "--quick", "--duration", "6", "--model", "slow:20", "--workers", "2"]
    argv += ["--database-url", str(PG_URL), "--redis-url", str(REDIS_URL)]
    argv += ["--workdir", str(tmp_path), "--json", str(tmp_path / "load.json")]
    (report,) = main(argv)["load"]
    assert report.errors == {} and report.summary.runs > 0
    assert report.server_env["TILLER_REDIS_URL"] == REDIS_URL
    assert report.server_env["TILLER_DATABASE_URL"].startswith(str(PG_URL))
