"""Loading scenarios: every error names the file, the line and the field; the published schema
is the one the models generate; discovery skips what is not a scenario."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from evals.errors import ScenarioInvalid, ScenarioSyntaxError
from evals.loader import SCHEMA_PATH, discover, json_schema, load_scenario
from evals.scenario import ApproxMatcher

VALID = """\
id: refund-ok
tags: [refund]
turns:
  - Refund order W1000001, the tent arrived damaged
reviewer:
  - approve
  - {decision: edit, args: {amount: 100.00}}
expect:
  trajectory:
    match: superset
    calls:
      - tool: issue_refund
        args: {order_id: W1000001, amount: {approx: 129.99}}
  state:
    - {table: refunds, where: {order_id: W1000001}, count: 1}
"""


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises((ScenarioInvalid, ScenarioSyntaxError)) as caught:
        load_scenario(path)
    return [line.removeprefix(f"{path}:") for line in str(caught.value).splitlines()]


def test_committed_schema_is_the_generated_one() -> None:
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == json_schema(), "evals/scenario.schema.json is stale: run `tiller eval schema`"


def test_a_valid_scenario_loads_with_decimals_and_matchers(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID))
    assert scenario.id == "refund-ok" and scenario.source == tmp_path / "case.yaml"
    assert scenario.decisions[1].args == {"amount": Decimal("100.00")}
    call = scenario.expect.trajectory.calls[0]  # type: ignore[union-attr]
    assert call.args["amount"] == ApproxMatcher(approx=Decimal("129.99"))
    assert scenario.cassette_path == tmp_path / "cassettes" / "refund-ok.yaml"


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    assert problems(tmp_path, "id: x\nturns:\n  - [unclosed\n") == [
        "4:1: not valid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)"
    ]


def test_an_unknown_field_names_its_line_and_suggests_the_right_one(tmp_path: Path) -> None:
    text = VALID.replace("  trajectory:\n    match: superset", "  trajectory:\n    mach: superset")
    assert problems(tmp_path, text) == ["10:5: expect.trajectory: unknown field 'mach'; did you mean 'match'?"]


def test_a_bad_enum_value_names_line_and_field(tmp_path: Path) -> None:
    text = VALID.replace("match: superset", "match: strictly")
    assert problems(tmp_path, text) == [
        "10:5: expect.trajectory.match: 'strictly' is not one of 'strict', 'unordered', 'subset', 'superset'"
    ]


def test_errors_inside_a_list_point_into_the_item(tmp_path: Path) -> None:
    text = VALID.replace("  - approve\n", "  - aprove\n")
    assert problems(tmp_path, text) == ["6:5: reviewer[0]: 'aprove' is not one of 'approve', 'reject', 'pending'"]


def test_a_missing_required_field(tmp_path: Path) -> None:
    assert problems(tmp_path, "id: no-turns\nexpect: {}\n") == [
        "1:1: missing required field: 'turns' or 'user_simulator'"
    ]
    assert problems(tmp_path, "id: no-turns\nturns: []\n") == ["1:1: a scenario needs turns, a user_simulator, or both"]


def test_a_number_where_text_is_expected_says_to_quote_it(tmp_path: Path) -> None:
    text = VALID + "  answer:\n    not_contains: [4111]\n"
    assert problems(tmp_path, text) == [
        "17:20: expect.answer.not_contains[0]: 4111 is not of type 'string' (quote it: '4111')"
    ]


def test_model_checks_run_after_the_schema_and_name_the_field(tmp_path: Path) -> None:
    text = VALID + "  answer:\n    regex: ['(unclosed']\n"
    [problem] = problems(tmp_path, text)
    assert problem.startswith("17:5: expect.answer.regex: invalid regular expression '(unclosed'")
    text = VALID.replace("{decision: edit, args: {amount: 100.00}}", "{decision: edit}")
    assert problems(tmp_path, text) == [
        "7:5: reviewer[1]: an edit decision needs args: the arguments the reviewer changes"
    ]


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    assert problems(tmp_path, VALID + "tags: [again]\n") == ["16:1: duplicate key 'tags'"]


def test_discovery_skips_other_yaml_and_cassettes_and_reports_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    write(tmp_path, "questions: [x]\n", "kb_questions.yaml")
    (tmp_path / "cassettes").mkdir()
    write(tmp_path / "cassettes", "version: 1\nturns: []\n", "refund-ok.yaml")
    found = discover([tmp_path])
    assert [s.id for s in found.scenarios] == ["refund-ok"]
    assert [p.name for p, _ in found.skipped] == ["kb_questions.yaml"]
    [error] = found.errors
    assert "b.yaml:1:1: id: duplicate scenario id 'refund-ok'" in str(error)


def test_discovery_filters_by_tag(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    assert len(discover([tmp_path], tags=["refund"]).scenarios) == 1
    assert discover([tmp_path], tags=["lookup"]).scenarios == []


def test_a_problem_is_one_line_whatever_the_file_holds() -> None:
    """A key with a control character (the fuzz test found ``\\x1e``, a line break to
    ``str.splitlines``) is shown escaped: every line of an error still starts with the path."""
    from evals.errors import Problem

    rendered = Problem("refunds has no column '\x1e'", 28, 7, "expect.state[0].where.\x1e").render("case.yaml")
    assert rendered.splitlines() == [rendered]
    assert rendered == "case.yaml:28:7: expect.state[0].where.\\x1e: refunds has no column '\\x1e'"
