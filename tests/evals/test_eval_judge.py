"""The LLM judge of answer rubrics, against the local fake OpenAI server: a pass, a fail with
the judge's reasons, a malformed verdict reported as an error, and no judge → skipped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from evals.cli import app
from evals.report import write_reports
from evals.report.console import print_report
from evals.results import CheckResult, RunRecord
from evals.runner import RunOptions, run_scenarios
from evals.scenario import Scenario

from .conftest import ServeFake, call, requests_of, say, verdict

JUDGE = "gpt-4o-mini"

SHIPPED = """\
id: shipped-with-rubric
tags: [lookup]
turns: ["Where is my order W1000002?"]
expect:
  status: completed
  answer:
    contains: [W1000002]
    rubric:
      - names the carrier
      - gives the tracking number
"""

cli = CliRunner()


def rubric_check(record: RunRecord, name: str = "answer rubric") -> CheckResult:
    [trial] = record.scenarios[0].trials
    return next(c for c in trial.checks if c.name == name)


def console_text(record: RunRecord) -> str:
    console = Console(width=200, record=True, color_system=None)
    print_report(record, console)
    return console.export_text()


def rubric_cell(record: RunRecord) -> str:
    """The rubric column of the scenario's row in the console table."""
    text = console_text(record)
    header = next(line for line in text.splitlines() if "┃ scenario" in line)
    row = next(line for line in text.splitlines() if line.startswith(f"│ {record.scenarios[0].id} "))
    column = [c.strip() for c in header.split("┃")].index("rubric")
    return row.split("│")[column].strip()


@pytest.fixture
def shipped(write_scenario: Callable[[str, str], Scenario]) -> Scenario:
    return write_scenario("shipped-with-rubric", SHIPPED)


def test_the_judge_passes_a_rubric_and_is_shown_the_whole_conversation(
    shipped: Scenario, options: RunOptions, fake_llm: ServeFake
) -> None:
    with fake_llm([verdict((True, "It says UPS."), (True, "It gives 1Z999AA10123456784."))]) as server:
        record = run_scenarios([shipped], replace(options, judge=f"openai:{JUDGE}"))
    check = rubric_check(record)
    assert record.scenarios[0].status == "passed" and record.judge == f"openai:{JUDGE}"
    assert check.outcome == "passed"
    assert [(r.criterion, r.passed, r.reason) for r in check.criteria] == [
        ("names the carrier", True, "It says UPS."),
        ("gives the tracking number", True, "It gives 1Z999AA10123456784."),
    ]
    [request] = requests_of(server, JUDGE)
    assert request["response_format"]["type"] == "json_schema"  # structured output, not free text
    task = request["messages"][-1]["content"]
    assert "[turn 1] customer: Where is my order W1000002?" in task
    assert "[turn 1] tool get_order(order_id=W1000002) → executed: " in task and "1Z999AA10123456784" in task
    assert "## Criteria\n1. names the carrier\n2. gives the tracking number" in task
    assert rubric_cell(record) == "2/2"  # criteria met / judged


def test_a_failed_criterion_fails_the_scenario_with_the_judges_reason(
    shipped: Scenario, fake_llm: ServeFake, tmp_path: Path
) -> None:
    folder = shipped.source.parent  # type: ignore[union-attr]
    reply = verdict((True, "It says UPS."), (False, "The answer gives no tracking number."))
    with fake_llm([reply]):
        result = cli.invoke(app, ["run", str(folder), "--judge", f"openai:{JUDGE}", "--report", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "answer rubric: ✗ 'gives the tracking number': The answer gives no tracking number." in result.output
    assert "'names the carrier'" not in result.output  # explanations name what failed
    data = json.loads((tmp_path / "out" / "run.json").read_text())
    check = data["scenarios"][0]["trials"][0]["checks"][-1]
    assert check["name"] == "answer rubric" and check["passed"] is False and check["error"] is False
    assert [c["passed"] for c in check["criteria"]] == [True, False]
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "out" / "junit.xml").getroot().iter("testcase")}
    failure = cases["shipped-with-rubric [answer rubric]"].find("failure")
    assert failure is not None and "no tracking number" in (failure.get("message") or "")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "The answer gives no tracking number." in html and "judge's reason" in html


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (say("Both criteria are met."), "the judge's reply is not a valid verdict: reply: Invalid JSON"),
        (say('{"criteria": [{"number": 1, "passed": "maybe"}]}'), "not a valid verdict: criteria.0.passed"),
        (verdict((True, "UPS")), "does not match the rubric of 2: no verdict on criterion 2"),
        (say(json.dumps({"criteria": [{"number": 1, "passed": True, "reason": "x"}] * 2})), "criterion 1 twice"),
        (call("JudgeVerdict", criteria=[]), "the judge's reply is not a verdict (reply: '')"),
        ({"status": 400, "error": "bad request"}, "the judge model failed (model_bad_request)"),
    ],
    ids=["not-json", "wrong-shape", "missing-criterion", "graded-twice", "no-content", "call-failed"],
)
def test_a_malformed_verdict_is_an_error_of_the_judge_never_a_pass(
    shipped: Scenario, options: RunOptions, fake_llm: ServeFake, reply: dict[str, object], why: str
) -> None:
    with fake_llm([reply]):
        record = run_scenarios([shipped], replace(options, judge=f"openai:{JUDGE}"))
    check = rubric_check(record)
    assert check.outcome == "error" and not check.passed and not check.criteria
    assert record.scenarios[0].status == "failed"
    [detail] = check.details
    assert detail.startswith(f"judge error (openai:{JUDGE}): ") and why in detail
    assert rubric_cell(record) == "error"
    junit = ET.fromstring(_junit(record))
    assert junit.get("errors") == "1"
    error = next(c for c in junit.iter("testcase") if c.get("name") == "shipped-with-rubric [answer rubric]")
    assert error.find("error") is not None and error.find("error").get("type") == "JudgeError"  # type: ignore[union-attr]


def test_without_a_judge_the_rubric_is_skipped_never_passed(
    shipped: Scenario, options: RunOptions, tmp_path: Path
) -> None:
    record = run_scenarios([shipped], options)
    check = rubric_check(record)
    assert check.outcome == "skipped" and check.passed is False and record.judge is None
    assert check.details == ["not judged: no judge model: run with --judge openai:<model> (or set TILLER_EVAL_JUDGE)"]
    assert record.scenarios[0].status == "passed"  # a skipped check does not fail the scenario…
    assert rubric_cell(record) == "skip"  # …and it says so, in the table and below it
    text = console_text(record)
    assert "rubric skipped not judged: no judge model" in text and "shipped-with-rubric (answer rubric)" in text
    paths = write_reports(record, tmp_path)
    cases = {c.get("name"): c for c in ET.parse(paths[1]).getroot().iter("testcase")}
    skipped = cases["shipped-with-rubric [answer rubric]"].find("skipped")
    assert skipped is not None and "no judge model" in (skipped.get("message") or "")
    assert cases["shipped-with-rubric"].find("skipped") is None  # the scenario itself passed
    assert "<span class=skip>skipped</span> answer rubric" in paths[2].read_text()


def test_a_turn_rubric_grades_that_turns_answer(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, fake_llm: ServeFake
) -> None:
    scenario = write_scenario(
        "two-turns",
        "id: two-turns\nturns:\n  - message: Where is my order W1000002?\n    answer: {rubric: names the carrier}\n"
        "  - hello\n",
    )
    with fake_llm([verdict((True, "UPS"))]) as server:
        record = run_scenarios([scenario], replace(options, judge=f"openai:{JUDGE}"))
    assert rubric_check(record, "turn 1 answer rubric").outcome == "passed"
    task = requests_of(server, JUDGE)[0]["messages"][-1]["content"]
    assert "## The answer to grade (the agent's reply in turn 1)" in task and "[turn 2]" not in task


def test_the_judge_comes_from_the_environment_and_a_bad_spec_is_refused(
    shipped: Scenario, fake_llm: ServeFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(shipped.source.parent)  # type: ignore[union-attr]
    with fake_llm([verdict((True, "UPS"), (True, "1Z999AA10123456784"))]) as server:
        monkeypatch.setenv("TILLER_EVAL_JUDGE", f"openai:{JUDGE}")
        result = cli.invoke(app, ["run", folder])
    assert result.exit_code == 0, result.output
    assert f"judge openai:{JUDGE}" in result.output and len(requests_of(server, JUDGE)) == 1
    refused = cli.invoke(app, ["run", folder, "--judge", "offline"])
    assert refused.exit_code == 2 and "the judge needs a live model" in refused.output
    monkeypatch.delenv("OPENAI_API_KEY")
    keyless = cli.invoke(app, ["run", folder, "--judge", f"openai:{JUDGE}"])
    assert keyless.exit_code == 2 and "needs OPENAI_API_KEY" in keyless.output


def _junit(record: RunRecord) -> str:
    from evals.report.junit import junit_tree

    return ET.tostring(junit_tree(record).getroot(), encoding="unicode")
