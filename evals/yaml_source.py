"""Reading YAML while remembering where every key and item came from.

PyYAML's composer gives each node a start mark (line, column); the loader keeps a map from the
path of every mapping key and sequence item (``("expect", "trajectory", "calls", 1)``) to its
line and column, so a schema error on any field can name the line it is written on. Decimals
are read as ``Decimal`` (``42.00`` stays ``42.00``) and duplicate keys, which PyYAML would
silently collapse, are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from evals.errors import Problem

Path_ = tuple[str | int, ...]


class _DecimalLoader(yaml.SafeLoader):
    """A safe loader that reads YAML floats as ``Decimal`` (infinities and NaN stay floats) and
    leaves dates as strings."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | float:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return float(loader.construct_yaml_float(node))
    return value if value.is_finite() else float(value)


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
# Dates stay text: scenarios compare them with answers and ISO strings, never as date objects.
_DecimalLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class YamlDocument:
    """A parsed YAML document and where each of its paths is written."""

    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[Problem] = field(default_factory=list)

    def locate(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        """Line and column (1-based) of the longest prefix of ``path`` present in the file."""
        parts = tuple(path)
        while parts:
            if parts in self.marks:
                return self.marks[parts]
            parts = parts[:-1]
        return self.marks.get((), None)


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a problem mark) when malformed."""
    loader = _DecimalLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(data=None)
        document = YamlDocument(data=loader.construct_document(node))
    finally:
        loader.dispose()
    document.marks[()] = _position(node)
    _walk(node, (), document)
    return document


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(node: yaml.Node, path: Path_, document: YamlDocument) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            if key in seen:
                line, column = _position(key_node)
                where = ".".join(str(p) for p in path)
                document.duplicates.append(Problem(f"duplicate key {key!r}", line, column, where))
            seen.add(key)
            document.marks.setdefault((*path, key), _position(key_node))
            _walk(value_node, (*path, key), document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            document.marks[(*path, index)] = _position(item)
            _walk(item, (*path, index), document)


def syntax_problem(exc: yaml.YAMLError) -> Problem:
    """A YAML parse error as a problem with its line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Problem(message)
    return Problem(message, mark.line + 1, mark.column + 1)


def format_path(path: Sequence[str | int]) -> str:
    """``("expect", "trajectory", "calls", 1, "args")`` → ``expect.trajectory.calls[1].args``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
