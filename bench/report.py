"""Markdown for the results: the machine, the package versions, one table per benchmark."""

from __future__ import annotations

import math
import platform
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PACKAGES = (
    "langgraph",
    "langgraph-checkpoint",
    "langgraph-checkpoint-sqlite",
    "langgraph-checkpoint-postgres",
    "langchain",
    "langchain-core",
    "pydantic",
    "sqlalchemy",
    "psycopg",
    "bm25s",
    "sentence-transformers",
    "torch",
)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    fmt: str = "{}"

    def render(self, row: Any) -> str:
        value = self.value(row)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return self.fmt.format(value)


def markdown_table(rows: Sequence[Any], columns: Sequence[Column]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(c.header for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(c.render(row) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    name = fields.get("Model name", "unknown CPU").strip()
    return f"{name}, {fields.get('CPU(s)', '?').strip()} CPUs ({fields.get('Hypervisor vendor', 'bare metal').strip()})"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        return "unknown"
    return f"{kib / 1024**2:.1f} GiB"


def machine() -> str:
    """One Markdown paragraph describing this machine and the package versions."""
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return (
        f"- CPU: {_cpu_model()}\n- memory: {_memory_gib()}\n"
        f"- OS: {platform.platform()}\n- Python {platform.python_version()}\n"
        f"- packages: {', '.join(versions)}"
    )
