"""``tiller eval …`` through typer's CliRunner: exit codes, validate, selfcheck, record, compare."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.models.scripted import ScriptedChatModel
from evals.cli import app
from evals.loader import load_scenario
from evals.report import write_record
from evals.runner import RunOptions, run_scenarios

from .conftest import SCENARIOS

runner = CliRunner()


def copy(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copyfile(SCENARIOS / name, folder / name)
    return folder


def test_run_passes_writes_reports_and_exits_zero(tmp_path: Path) -> None:
    folder = copy(tmp_path, "order-status-shipped.yaml", "greeting.yaml")
    result = runner.invoke(
        app, ["run", str(folder), "-k", "2", "--concurrency", "2", "--report", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "overall (2 passed, 0 failed, 0 skipped)" in result.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"run.json", "junit.xml", "report.html"}


def test_run_exits_one_when_a_scenario_fails_and_explains_why(tmp_path: Path) -> None:
    folder = copy(tmp_path, "greeting.yaml")
    (folder / "greeting.yaml").write_text((folder / "greeting.yaml").read_text().replace("[help]", "[goodbye]"))
    result = runner.invoke(app, ["run", str(folder)])
    assert result.exit_code == 1
    assert "answer: answer does not contain 'goodbye'" in result.output


def test_run_exits_two_on_invalid_files_and_filters_by_tag(tmp_path: Path) -> None:
    folder = copy(tmp_path, "greeting.yaml")
    (folder / "broken.yaml").write_text("id: broken\nturns: hello\n")
    result = runner.invoke(app, ["run", str(folder)])
    assert result.exit_code == 2 and "broken.yaml:2:1: turns: 'hello' is not of type 'array'" in result.output
    (folder / "broken.yaml").unlink()
    assert runner.invoke(app, ["run", str(folder), "--tags", "refund"]).exit_code == 2  # nothing selected
    assert runner.invoke(app, ["run", str(folder), "--tags", "lookup,smalltalk"]).exit_code == 0


def test_validate_reports_each_file(tmp_path: Path) -> None:
    folder = copy(tmp_path, "greeting.yaml")
    assert runner.invoke(app, ["validate", str(folder)]).exit_code == 0
    (folder / "bad.yaml").write_text("id: bad\nturns: [hi]\nexpect: {answr: {}}\n")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "bad.yaml:3:10: expect: unknown field 'answr'; did you mean 'answer'?" in result.output
    assert "1 valid, 1 invalid" in result.output


def test_selfcheck_flags_a_scenario_that_doing_nothing_passes(tmp_path: Path) -> None:
    folder = copy(tmp_path, "cancel-processing-approved.yaml")
    assert runner.invoke(app, ["selfcheck", str(folder)]).exit_code == 0
    (folder / "loose.yaml").write_text("id: loose\nturns: [Cancel order W1000003]\nexpect: {status: completed}\n")
    result = runner.invoke(app, ["selfcheck", str(folder)])
    assert result.exit_code == 1 and "too loose loose" in result.output


def test_record_writes_a_cassette_that_replays(tmp_path: Path) -> None:
    folder = copy(tmp_path, "refund-damaged-approved.yaml")
    result = runner.invoke(app, ["record", str(folder), "--model", "offline"])
    assert result.exit_code == 0, result.output
    assert (folder / "cassettes" / "refund-damaged-approved.yaml").exists()
    assert runner.invoke(app, ["run", str(folder), "--model", "replay"]).exit_code == 0


def test_record_refuses_a_router_spec_and_says_why(tmp_path: Path) -> None:
    folder = copy(tmp_path, "greeting.yaml")
    result = runner.invoke(app, ["record", str(folder), "--model", "router:offline,offline"])
    assert result.exit_code == 1
    assert "a router cannot be recorded" in result.output and "ValidationError" not in result.output
    assert not (folder / "cassettes").exists()


def test_compare_catches_a_regression_introduced_on_purpose(tmp_path: Path, eval_work_dir: Path) -> None:
    scenarios = [load_scenario(SCENARIOS / n) for n in ("order-status-shipped.yaml", "greeting.yaml")]
    options = RunOptions(model="offline", k=3, work_dir=eval_work_dir)
    base = run_scenarios(scenarios, options)
    # The regression: a model that never looks anything up (it only greets).
    broken = run_scenarios(
        scenarios, options, model_factory=lambda s, t: ScriptedChatModel(lambda m, tools: "Hello! How can I help?")
    )
    write_record(base, tmp_path / "base.json")
    write_record(broken, tmp_path / "new.json")
    result = runner.invoke(
        app, ["compare", str(tmp_path / "base.json"), str(tmp_path / "new.json"), "--fail-on-regression"]
    )
    assert result.exit_code == 1
    assert (
        "regressions (pass → fail): 1" in result.output
        and "order-status-shipped: pass → fail (3/3 → 0/3)" in result.output
    )
    assert "majority verdict" in result.output
    same = runner.invoke(
        app, ["compare", str(tmp_path / "base.json"), str(tmp_path / "base.json"), "--fail-on-regression"]
    )
    assert same.exit_code == 0 and "regressions (pass → fail): 0" in same.output


def test_schema_check_passes_on_the_committed_schema() -> None:
    assert runner.invoke(app, ["schema", "--check"]).exit_code == 0


def test_without_paths_the_domains_own_scenarios_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLER_DOMAIN", "commerce")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "scenarios/commerce/" in result.output and " 0 invalid" in result.output
    monkeypatch.setenv("TILLER_DOMAIN", "no-such-domain")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2 and "no-such-domain" in result.output
