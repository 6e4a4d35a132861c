"""Property: any file handed to the scenario loader becomes a valid scenario or a ``ScenarioError``
whose every line names the file — never another exception, never a hang.

Three sources of input: arbitrary bytes, arbitrary YAML (documents built from dicts, lists and
scalars with the scenario's own field names as keys, plus "token soup" that reaches YAML's tags,
anchors and flow syntax) and mutations of the real scenarios in ``scenarios/commerce`` (a key
dropped, a value of another type, junk inserted, lines deleted or doubled). Each file goes through
``load_scenario`` and through discovery, which is what ``tiller eval validate`` runs. The inputs
that crashed the loader before it was hardened are kept as ``@example``\\s and, through the CLI,
in ``test_validate_explains_each_input_that_used_to_crash``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from evals.cli import app
from evals.errors import ScenarioError
from evals.loader import discover, json_schema, load_scenario
from evals.scenario import Scenario

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a dev dependency (pip install -e '.[dev]')")
st = hypothesis.strategies
example, given, settings = hypothesis.example, hypothesis.given, hypothesis.settings

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "commerce"
REAL = {p.name: p.read_text(encoding="utf-8") for p in sorted(SCENARIOS.glob("*.yaml")) if p.stem != "kb_questions"}
FIELDS = sorted({key for d in [json_schema(), *json_schema()["$defs"].values()] for key in d.get("properties", {})})
FUZZ = settings(max_examples=100, deadline=None, derandomize=True)

# Inputs that crashed the loader (TypeError, ValueError, KeyError, RecursionError), made it expand
# an alias bomb for minutes, or (NUL) split its message over lines without the file's name; each is
# now a ScenarioError with this text in it.
LAUGHS = "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n" for a, b in zip("abcdefg", "bcdefgh", strict=True))
REGRESSIONS = {
    "a number as a key": ("id: x\nturns: [hi]\n1: y\n", "unknown field 1"),
    "null as a nested key": ("id: x\nturns: [hi]\nexpect: {~: y}\n", "expect: unknown field None"),
    "a decimal as a key": ("id: x\nturns: [hi]\n1.5: y\n", "unknown field Decimal('1.5')"),
    "a recursive alias": ("id: x\nturns: &a [hi, *a]\n", "an alias refers to a collection that contains it"),
    "deep nesting": ("id: x\nturns: " + "[" * 2000 + "]" * 2000 + "\n", "nested more than 64 levels deep"),
    "an alias bomb": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + LAUGHS + "id: x\nturns: [hi]\n", "expands to more"),
    "a bad explicit bool": ("id: x\nturns: [hi]\noffline: !!bool maybe\n", "cannot read 'maybe' as bool"),
    "a bad explicit int": ("id: x\nturns: [hi]\nfixtures: {seed: !!int zz}\n", "cannot read 'zz' as int"),
    "a bad explicit date": ("id: x\nturns: [!!timestamp 2001-13-99]\n", "as timestamp (month must be in 1..12)"),
    "a 5000-digit number": ("id: x\nturns: [hi]\nfixtures: {customers: " + "9" * 5000 + "}\n", "as int (Exceeds"),
    "a NUL character": ("id: x\x00\n", "unacceptable character #x0000"),
}


@pytest.fixture(scope="module")
def case_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file, rewritten by every example (a module fixture: hypothesis reruns the test body)."""
    return tmp_path_factory.mktemp("fuzz-scenarios") / "case.yaml"


def loads_or_explains(path: Path) -> None:
    """The property: a valid scenario, or a ScenarioError every line of which starts with the path."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        assert exc.path == path and exc.problems, exc
        assert all(line.startswith(f"{path}") for line in str(exc).splitlines()), str(exc)
        explained = True
    else:
        assert isinstance(scenario, Scenario) and scenario.source == path
        explained = False
    found = discover([path])  # `tiller eval validate`: the same verdict, reached through discovery
    assert len(found.scenarios) + len(found.errors) == 1
    assert bool(found.errors) == explained
    assert all(str(error).startswith(f"{path}") for error in found.errors)


# -- arbitrary bytes -----------------------------------------------------------------------


@FUZZ
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
@example(raw=b"\xff\xfeid: x")
@example(raw=REGRESSIONS["a NUL character"][0].encode())
def test_arbitrary_bytes(case_file: Path, raw: bytes) -> None:
    case_file.write_bytes(raw)
    loads_or_explains(case_file)


# -- arbitrary YAML ------------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
SCALARS |= st.sampled_from(["W1000001", "approve", "edit", "strict", "subset", "executed", "129.99", "", "id"])
KEYS = st.sampled_from(FIELDS) | st.text(max_size=8) | st.integers(-3, 3) | st.none() | st.booleans() | st.floats()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
SCENARIO_LIKE = st.fixed_dictionaries(
    {"id": st.sampled_from(["fuzz", "Bad Id", ""]) | st.text(max_size=8), "turns": VALUES},
    optional={key: VALUES for key in ("reviewer", "expect", "fixtures", "limits", "policy", "user_simulator", "tags")},
)
DOCUMENTS = (VALUES | SCENARIO_LIKE).map(lambda doc: yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
# Fragments of YAML's grammar the dumper never writes: tags, anchors, aliases, merges, flow syntax.
TOKENS = ["!!int ", "!!bool ", "!!float ", "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!!str ", "!!python/x "]
TOKENS += ["&a ", "*a", "&b ", "*b", "<<: ", "[", "]", "{", "}", ": ", ", ", "- ", "? ", "\n", "\n  ", "'", '"', "# x"]
TOKENS += ["|\n  ", ">\n  ", "~", "id", "turns", "expect", "reviewer", "x", "1", "-1.5e3", ".nan", "0x1F", "1:30"]
TOKENS += ["---"]
SOUP = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@FUZZ
@given(text=DOCUMENTS | SOUP | st.sampled_from(list(REAL.values())))
@example(text="id: x\nturns: [hi]\n1: y\n")
@example(text="id: x\nturns: &a [hi, *a]\n")
@example(text="&a {id: x, turns: [hi], expect: *a}\n")
@example(text=REGRESSIONS["deep nesting"][0])
@example(text=REGRESSIONS["an alias bomb"][0])
@example(text="id: x\nturns: [hi]\noffline: !!bool maybe\n")
@example(text=REGRESSIONS["a 5000-digit number"][0])
def test_arbitrary_yaml(case_file: Path, text: str) -> None:
    case_file.write_text(text, encoding="utf-8")
    loads_or_explains(case_file)


# -- mutations of the real scenarios -------------------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a document (the root first)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(doc: Any, data: Any) -> Any:
    """One mutation at a random place: drop it, give it another type, or insert junk into it."""
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    operation = data.draw(st.sampled_from(["drop", "retype", "insert"]), label="operation")
    if not path:
        return data.draw(VALUES, label="document") if operation == "retype" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    node = parent[path[-1]]
    if operation == "drop":
        del parent[path[-1]]
    elif operation == "retype":
        parent[path[-1]] = data.draw(VALUES.filter(lambda v: type(v) is not type(node)), label="value")
    elif isinstance(node, dict):
        node[data.draw(KEYS, label="key")] = data.draw(VALUES, label="junk")
    elif isinstance(node, list):
        node.insert(data.draw(st.integers(0, len(node)), label="at"), data.draw(VALUES, label="junk"))
    return doc


def _mutate_text(text: str, data: Any) -> str:
    """A textual edit: junk at some offset, or a line deleted or doubled."""
    lines = text.splitlines(keepends=True)
    at = data.draw(st.integers(0, max(len(lines) - 1, 0)), label="line")
    edit = data.draw(st.sampled_from(["junk", "delete", "double"]), label="edit")
    if edit == "junk":
        offset = data.draw(st.integers(0, len(text)), label="offset")
        return text[:offset] + data.draw(SOUP | st.text(max_size=10), label="junk") + text[offset:]
    if edit == "delete":
        return "".join(lines[:at] + lines[at + 1 :])
    return "".join(lines[: at + 1] + lines[at:])


@FUZZ
@given(name=st.sampled_from(sorted(REAL)), edits=st.integers(1, 3), textual=st.booleans(), data=st.data())
def test_mutated_real_scenarios(case_file: Path, name: str, edits: int, textual: bool, data: Any) -> None:
    text = REAL[name]
    if textual:
        for _ in range(edits):
            text = _mutate_text(text, data)
    else:
        doc = copy.deepcopy(yaml.safe_load(text))
        for _ in range(edits):
            doc = _mutate(doc, data)
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    case_file.write_text(text, encoding="utf-8")
    loads_or_explains(case_file)


def test_every_real_scenario_still_loads(case_file: Path) -> None:
    for text in REAL.values():
        case_file.write_text(text, encoding="utf-8")
        assert isinstance(load_scenario(case_file), Scenario)


# -- the inputs that used to crash, through `tiller eval validate` --------------------------


@pytest.mark.parametrize(("text", "expected"), REGRESSIONS.values(), ids=REGRESSIONS.keys())
def test_validate_explains_each_input_that_used_to_crash(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{path}:" in result.output and expected in result.output, result.output
    assert "0 valid, 1 invalid" in result.output
