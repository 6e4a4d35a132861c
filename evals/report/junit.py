"""JUnit XML for CI: one test suite per run, one test case per scenario.

A scenario whose trials all pass is a passing case; otherwise the ``<failure>`` carries every
failing trial's explanations. Skipped scenarios are ``<skipped>`` with the reason. Properties
carry pass^k, partial credit and usage so CI dashboards can chart them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from evals.results import RunRecord, ScenarioResult


def junit_tree(record: RunRecord) -> ET.ElementTree:
    s = record.summary
    suite = ET.Element(
        "testsuite",
        name=f"tiller-eval ({record.model}, k={record.k})",
        tests=str(s.scenarios),
        failures=str(s.failed),
        errors="0",
        skipped=str(s.skipped),
        time=f"{(record.finished_at - record.started_at).total_seconds():.3f}",
        timestamp=record.started_at.isoformat(),
    )
    for scenario in record.scenarios:
        suite.append(_case(scenario, record.k))
    return ET.ElementTree(suite)


def _case(scenario: ScenarioResult, k: int) -> ET.Element:
    seconds = sum(t.transcript.latency_s for t in scenario.trials)
    case = ET.Element(
        "testcase", classname=_classname(scenario), name=scenario.id, file=scenario.file, time=f"{seconds:.3f}"
    )
    properties = ET.SubElement(case, "properties")
    values = {"pass_hat_k": f"{scenario.pass_hat(k):.4f}", "trials_passed": f"{scenario.passes}/{len(scenario.trials)}"}
    if scenario.trials:
        values["f1"] = f"{min(t.credit.f1 for t in scenario.trials):.4f}"
        values["tokens"] = str(sum(t.transcript.tokens for t in scenario.trials))
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=value)
    if scenario.status == "skipped":
        ET.SubElement(case, "skipped", message=scenario.skip_reason or "skipped")
    elif scenario.status == "failed":
        failing = [t for t in scenario.trials if not t.passed]
        first = failing[0].explanations[0] if failing and failing[0].explanations else "failed"
        failure = ET.SubElement(case, "failure", message=first, type="ScenarioFailed")
        failure.text = "\n\n".join(
            f"trial {t.trial}:\n" + "\n".join(f"  {line}" for line in t.explanations) for t in failing
        )
    return case


def _classname(scenario: ScenarioResult) -> str:
    folder = Path(scenario.file).parent.name if scenario.file else ""
    return f"scenarios.{folder}" if folder else "scenarios"


def write_junit(record: RunRecord, path: Path) -> Path:
    tree = junit_tree(record)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
