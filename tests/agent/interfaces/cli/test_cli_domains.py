"""``tiller domains check``: a domain as the runtime loads it, and whether its examples select
their tools on the offline model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.interfaces.cli.app import app
from agent.interfaces.cli.domains import scaffold

QUESTION = '"Please retire I1001 because it is lost"'


@pytest.fixture
def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, CliRunner]:
    scaffold("check-desk", tmp_path / "check-desk")
    monkeypatch.syspath_prepend(str(tmp_path / "check-desk"))
    monkeypatch.setattr("tools.domain._LOADED", {})
    monkeypatch.setenv("TILLER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TILLER_RETRIEVAL_MODE", "bm25")
    monkeypatch.setenv("COLUMNS", "200")
    for module in [m for m in sys.modules if m.startswith("check_desk")]:  # each test imports its own copy
        monkeypatch.delitem(sys.modules, module)
    return tmp_path / "check-desk" / "check_desk" / "tools.py", CliRunner()


def test_the_scaffolded_domain_passes(check: tuple[Path, CliRunner]) -> None:
    _, runner = check
    out = runner.invoke(app, ["domains", "check", "check_desk.domain:domain"])
    assert out.exit_code == 0, out.output
    assert "check-desk: 3 tools load; " in out.output and "examples select their tool" in out.output


def test_an_example_asking_a_question_of_an_action_is_named_with_what_to_change(
    check: tuple[Path, CliRunner],
) -> None:
    tools, runner = check
    text = tools.read_text()
    assert QUESTION in text
    tools.write_text(text.replace(QUESTION, '"Can I retire item I1001?"'))
    out = runner.invoke(app, ["domains", "check", "check_desk.domain:domain"])
    assert out.exit_code == 1, out.output
    line = " ".join(out.output.split())
    assert "retire_item: 'Can I retire item I1001?' selects get_item — a question only reads" in line


def test_a_tool_definition_that_cannot_work_is_an_error_naming_it(check: tuple[Path, CliRunner]) -> None:
    tools, runner = check
    tools.write_text(tools.read_text().replace('lookup_first="get_item"', 'lookup_first="get_itme"'))
    out = runner.invoke(app, ["domains", "check", "check_desk.domain:domain"])
    assert out.exit_code == 2 and "lookup_first names 'get_itme'" in " ".join(out.output.split())
