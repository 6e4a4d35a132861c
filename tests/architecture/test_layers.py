"""The architecture holds: import-linter's contracts (pyproject.toml, ``[tool.importlinter]``) —
evals → agent's layers → tools, SQLAlchemy only in tools/ and agent.persistence, an LLM SDK only
in agent.models — no import cycle between modules, not even a type-only one, and the house's
size limits."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "tools", "evals")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_TOP_LEVEL_MODULES = 10


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "broken" not in done.stdout.split("Contracts:")[-1].split("\n")[0].replace("0 broken", "")


def _import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append((other, iter(sorted(graph.find_modules_directly_imported_by(other)))))
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while (top := stack.pop()) != module:
                        on_stack.discard(top)
                        component.append(top)
                    on_stack.discard(module)
                    if component:
                        cycles.append(sorted([module, *component]))
    return cycles


def test_no_module_imports_itself_back() -> None:
    """import-linter leaves out ``if TYPE_CHECKING:`` imports (SQLAlchemy's types are fine in an
    annotation), so its acyclic contract misses a type-only cycle; this counts them. A cycle is
    broken by a Protocol in the lower module (``RuntimeParts``, ``ToolLookup``) or by moving the
    shared type down."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = _import_cycles(graph)
    described = [
        " ↔ ".join(c)
        + ": "
        + "; ".join(f"{a} → {b}" for a in c for b in sorted(graph.find_modules_directly_imported_by(a)) if b in c)
        for c in cycles
    ]
    assert not cycles, "modules that import each other (directly or around a loop):\n" + "\n".join(described)


def test_the_cycle_finder_finds_a_type_only_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")  # a loop of three
    graph.add_import(importer="pkg.d", imported="pkg.a")  # into the loop, not part of it
    assert _import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_files_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_FILE_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_FILE_LINES})"


def test_functions_stay_small() -> None:
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def test_agent_has_few_top_level_modules() -> None:
    modules = sorted(p.name for p in (ROOT / "agent").glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules
