"""The benchmarks run end to end at tiny sizes (``--quick``). No timing is asserted here:
numbers and ratios live in docs/BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langchain.agents", reason="the bench extra (langchain) is not installed")

from bench.__main__ import BENCHMARKS, main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_runs_quick(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = main([name, "--quick", "--workdir", str(tmp_path), "--json", str(tmp_path / "out.json")])
    assert results[name], f"{name} produced no rows"
    printed = capsys.readouterr().out
    assert f"## {BENCHMARKS[name].title}" in printed and "| " in printed
    assert (tmp_path / "out.json").exists()


def test_steps_measures_every_runtime_with_every_checkpointer(tmp_path: Path) -> None:
    rows = main(["steps", "--quick", "--workdir", str(tmp_path)])["steps"]
    cells = {(r.saver, r.runtime) for r in rows}
    assert {"floor", "langgraph", "create_agent", "tiller"} == {runtime for _, runtime in cells}
    assert {("memory", "tiller"), ("sqlite", "tiller"), ("none", "tiller")} <= cells
    written = [r for r in rows if r.saver != "none"]
    assert written and all(r.checkpoint_bytes_per_step for r in written)
