"""Finding and loading scenario files; every problem names the file, the line and the field.

Loading is two passes: the YAML is validated against the published JSON schema
(``evals/scenario.schema.json``, the contract other tools can use too), then built into the
pydantic models, whose own checks (regexes compile, edit decisions carry args…) run last.
Both passes report problems at the line of the offending key, e.g.::

    scenarios/mydomain/close.yaml:14:9: expect.trajectory.match: 'strictly' is not one of
    'strict', 'unordered', 'subset', 'superset'
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from evals.domains import resolve
from evals.errors import Problem, ScenarioError, ScenarioInvalid, ScenarioSyntaxError
from evals.scenario import SCHEMA_VERSION, Scenario
from evals.yaml_source import YamlDocument, format_path, parse_yaml, syntax_problem

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")
SKIPPED_DIRS = frozenset({"cassettes", "kb", "__pycache__"})
MAX_PROBLEMS = 20


@cache
def published_schema() -> dict[str, Any]:
    """The committed schema file (or, in a source tree without it, the generated schema)."""
    if SCHEMA_PATH.exists():
        return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return json_schema()


def json_schema() -> dict[str, Any]:
    """The published JSON schema of scenario files (``evals/scenario.schema.json``).

    Optional fields are simply left out of a file, so their ``null`` alternative is dropped from
    the schema: errors then point into the value the author wrote instead of "not null".
    """
    schema = Scenario.model_json_schema()
    for definition in [schema, *schema.get("$defs", {}).values()]:
        for prop in definition.get("properties", {}).values():
            _drop_null_branch(prop)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://tiller.dev/schemas/scenario-v{SCHEMA_VERSION}.json",
        **schema,
    }


def _drop_null_branch(prop: dict[str, Any]) -> None:
    branches = prop.get("anyOf")
    if prop.get("default", ...) is not None or not branches:
        return
    rest = [b for b in branches if b != {"type": "null"}]
    if len(rest) == len(branches):
        return
    del prop["anyOf"]
    if len(rest) == 1:
        prop.update(rest[0])
    else:
        prop["anyOf"] = rest


def load_scenario(path: str | Path, domain: str | None = None) -> Scenario:
    """Read, validate and build one scenario in its domain (its own ``domain``, else ``domain``,
    else ``TILLER_DOMAIN``); raise :class:`ScenarioError` listing every problem — including
    tools, tables, columns and fixtures its domain does not have."""
    path = Path(path)
    document = _read(path)
    if not isinstance(document.data, dict):
        line = document.locate(()) or (1, 1)
        raise ScenarioInvalid(path, [Problem("a scenario is a mapping with id, turns and expect", *line)])
    problems = document.duplicates + schema_problems(document)
    if not problems:
        try:
            scenario = Scenario.model_validate(document.data).with_source(path)
        except ValidationError as exc:
            problems = _model_problems(exc, document)
        else:
            scenario, found = resolve(scenario, domain)
            if not found:
                return scenario
            problems = [_at(document, where, message) for where, message in found]
    raise ScenarioInvalid(path, sorted(problems, key=_file_order)[:MAX_PROBLEMS])


def _read(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, [Problem("file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, [Problem(f"cannot read the file: {exc}")]) from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ScenarioSyntaxError(path, [syntax_problem(exc)]) from None


def _file_order(problem: Problem) -> tuple[int, int]:
    return problem.line or 0, problem.column or 0


# -- JSON schema pass ----------------------------------------------------------------------


def schema_problems(document: YamlDocument) -> list[Problem]:
    """Problems of the document against the published schema, each at its line."""
    validator = jsonschema.Draft202012Validator(published_schema())
    problems: list[Problem] = []
    for error in validator.iter_errors(document.data):
        problems.extend(_explain(error, document))
    return problems


def _explain(error: SchemaError, document: YamlDocument) -> list[Problem]:
    """Turn a schema error into problems a person can act on (descending into anyOf branches)."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        return [_unknown_key(document, path, key, allowed) for key in error.instance if key not in allowed]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [key for key in error.validator_value if key not in error.instance]
        return [_at(document, path, f"missing required field {key!r}", [*path, key]) for key in missing]
    if error.validator in ("anyOf", "oneOf") and error.context:
        if all(sub.validator == "required" for sub in error.context):  # one of several fields is needed
            keys = [key for sub in error.context for key in sub.validator_value if key not in error.instance]
            alternatives = " or ".join(repr(k) for k in dict.fromkeys(keys))
            return [_at(document, path, f"missing required field: {alternatives}")]
        intended = _intended_branch(error)
        if intended:
            return [p for sub in intended for p in _explain(sub, document)]
        return [_at(document, path, f"{_short(error.instance)} is not {_expected_kinds(error)}")]
    return [_at(document, path, _message(error))]


