"""Reading YAML while remembering where every key and item came from.

PyYAML's composer gives each node a start mark (line, column); the loader keeps a map from the
path of every mapping key and sequence item (``("expect", "trajectory", "calls", 1)``) to its
line and column, so a schema error on any field can name the line it is written on. Decimals
are read as ``Decimal`` (``42.00`` stays ``42.00``) and duplicate keys, which PyYAML would
silently collapse, are reported.

Whatever the text, reading it ends in a document or a ``yaml.YAMLError`` with a mark: a value
its explicit tag cannot build (``!!int zz``), nesting deeper than ``MAX_DEPTH``, an alias that
contains itself, or aliases expanding past ``MAX_NODES`` (a "billion laughs") are errors, never
another exception or a hang.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from evals.errors import Problem

Path_ = tuple[str | int, ...]

MAX_DEPTH = 64  # nesting levels; PyYAML composes recursively and would hit Python's recursion limit
MAX_NODES = 100_000  # nodes once aliases are expanded; a real scenario has a few hundred


class _DecimalLoader(yaml.SafeLoader):
    """A safe loader that reads YAML floats as ``Decimal`` (infinities and NaN stay floats) and
    leaves dates as strings."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML composes recursively: refuse deep nesting before Python's recursion limit does.
        if self._depth >= MAX_DEPTH:
            problem = f"nested more than {MAX_DEPTH} levels deep"
            raise yaml.composer.ComposerError(None, None, problem, self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # SafeLoader's constructors raise ValueError, KeyError… for values their explicit tag
        # cannot build (``!!bool maybe``, ``!!timestamp 2001-13-99``, a 5000-digit int).
        try:
            return super().construct_object(node, deep)
        except (ValueError, LookupError, TypeError, ArithmeticError) as exc:
            value = node.value if isinstance(node, yaml.ScalarNode) else node.id
            kind = str(node.tag).rsplit(":", 1)[-1]
            detail = f" ({str(exc)[:100]})" if isinstance(exc, ValueError) else ""
            problem = f"cannot read {_short(value)} as {kind}{detail}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


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
    _walk(node, (), document, _Budget())
    return document


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


@dataclass
class _Budget:
    """What one walk has visited: nodes so far, and the collections on the current path."""

    nodes: int = 0
    open: set[int] = field(default_factory=set)


def _walk(node: yaml.Node, path: Path_, document: YamlDocument, budget: _Budget) -> None:
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        problem = f"the document expands to more than {MAX_NODES} values (through aliases)"
        raise yaml.MarkedYAMLError(problem=problem, problem_mark=node.start_mark)
    if isinstance(node, yaml.CollectionNode):
        if id(node) in budget.open:
            problem = "an alias refers to a collection that contains it"
            raise yaml.MarkedYAMLError(problem=problem, problem_mark=node.start_mark)
        budget.open.add(id(node))
        _walk_children(node, path, document, budget)
        budget.open.discard(id(node))


def _walk_children(node: yaml.CollectionNode, path: Path_, document: YamlDocument, budget: _Budget) -> None:
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
            _walk(value_node, (*path, key), document, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            document.marks[(*path, index)] = _position(item)
            _walk(item, (*path, index), document, budget)


def syntax_problem(exc: yaml.YAMLError) -> Problem:
    """A YAML parse error as a problem with its line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())  # a ReaderError spans lines
    context = getattr(exc, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Problem(message)
    return Problem(message, mark.line + 1, mark.column + 1)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_path(path: Sequence[str | int]) -> str:
    """``("expect", "trajectory", "calls", 1, "args")`` → ``expect.trajectory.calls[1].args``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
