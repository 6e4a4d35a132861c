"""Args models for tools that come with a JSON schema instead of a pydantic model.

MCP tools and many LangChain tools (those of ``langchain-mcp-adapters`` among them) declare
their arguments as a JSON-schema dict. Turning that into pydantic fields would lose whatever
pydantic cannot say (``oneOf``, ``patternProperties``, formats, ``$ref`` cycles) and rewrite the
schema the model is shown. So the args model keeps the schema as it came: its
``model_json_schema()`` is that schema, it validates with ``jsonschema`` (required fields,
types, enums, patterns, bounds — everything the schema says), and it holds the validated
arguments as they are (``extra="allow"``), readable as attributes by the approval policy.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, create_model, model_validator

from tools.errors import ToolDefinitionError


class SchemaArgs(BaseModel):
    """Base of args models built by :func:`args_model_from_schema` (one subclass per tool)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    json_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    validator: ClassVar[Draft202012Validator] = Draft202012Validator(json_schema)

    @model_validator(mode="before")
    @classmethod
    def _conforms(cls, data: Any) -> Any:
        # Also enforced here, not only by tools.validation, so that no path builds unchecked args.
        problems = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '(arguments)'}: {e.message}"
            for e in sorted(cls.validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return data

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The schema exactly as the tool declared it (a copy)."""
        return copy.deepcopy(cls.json_schema)


def normalise_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """An object schema: ``type: object`` and ``properties`` filled in when a server left them out."""
    normalised = copy.deepcopy(dict(schema or {}))
    normalised.setdefault("type", "object")
    normalised.setdefault("properties", {})
    normalised.pop("title", None)
    return normalised


def _class_name(tool: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", tool)
    return "".join(w[:1].upper() + w[1:] for w in words if w) + "Args"


def args_model_from_schema(tool: str, schema: Mapping[str, Any] | None) -> type[SchemaArgs]:
    """An args model for ``tool`` that validates against ``schema`` (a JSON-schema object)."""
    normalised = normalise_schema(schema)
    if normalised.get("type") != "object":
        raise ToolDefinitionError(f"tool {tool!r}: its args schema must describe an object, got {schema!r}")
    try:
        Draft202012Validator.check_schema(normalised)
    except SchemaError as exc:
        raise ToolDefinitionError(f"tool {tool!r}: its args schema is not a valid JSON schema: {exc.message}") from None
    model = create_model(_class_name(tool), __base__=SchemaArgs)
    model.json_schema = normalised
    model.validator = Draft202012Validator(normalised)
    return model
