"""Validation of model-produced arguments: JSON schema first, then the pydantic model.

The JSON-schema pass gives messages in the vocabulary the model saw (the schema); the pydantic
pass applies the model's own validators and produces the typed value. Every problem names the
field, so the model can fix exactly that.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from tools.contract import ToolSpec
from tools.errors import ArgumentsInvalid, FieldProblem


@lru_cache(maxsize=256)
def _validator(spec: ToolSpec) -> Draft202012Validator:
    return Draft202012Validator(spec.args_schema())


def parse_raw_args(tool: str, raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Turn raw arguments (a JSON string from a model, or a dict) into a dict."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ArgumentsInvalid(tool, [FieldProblem("", f"not valid JSON ({exc.msg} at char {exc.pos})")]) from None
    if not isinstance(value, dict):
        raise ArgumentsInvalid(tool, [FieldProblem("", "arguments must be a JSON object")])
    return value


def validate_for_person(spec: ToolSpec, data: dict[str, Any]) -> BaseModel:
    """Validate arguments a person typed (a reviewer's edit) with the args model alone: its
    messages ("Input should be greater than 0") read better than the schema's ("-5 is not valid
    under any of the given schemas"), and the model is what the tool runs with anyway."""
    try:
        return spec.args_model.model_validate(data)
    except ValidationError as exc:
        raise ArgumentsInvalid(
            spec.name,
            [FieldProblem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()],
        ) from None


def validate_args(spec: ToolSpec, raw: str | dict[str, Any] | None) -> BaseModel:
    """Validate raw arguments for ``spec``; raise :class:`ArgumentsInvalid` naming each field."""
    data = parse_raw_args(spec.name, raw)
    problems = [
        FieldProblem(".".join(str(p) for p in err.absolute_path), err.message)
        for err in sorted(_validator(spec).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        raise ArgumentsInvalid(spec.name, problems)
    return validate_for_person(spec, data)  # the schema passed: the args model has the last word
