"""The published JSON schema of run.json: the committed file is the generated one, a real
run.json (judge and simulated user included) validates against it, and old reports still read."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from evals import results
from evals.cli import app
from evals.errors import ReportError
from evals.report import read_record, write_reports
from evals.results import REPORT_VERSION, SCHEMA_PATH, json_schema
from evals.runner import RunOptions, run_scenarios
from evals.scenario import Scenario

from .conftest import ServeFake, say, verdict

SIMULATED = """\
id: simulated-status
tags: [simulated]
turns: ["hello"]
user_simulator: {persona: Jane, goal: know where W1000002 is, max_turns: 2}
expect:
  answer: {rubric: [names the carrier]}
"""


def test_the_committed_run_schema_is_the_generated_one() -> None:
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == json_schema(), "evals/run.schema.json is stale: run `tiller eval schema`"
    assert committed["$id"] == f"https://tiller.dev/schemas/run-v{REPORT_VERSION}.json"
    assert committed["properties"]["version"] == {
        "const": REPORT_VERSION,
        "default": REPORT_VERSION,
        "title": "Version",
        "type": "integer",
    }


def test_a_real_run_json_validates_against_the_published_schema(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, fake_llm: ServeFake, tmp_path: Path
) -> None:
    scenario = write_scenario("simulated-status", SIMULATED)
    script = [say("Where is my order W1000002?"), say("###DONE###"), verdict((False, "It names no carrier."))]
    with fake_llm(script):
        live = replace(options, judge="openai:gpt-4o-mini", simulator="openai:gpt-4.1-nano", k=1)
        record = run_scenarios([scenario], live)
    run_json, _, _ = write_reports(record, tmp_path)
    data = json.loads(run_json.read_text())
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    assert not [e.message for e in validator.iter_errors(data)]
    trial = data["scenarios"][0]["trials"][0]  # the new fields are really there, and validated
    assert trial["transcript"]["simulation"] == {"model": "openai:gpt-4.1-nano", "turns": 1, "ended": "done"}
    assert trial["checks"][-1]["criteria"] == [
        {"criterion": "names the carrier", "passed": False, "reason": "It names no carrier."}
    ]
    broken = {**data, "scenarios": [{**data["scenarios"][0], "status": "flaky"}]}
    assert any("'flaky' is not one of" in e.message for e in validator.iter_errors(broken))


V2_FIELDS = {"judge", "simulator", "error", "criteria", "source", "simulation", "routes", "tiers"}
"""Fields added since version 1 (version 2: judge and simulator; version 3: router tiers)."""


def _as_version_3(data: dict[str, Any]) -> dict[str, Any]:
    """A version 4 record as version 3 wrote it: no settings, partial credit as three numbers."""
    old = {k: v for k, v in data.items() if k != "settings"}
    for scenario in old["scenarios"]:
        for trial in scenario["trials"]:
            trial["credit"] = {k: trial["credit"][k] for k in ("precision", "recall", "f1")}
    return old


def _as_version_1(value: Any) -> Any:
    """``value`` (a version 3 record) without the fields versions 2 and 3 added."""
    if isinstance(value, dict):
        return {k: _as_version_1(v) for k, v in value.items() if k not in V2_FIELDS}
    if isinstance(value, list):
        return [_as_version_1(v) for v in value]
    return value


def test_a_version_1_report_still_reads(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, tmp_path: Path
) -> None:
    scenario = write_scenario("greeting", "id: greeting\nturns: [hello]\nexpect: {status: completed}\n")
    record = run_scenarios([scenario], options)
    old = {**_as_version_1(_as_version_3(json.loads(record.model_dump_json()))), "version": 1}
    (tmp_path / "old.json").write_text(json.dumps(old))
    again = read_record(tmp_path / "old.json")
    assert again.version == REPORT_VERSION and again.judge is None and again.settings is None
    assert again.scenarios[0].trials[0].transcript.turns[0].source == "script"
    assert again.scenarios[0].trials[0].credit.mode is None
    assert again == record.model_copy(update={"settings": None})  # nothing else was lost
    (tmp_path / "future.json").write_text(json.dumps({**old, "version": 5}))
    with pytest.raises(ReportError, match="report version 5 is not supported"):
        read_record(tmp_path / "future.json")


def test_schema_check_fails_when_the_run_schema_is_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "run.schema.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(results, "SCHEMA_PATH", stale)
    outcome = CliRunner().invoke(app, ["schema", "--check"])
    assert outcome.exit_code == 1 and f"{stale} is out of date; run `tiller eval schema`" in outcome.output
    assert stale.read_text() == "{}\n"  # --check never writes
