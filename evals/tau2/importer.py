"""τ²-bench tasks as Tiller scenarios: ``tiller tau2 import DOMAIN --out DIR``.

Per task, one scenario (``tau2-<domain>-<task id>.yaml``) and its gold cassette
(``cassettes/<id>.yaml``):

- **turns**: the task's user brief as one message (what τ²'s simulated user is told);
- **trajectory**: the gold actions, each with its exact arguments (``superset``: every gold
  call made, in any order, others allowed — τ²'s action check), each executed (or refused by
  τ²'s tool, where τ²'s own replay refuses it too);
- **state**: τ²'s final-database expectation, computed as τ²'s evaluator computes it (the gold
  actions replayed on a fresh τ² environment, ``tools.tau2.gold``): every record the gold
  actions change, field by field, and every other record unchanged;
- **answer**: ``communicate_info``, each found in some answer of the conversation, numbers by value;
- **reviewer**: an approval for each gold call a reviewer must approve (its tool's risk);
- **cassette**: the gold conversation — one model turn per gold action, then an answer giving
  the communicate_info — so ``tiller eval run DIR --model replay`` replays it offline.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.contract import Risk
from tools.domain import Domain
from tools.tau2 import source
from tools.tau2.domain import tau2_domain
from tools.tau2.gold import GoldReplay, UnsupportedTask, replay_gold
from tools.tau2.store import KEY, Tau2Store

BRIEF_PARTS = ("reason_for_call", "known_info", "unknown_info", "task_instructions")
MIN_STEPS, MIN_CALLS, MIN_PER_TOOL = 8, 12, 6


@dataclass
class ImportReport:
    """What an import wrote, and the tasks it could not turn into scenarios (with why)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def scenario_id(domain: str, task_id: str) -> str:
    """The id of an imported τ² task (``tau2-retail-5``), safe as a file name."""
    return re.sub(r"[^a-z0-9._-]+", "-", f"tau2-{domain}-{task_id}".lower()).strip("-")


def brief_of(task: Any) -> str:
    """The user's side of a task, as τ² tells its simulated user: one message."""
    instructions = task.user_scenario.instructions
    if isinstance(instructions, str):
        return instructions.strip()
    parts = [getattr(instructions, name, None) for name in BRIEF_PARTS]
    return "\n\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def final_answer(communicate: list[str]) -> str:
    """The expected closing message: ``Done.`` and each piece of information τ² expects the agent to tell."""
    return "Done." if not communicate else "Done. " + "; ".join(communicate) + "."


def _actions(task: Any) -> list[Any]:
    criteria = task.evaluation_criteria
    return list(criteria.actions or []) if criteria is not None else []


def _state(table_of: dict[str, str], gold: GoldReplay) -> list[dict[str, Any]]:
    """State assertions: every record the gold actions touch as it ends up, the rest unchanged."""
    state: list[dict[str, Any]] = []
    for collection, (changed, removed) in gold.changes().items():
        table = table_of[collection]
        for key, record in changed.items():
            fields = {name: {"equals": value} if isinstance(value, dict) else value for name, value in record.items()}
            state.append({"table": table, "where": {KEY: key}, "count": 1, "fields": fields})
        state += [{"table": table, "where": {KEY: key}, "count": 0} for key in removed]
        touched = [*changed, *removed]
        rest: dict[str, Any] = {"table": table, "unchanged": True}
        if touched:
            alternatives = "|".join(re.escape(k) for k in touched)
            rest["where"] = {KEY: {"regex": f"^(?!(?:{alternatives})$)"}}
        state.append(rest)
    return state


def _expected_call(action: Any, fails_in_tau2: bool) -> dict[str, Any]:
    """A gold action, and what must become of it: it ran — or τ²'s tool refused it, as it does
    on τ²'s own replay (a call that timed out or was never run is not the gold conversation)."""
    status: Any = "error" if fails_in_tau2 else ["executed", "replayed"]
    return {"tool": action.name, "args": dict(action.arguments), "status": status}


def _limits(actions: list[Any]) -> dict[str, int]:
    per_tool = max(Counter(a.name for a in actions).values(), default=0)
    return {
        "max_steps": max(MIN_STEPS, len(actions) + 2),
        "max_tool_calls": max(MIN_CALLS, len(actions) + 2),
        "max_calls_per_tool": max(MIN_PER_TOOL, per_tool + 1),
    }


def build_scenario(domain: Domain, name: str, task: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(scenario, cassette)`` for one τ² task, as plain data."""
    store = _store(name)
    gold = replay_gold(name, task, store)
    actions = _actions(task)
    risks = {spec.name: spec.risk for spec in domain.tool_specs()}
    unknown = sorted({a.name for a in actions} - set(risks))
    if unknown:
        raise UnsupportedTask(f"task {task.id} names tools the domain does not have: {', '.join(unknown)}")
    communicate = list(task.evaluation_criteria.communicate_info or []) if task.evaluation_criteria else []
    sid = scenario_id(name, str(task.id))
    failed = {index for index, _ in gold.failed}
    expect: dict[str, Any] = {
        "status": "completed",
        "trajectory": {
            "match": "superset",
            "args_match": "exact",
            "calls": [_expected_call(a, i in failed) for i, a in enumerate(actions)],
        },
        "state": _state({c.name: str(c.table.name) for c in store.collections}, gold),
    }
    if communicate:
        expect["answer"] = {"contains": communicate, "numbers": "by_value", "messages": "all"}
    scenario = {
        "id": sid,
        "description": _description(task, gold),
        "tags": ["tau2", domain.name],
        "domain": domain.name,
        "offline": False,
        "limits": _limits(actions),
        "turns": [brief_of(task)],
        "reviewer": ["approve" for a in actions if risks[a.name] is Risk.HIGH_RISK],
        "expect": expect,
    }
    turns = [{"tool_calls": [{"name": a.name, "args": dict(a.arguments)}]} for a in actions]
    cassette = {"version": 1, "model": "tau2-gold", "turns": [*turns, {"content": final_answer(communicate)}]}
    return scenario, cassette


def _description(task: Any, gold: GoldReplay) -> str:
    purpose = getattr(task.description, "purpose", None) if task.description else None
    text = f"τ²-bench task {task.id}" + (f": {purpose}" if purpose else "")
    for index, error in gold.failed:
        text += f" (gold action {index + 1} fails in τ² too: {error})"
    return text


@functools.cache
def _store(name: str) -> Tau2Store:
    return Tau2Store(name, type(source.seed_environment(name).tools.db))


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    path.write_text(text, encoding="utf-8")


def import_tasks(name: str, out: Path, task_ids: list[str] | None = None) -> ImportReport:
    """Write one scenario and one cassette per task of τ² domain ``name`` under ``out``."""
    domain = tau2_domain(name)
    tasks = source.tasks(name)
    if task_ids:
        missing = sorted(set(task_ids) - {str(t.id) for t in tasks})
        if missing:
            raise source.Tau2Unavailable(f"τ² {name} has no task {', '.join(missing)}")
        tasks = [t for t in tasks if str(t.id) in task_ids]
    report = ImportReport()
    for task in tasks:
        try:
            scenario, cassette = build_scenario(domain, name, task)
        except UnsupportedTask as exc:
            report.skipped.append((str(task.id), str(exc)))
            continue
        path = out / f"{scenario['id']}.yaml"
        _dump(path, scenario)
        _dump(out / "cassettes" / f"{scenario['id']}.yaml", cassette)
        report.written.append(path)
    return report