def _intended_branch(error: SchemaError) -> list[SchemaError]:
    """The errors of the anyOf branch the author most likely meant: branches whose type does not
    even match are dropped; among the rest the one with the deepest error wins."""
    branches: dict[int, list[SchemaError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    depth = len(error.absolute_path)
    plausible = {
        index: subs
        for index, subs in branches.items()
        if not any(s.validator == "type" and len(s.absolute_path) == depth for s in subs)
    }
    if not plausible:
        return []
    return max(plausible.values(), key=lambda subs: (max(len(s.absolute_path) for s in subs), -len(subs)))


def _expected_kinds(error: SchemaError) -> str:
    kinds: list[str] = []
    for branch in error.validator_value:
        if "$ref" in branch:
            kinds.append("a mapping (" + branch["$ref"].rsplit("/", 1)[-1] + ")")
        elif "enum" in branch:
            kinds.append("one of " + ", ".join(repr(v) for v in branch["enum"]))
        elif "type" in branch:
            kinds.append(f"a {branch['type']}")
    return "any of: " + "; ".join(dict.fromkeys(kinds)) if kinds else "valid here"


def _message(error: SchemaError) -> str:
    if error.validator == "enum":
        return f"{_short(error.instance)} is not one of " + ", ".join(repr(v) for v in error.validator_value)
    if error.validator == "type":
        hint = ""
        if error.validator_value == "string" and isinstance(error.instance, int | float | Decimal):
            hint = f" (quote it: '{error.instance}')"
        return f"{_short(error.instance)} is not of type {error.validator_value!r}{hint}"
    return error.message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(document: YamlDocument, path: list[Any], key: str, allowed: list[str]) -> Problem:
    close = difflib.get_close_matches(str(key), allowed, n=1)  # YAML keys may be numbers, null…
    hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(allowed)})"
    return _at(document, path, f"unknown field {key!r}{hint}", [*path, key])


def _at(document: YamlDocument, path: Sequence[Any], message: str, where: Sequence[Any] | None = None) -> Problem:
    line, column = document.locate(where if where is not None else path) or (None, None)
    return Problem(message, line, column, format_path(path))


# -- pydantic pass -------------------------------------------------------------------------


def _model_problems(exc: ValidationError, document: YamlDocument) -> list[Problem]:
    """Pydantic errors at their lines. A union reports one error per alternative; where one of
    them comes from our own validators (a ``value_error``), that is the one the author needs."""
    by_path: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
    for error in exc.errors():
        path = tuple(_data_path(error["loc"], document.data))
        message = str(error["msg"]).removeprefix("Value error, ")
        by_path.setdefault(path, []).append((error["type"], message))
    problems = []
    for path, errors in by_path.items():
        ours = [m for kind, m in errors if kind == "value_error"]
        for message in dict.fromkeys(ours or [m for _, m in errors]):
            problems.append(_at(document, path, message))
    return problems


def _data_path(loc: Sequence[Any], data: Any) -> list[Any]:
    """The part of a pydantic error location that exists in the data (drops union branch names)."""
    path: list[Any] = []
    node = data
    for part in loc:
        in_mapping = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_mapping or in_list:
            node = node[part]
            path.append(part)
    return path


# -- discovery -----------------------------------------------------------------------------


@dataclass
class Discovery:
    """Scenario files found under some paths, problems of the unusable ones, and skipped files."""

    scenarios: list[Scenario] = field(default_factory=list)
    errors: list[ScenarioError] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def scenario_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """YAML files under ``paths`` that look like scenarios (a top-level ``id``), and the skipped.

    Files named explicitly are always taken; in folders, ``cassettes/`` and ``kb/`` are skipped
    and so is YAML without a top-level ``id`` (other data, such as a list of KB questions).
    """
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*.y*ml")):
                if SKIPPED_DIRS.intersection(candidate.relative_to(path).parts[:-1]):
                    continue
                if looks_like_scenario(candidate):
                    found.append(candidate)
                else:
                    skipped.append((candidate, "no top-level id: not a scenario"))
        else:
            found.append(path)
    return list(dict.fromkeys(found)), skipped


def looks_like_scenario(path: Path) -> bool:
    """A YAML mapping with a top-level ``id`` (or a file too broken to tell: the loader explains)."""
    try:
        data = parse_yaml(path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True  # let the loader report why it cannot be read
    return isinstance(data, dict) and "id" in data


def discover(paths: Iterable[str | Path], *, tags: Sequence[str] = (), domain: str | None = None) -> Discovery:
    """Load every scenario under ``paths`` (optionally only those with one of ``tags``), in
    ``domain`` unless a scenario names its own."""
    files, skipped = scenario_files(paths)
    result = Discovery(skipped=skipped)
    seen: dict[str, Path] = {}
    for path in files:
        try:
            scenario = load_scenario(path, domain)
        except ScenarioError as exc:
            result.errors.append(exc)
            continue
        if scenario.id in seen:
            problem = Problem(f"duplicate scenario id {scenario.id!r} (also in {seen[scenario.id]})", 1, 1, "id")
            result.errors.append(ScenarioInvalid(path, [problem]))
            continue
        seen[scenario.id] = path
        if not tags or set(tags) & set(scenario.tags):
            result.scenarios.append(scenario)
    return result
