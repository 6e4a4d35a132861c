"""τ²'s expectation of a task, computed the way τ²'s evaluator computes it: its gold actions
replayed on a fresh environment, and the records that ends up with, as Tiller rows.

The evaluator (``tau2.evaluator.evaluator_env``) replays ``evaluation_criteria.actions`` on a
new environment and compares database hashes; a gold action that fails there is logged and
skipped, and so it is here (``GoldReplay.failed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.tau2 import source
from tools.tau2.store import KEY, Tau2Store

Rows = dict[str, dict[str, dict[str, Any]]]
"""``{collection: {key: record as a row}}``."""


@dataclass
class GoldReplay:
    """What replaying one task's gold actions did."""

    before: Rows
    after: Rows
    failed: list[tuple[int, str]] = field(default_factory=list)
    """``(index of the gold action, τ²'s error)`` for each gold action that failed."""

    def changes(self) -> dict[str, tuple[dict[str, dict[str, Any]], list[str]]]:
        """Per collection: the records added or changed (as they end up) and the keys removed."""
        out = {}
        for name, rows in self.after.items():
            old = self.before[name]
            changed = {k: r for k, r in rows.items() if old.get(k) != r}
            removed = sorted(old.keys() - rows.keys())
            out[name] = (changed, removed)
        return out


class UnsupportedTask(ValueError):
    """A τ² task the importer cannot turn into a scenario (the message says why)."""


def rows_of(store: Tau2Store, db: Any) -> Rows:
    """The records of a τ² database by collection and key, for comparing two databases."""
    return {c.name: {row[KEY]: _record(row) for row in c.rows("", getattr(db, c.name))} for c in store.collections}


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in (KEY, "tenant_id")}


def replay_gold(domain: str, task: Any, store: Tau2Store) -> GoldReplay:
    """Run ``task``'s gold actions on a fresh τ² environment of ``domain``."""
    if task.initial_state is not None:
        raise UnsupportedTask(
            f"task {task.id} starts from a prepared state (initial_state), which the importer does not replay"
        )
    criteria = task.evaluation_criteria
    actions = list(criteria.actions or []) if criteria is not None else []
    if any(a.requestor != "assistant" for a in actions):
        raise UnsupportedTask(f"task {task.id} has gold actions of the user's side, which a Tiller agent cannot make")
    env = source.environment(domain)
    before = rows_of(store, env.tools.db)
    failed: list[tuple[int, str]] = []
    for index, action in enumerate(actions):
        try:
            env.make_tool_call(tool_name=action.name, requestor=action.requestor, **action.arguments)
        except Exception as exc:  # τ²'s evaluator logs and skips a failing gold action; so do we
            failed.append((index, f"{type(exc).__name__}: {exc}"))
    return GoldReplay(before=before, after=rows_of(store, env.tools.db), failed=failed)
