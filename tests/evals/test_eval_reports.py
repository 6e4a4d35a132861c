"""Reports: the JSON record reads back, JUnit XML parses, the HTML is one self-contained file,
and the console table shows every scenario."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from evals.errors import ReportError
from evals.loader import load_scenario
from evals.report import read_record, write_reports
from evals.report.console import print_report
from evals.results import RunRecord
from evals.runner import RunOptions, run_scenarios

from .conftest import SCENARIOS

FAILING = """\
id: wrong-carrier
tags: [lookup]
turns: ["Where is my order W1000002?"]
expect:
  answer: {contains: [FedEx]}
"""


@pytest.fixture(scope="module")
def record(eval_work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunRecord:
    failing = tmp_path_factory.mktemp("failing") / "wrong-carrier.yaml"
    failing.write_text(FAILING, encoding="utf-8")
    scenarios = [load_scenario(SCENARIOS / "order-status-shipped.yaml"), load_scenario(failing)]
    unsupported = load_scenario(SCENARIOS / "multistep-cancel-by-email.yaml")
    options = RunOptions(model="offline", k=2, concurrency=2, work_dir=eval_work_dir)
    return run_scenarios([*scenarios, unsupported], replace(options))


def test_json_record_is_versioned_and_reads_back(record: RunRecord, tmp_path: Path) -> None:
    json_path, _, _ = write_reports(record, tmp_path)
    data = json.loads(json_path.read_text())
    assert data["version"] == 4 and data["k"] == 2
    assert data["summary"] == {**data["summary"], "scenarios": 3, "passed": 1, "failed": 1, "skipped": 1}
    assert read_record(json_path) == record


def test_reading_something_else_is_a_report_error(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text('{"version": 0}')
    with pytest.raises(ReportError, match="version 0 is not supported"):
        read_record(tmp_path / "old.json")
    with pytest.raises(ReportError, match="no such report"):
        read_record(tmp_path / "missing.json")


def test_junit_xml_parses_with_one_case_per_scenario(record: RunRecord, tmp_path: Path) -> None:
    _, junit_path, _ = write_reports(record, tmp_path)
    suite = ET.parse(junit_path).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"order-status-shipped", "wrong-carrier", "multistep-cancel-by-email"}
    failure = cases["wrong-carrier"].find("failure")
    assert failure is not None and failure.get("message") == "answer: answer does not contain 'FedEx'"
    assert "trial 2:" in (failure.text or "")
    assert cases["multistep-cancel-by-email"].find("skipped") is not None
    props = {p.get("name"): p.get("value") for p in cases["order-status-shipped"].iter("property")}
    assert props["pass_hat_k"] == "1.0000" and props["trials_passed"] == "2/2"


def test_html_is_one_self_contained_file(record: RunRecord, tmp_path: Path) -> None:
    _, _, html_path = write_reports(record, tmp_path)
    html = html_path.read_text()
    assert html.startswith("<!doctype html>") and "<script" not in html and "http://" not in html
    assert "<svg" in html and "pass rate by tag" in html
    assert "get_order(order_id=W1000002)" in html  # the expected call, aligned with the actual one
    assert "answer does not contain &#x27;FedEx&#x27;" in html


def test_console_summary_lists_each_scenario_and_explains_failures(record: RunRecord) -> None:
    console = Console(width=160, record=True, color_system=None)
    print_report(record, console)
    text = console.export_text()
    assert "order-status-shipped" in text and "overall (1 passed, 1 failed, 1 skipped)" in text
    assert "✗ wrong-carrier" in text and "answer does not contain 'FedEx'" in text
    assert "skipped multistep-cancel-by-email" in text


def test_a_pass_with_partial_f1_is_explained_in_every_report(eval_work_dir: Path, tmp_path: Path) -> None:
    # The agent looks the order up, then asks to cancel it; the reviewer rejects (it is cancelled
    # already). The scenario expects the lookup, in superset mode: the cancel call is extra, allowed.
    scenario = load_scenario(SCENARIOS / "cancel-already-cancelled.yaml")
    record = run_scenarios([scenario], RunOptions(model="offline", work_dir=eval_work_dir))
    [trial] = record.scenarios[0].trials
    assert record.scenarios[0].status == "passed" and trial.credit.f1 == 0.6667
    note = (
        "F1 0.67: 1 of 2 actual call(s) matched no expected call (precision 0.50); match: superset allows calls "
        "beyond the expected ones, so the trajectory passes"
    )
    assert trial.credit.mode == "superset" and trial.credit.note == note
    assert trial.credit.matched == ["get_order(order_id=W1000005) ↔ step 1 get_order(order_id=W1000005)"]
    assert [c.split("(")[0] for c in trial.credit.extra] == ["step 2 cancel_order"] and trial.credit.missing == []

    console = Console(width=400, record=True, color_system=None)
    print_report(record, console)
    text = console.export_text()
    assert f"~ cancel-already-cancelled {note}" in text
    assert "matched: get_order(order_id=W1000005) ↔ step 1 get_order(order_id=W1000005)" in text
    assert "extra: step 2 cancel_order(order_id=W1000005" in text

    json_path, _, html_path = write_reports(record, tmp_path)
    credit = json.loads(json_path.read_text())["scenarios"][0]["trials"][0]["credit"]
    assert credit["note"] == note and credit["extra"] == trial.credit.extra and credit["mode"] == "superset"
    html = html_path.read_text()
    assert "<div class=credit><p>F1 0.67: 1 of 2 actual call(s) matched no expected call" in html
    assert "extra: allowed by match superset" in html and "class='row-extra'" in html
