"""τ² tasks imported as scenarios replay their gold conversation offline and pass; the agreement
of Tiller's verdicts with τ²'s own evaluator, on a handful of tasks (the whole domain is a doc
command: docs/DOMAINS.md, τ²-bench)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.tools.tau2.conftest import needs_tau2

pytestmark = [needs_tau2, pytest.mark.slow, pytest.mark.timeout(600)]  # τ²'s first import takes seconds


def _tasks(with_write: bool, n: int) -> list[str]:
    """The first ``n`` retail tasks with (or without) a gold write, so both kinds are sampled."""
    from tools.tau2 import source
    from tools.tau2.domain import tau2_domain

    writes = {s.name for s in tau2_domain("retail").tool_specs() if s.risk.has_side_effects}
    chosen = []
    for task in source.tasks("retail"):
        names = [a.name for a in task.evaluation_criteria.actions or []]
        if names and any(name in writes for name in names) == with_write:
            chosen.append(str(task.id))
    return chosen[:n]


def test_imported_tasks_replay_their_gold_conversation_and_pass(tmp_path: Path) -> None:
    from evals.loader import discover
    from evals.runner import RunOptions, run_scenarios
    from evals.tau2.importer import import_tasks

    ids = _tasks(True, 3) + _tasks(False, 1) + ["5"]
    report = import_tasks("retail", tmp_path, ids)
    assert len(report.written) == len(set(ids)) and not report.skipped
    scenario = yaml.safe_load((tmp_path / "tau2-retail-5.yaml").read_text())
    assert scenario["domain"] == "tau2-retail" and scenario["expect"]["trajectory"]["match"] == "superset"
    assert any(s.get("unchanged") for s in scenario["expect"]["state"])
    found = discover([tmp_path])
    assert not found.errors, found.errors
    record = run_scenarios(found.scenarios, RunOptions(model="replay", concurrency=2, processes=0))
    failed = {
        s.id: [d for t in s.trials for c in t.checks if c.fails for d in c.details]
        for s in record.scenarios
        if s.status != "passed"
    }
    assert not failed, failed


def test_agreement_with_taus_evaluator_on_a_sample() -> None:
    from evals.tau2.agree import agree

    ids = _tasks(True, 1) + _tasks(False, 1)
    result = agree("retail", ids, concurrency=2)
    gold = result.table("gold")
    assert gold["both_pass"] == gold["total"] == 2  # the gold conversation passes both
    for variant in ("noop", "drop_last"):
        table = result.table(variant)
        assert table["total"] == 2 and table["tiller_only"] == 0  # Tiller never passes what τ² fails
    # the task without a write: τ² sees an unchanged database and passes the no-op; Tiller's
    # trajectory check sees the gold lookups were never made
    noop = {o.task: o for o in result.outcomes if o.variant == "noop"}
    read_only = noop[ids[1]]
    assert read_only.tau2 and not read_only.tiller and "trajectory" in read_only.failed_checks
