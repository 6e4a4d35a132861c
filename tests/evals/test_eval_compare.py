"""``tiller eval compare``: report folders or run.json files on either side, rounded numbers,
and warnings — first, and in ``--json`` — when the two runs differ in what decides results."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import app
from evals.compare import Delta, compare_runs
from evals.loader import load_scenario
from evals.report import read_record, write_record, write_reports
from evals.results import RunRecord
from evals.runner import RunOptions, run_scenarios

from .conftest import SCENARIOS

runner = CliRunner()
NAMES = ("greeting.yaml", "order-status-shipped.yaml")


@pytest.fixture(scope="module")
def runs(eval_work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two report folders: offline, k=1; then replayed, k=2, with --all and one scenario edited."""
    folder = tmp_path_factory.mktemp("compare-scenarios")
    for name in NAMES:
        shutil.copyfile(SCENARIOS / name, folder / name)
    shutil.copytree(SCENARIOS / "cassettes", folder / "cassettes")
    options = RunOptions(model="offline", k=1, work_dir=eval_work_dir)
    base = run_scenarios([load_scenario(folder / n) for n in NAMES], options)
    greeting = folder / "greeting.yaml"
    greeting.write_text(greeting.read_text().replace("description:", "description: (edited)", 1))
    new = run_scenarios(
        [load_scenario(folder / n) for n in NAMES],
        replace(options, model="replay", k=2, include_unsupported=True),
    )
    out = tmp_path_factory.mktemp("compare-reports")
    write_reports(base, out / "base")
    write_reports(new, out / "new")
    return out / "base", out / "new"


def test_report_folders_compare_and_differences_are_warned_before_anything_else(runs: tuple[Path, Path]) -> None:
    base, new = runs
    result = runner.invoke(app, ["compare", str(base), str(new / "run.json")])  # a folder and a file
    assert result.exit_code == 0, result.output
    out = result.output
    warned = out.index("⚠ the runs differ in more than the agent")
    assert warned < out.index("regressions (pass → fail)")
    assert "• model: offline → replay" in out
    assert "• trials per scenario (k): 1 → 2 (pass^k and majority flips are not comparable)" in out
    assert "• offline: false scenarios run offline (--all): False → True" in out
    assert "• 1 scenario(s) changed between the runs: greeting" in out
    assert "regressions (pass → fail): 0" in out
    assert re.search(r"pass rate: 100\.0% → 100\.0% \(\+0\.0 pts\)", out)
    assert re.search(r"latency p50: \d+\.\d\d s → \d+\.\d\d s \([+-]\d+\.\d\d s", out)
    assert re.search(r"tokens per trial: [\d,]+\.\d → [\d,]+\.\d", out)
    assert "pass^k (k=1 → 2): 1.000 → 1.000" in out
    assert not re.findall(r"\d\.\d{7,}", out), "numbers are rounded"


def test_the_same_run_twice_warns_of_nothing(runs: tuple[Path, Path]) -> None:
    base, _ = runs
    result = runner.invoke(app, ["compare", str(base), str(base)])
    assert result.exit_code == 0 and "⚠" not in result.output


def test_json_output_carries_the_warnings_and_rounded_deltas(runs: tuple[Path, Path]) -> None:
    base, new = runs
    result = runner.invoke(app, ["compare", str(base), str(new), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["base"] == str(base) and data["regressions"] == [] and "majority verdict" in data["noise_rule"]
    assert "model: offline → replay" in data["warnings"]
    assert data["warnings"] == compare_runs(read_record(base), read_record(new)).warnings
    deltas = {d["name"]: d for d in data["deltas"]}
    assert deltas["pass rate"] == {"name": "pass rate", "unit": "rate", "base": 1.0, "new": 1.0, "change": 0.0}
    assert all(len(str(d["new"]).partition(".")[2]) <= 6 for d in data["deltas"])


def test_a_run_json_from_before_version_4_is_compared_with_what_it_records(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    base, new = runs
    old = json.loads((base / "run.json").read_text())
    old = {k: v for k, v in old.items() if k != "settings"} | {"version": 3, "model": "openai:gpt-4o-mini"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    warnings = compare_runs(read_record(tmp_path / "old.json"), read_record(new)).warnings
    assert "model: openai:gpt-4o-mini → replay" in warnings
    assert any("the base run.json predates version 4" in w and "could not be compared" in w for w in warnings)


def test_settings_that_change_results_are_recorded_and_each_difference_named(runs: tuple[Path, Path]) -> None:
    base = read_record(runs[0])
    assert base.settings is not None
    assert base.settings.domains == ["commerce"] and base.settings.retrieval_mode == "bm25"
    assert base.settings.limits["max_steps"] == 8 and set(base.settings.scenarios) == {
        "greeting",
        "order-status-shipped",
    }
    assert base.settings.endpoint is None  # no openai: model in the run
    changed = base.settings.model_copy(
        update={"limits": {**base.settings.limits, "max_steps": 4}, "endpoint": "http://127.0.0.1:8000/v1"}
    )
    other = base.model_copy(update={"settings": changed, "judge": "openai:gpt-4o-mini"})
    assert compare_runs(base, other).warnings == [
        "judge: none → openai:gpt-4o-mini (rubric verdicts are not comparable)",
        "model endpoint (OPENAI_BASE_URL): none → http://127.0.0.1:8000/v1",
        "runtime limit max_steps: 8 → 4",
    ]
    replayed = [
        base.model_copy(update={"settings": base.settings.model_copy(update={"cassettes": {"greeting": digest}})})
        for digest in ("0f1e", "9a8b")
    ]
    assert compare_runs(*replayed).warnings == ["1 cassette(s) changed between the runs: greeting"]


def test_the_endpoint_is_recorded_without_credentials(
    monkeypatch: pytest.MonkeyPatch, eval_work_dir: Path, tmp_path: Path
) -> None:
    from evals.run_settings import run_settings

    monkeypatch.setenv("OPENAI_BASE_URL", "https://user:s3cret@llm.example:8443/v1/?key=abc")
    scenario = load_scenario(SCENARIOS / "greeting.yaml")
    recorded = run_settings([scenario], RunOptions(model="openai:gpt-4o-mini", work_dir=eval_work_dir))
    assert recorded.endpoint == "https://llm.example:8443/v1"
    assert run_settings([scenario], RunOptions(model="offline")).endpoint is None


def test_a_folder_without_run_json_is_refused_with_what_to_give(runs: tuple[Path, Path], tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", str(tmp_path), str(runs[1])])
    assert result.exit_code == 2
    assert "a folder without run.json; name a run.json or the folder `tiller eval run --report DIR` wrote" in " ".join(
        result.output.split()
    )


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (Delta("pass rate", 0.95, 0.9, "rate"), "pass rate: 95.0% → 90.0% (-5.0 pts)"),
        (Delta("mean trajectory F1", 0.91666, 0.8, "score"), "mean trajectory F1: 0.917 → 0.800 (-0.117)"),
        (
            Delta("tokens per trial", 7012.333, 10782, "count"),
            "tokens per trial: 7,012.3 → 10,782.0 (+3,769.7, +53.8%)",
        ),
        (
            Delta("cost per trial", 0.000123, 0.0025, "usd"),
            "cost per trial: $0.000123 → $0.002500 (+$0.002377, +1932.5%)",
        ),
        (Delta("cost per trial", 0.0421, 0.0315, "usd"), "cost per trial: $0.0421 → $0.0315 (-$0.0106, -25.2%)"),
        (Delta("latency p50", 1.23456, 0.5, "seconds"), "latency p50: 1.23 s → 0.50 s (-0.73 s, -59.5%)"),
    ],
)
def test_numbers_read_rounded_in_their_unit(delta: Delta, shown: str) -> None:
    assert delta.render() == shown


def test_an_old_style_record_still_reads_for_compare(runs: tuple[Path, Path], tmp_path: Path) -> None:
    record: RunRecord = read_record(runs[0])
    write_record(record, tmp_path / "run.json")
    assert read_record(tmp_path) == record  # a folder reads as its run.json
