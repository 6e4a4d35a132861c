"""CI covers the scenario suite: every scenario passes on its recorded cassette (those with a
simulated user are skipped, saying why), every scenario passes its self-checks, and neither
``agent`` nor ``tools`` imports ``evals``."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from evals.loader import discover
from evals.runner import NO_SIMULATOR, RunOptions, run_scenarios
from evals.selfcheck import selfcheck

from .conftest import REPO, SCENARIOS


def test_every_scenario_file_is_valid_and_has_a_cassette() -> None:
    found = discover([SCENARIOS])
    assert not found.errors, "\n".join(map(str, found.errors))
    assert len(found.scenarios) >= 40
    missing = [s.id for s in found.scenarios if not s.user_simulator and not s.cassette_path.exists()]
    assert not missing, f"scenarios without a cassette: {missing}"
    simulated = [s for s in found.scenarios if s.user_simulator]
    assert len(simulated) >= 2 and all("simulated" in s.tags for s in simulated)


def test_every_scenario_passes_on_replay(options: RunOptions) -> None:
    record = run_scenarios(discover([SCENARIOS]).scenarios, replace(options, model="replay", concurrency=4))
    failed = {s.id: s.trials[0].explanations for s in record.scenarios if s.status == "failed"}
    assert not failed, failed
    skipped = {s.id: s.skip_reason for s in record.scenarios if s.status == "skipped"}
    assert skipped == {s: NO_SIMULATOR for s in ("simulated-cancel-shipped-order", "simulated-refund-damaged-tent")}


def test_every_scenario_passes_its_self_checks(eval_work_dir: Path) -> None:
    results = selfcheck(discover([SCENARIOS]).scenarios, RunOptions(work_dir=eval_work_dir, concurrency=4))
    bad = {
        c.scenario.id: [(p.name, p.details) for p in c.probes if p.applicable and not p.ok] for c in results if not c.ok
    }
    assert not bad, bad


def test_agent_and_tools_never_import_evals() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+evals\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(REPO))
        for package in ("agent", "tools")
        for path in (REPO / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders
