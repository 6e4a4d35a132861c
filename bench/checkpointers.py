"""The checkpointers every runtime is measured with, and a serializer that counts bytes.

``none`` (no persistence), ``memory`` (LangGraph's ``InMemorySaver``), ``sqlite`` (LangGraph's
``SqliteSaver`` on a WAL file, set up exactly as Tiller sets up its own) and ``postgres``
(``PostgresSaver``, only when ``TILLER_BENCH_POSTGRES_URL`` is set). Each runtime gets its own
saver instance and, for SQLite, its own file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from agent.persistence.checkpoint import open_checkpointer

SaverKind = Literal["none", "memory", "sqlite", "postgres"]
POSTGRES_ENV = "TILLER_BENCH_POSTGRES_URL"


def postgres_url() -> str | None:
    """The PostgreSQL URL for the benchmarks, if one is configured."""
    return os.environ.get(POSTGRES_ENV) or None


def saver_kinds(*, with_none: bool = True) -> list[SaverKind]:
    """The checkpointers to measure on this machine (PostgreSQL only when its URL is set)."""
    kinds: list[SaverKind] = ["none", "memory", "sqlite"] if with_none else ["memory", "sqlite"]
    if postgres_url():
        kinds.append("postgres")
    return kinds


@contextmanager
def open_saver(
    kind: SaverKind, sqlite_path: Path, database_url: str | None = None
) -> Iterator[BaseCheckpointSaver[str] | None]:
    """A fresh checkpointer of ``kind`` (``None`` for ``none``), closed when the block ends;
    ``postgres`` needs ``database_url`` (see :func:`bench.postgres.scratch_database`)."""
    if kind == "none":
        yield None
    elif kind == "memory":
        yield InMemorySaver()
    elif kind == "sqlite":
        with open_checkpointer(f"sqlite:///{sqlite_path}", sqlite_path) as saver:
            yield saver
    else:
        if database_url is None:
            raise RuntimeError(f"set {POSTGRES_ENV} to benchmark PostgreSQL")
        with open_checkpointer(database_url, sqlite_path) as saver:
            yield saver


class CountingSerde:
    """Wraps a saver's serializer and adds up the bytes it produces (what gets written).

    Counts the serialized checkpoints, channel blobs and pending writes — the payload every
    backend stores — but not the small per-checkpoint metadata row (JSON in SQLite and
    PostgreSQL, kept as an object in memory).
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.bytes = 0

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        kind, data = self._inner.dumps_typed(obj)
        self.bytes += len(data or b"")
        return kind, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self._inner.loads_typed(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def count_bytes(saver: BaseCheckpointSaver[str] | None) -> CountingSerde | None:
    """Install a :class:`CountingSerde` on ``saver`` (``None`` when there is no saver)."""
    if saver is None:
        return None
    counter = CountingSerde(saver.serde)
    saver.serde = counter  # type: ignore[assignment]
    return counter


def uncount_bytes(saver: BaseCheckpointSaver[str] | None, counter: CountingSerde | None) -> None:
    """Put the original serializer back."""
    if saver is not None and counter is not None:
        saver.serde = counter._inner
