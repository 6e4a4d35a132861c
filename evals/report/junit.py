"""JUnit XML for CI: one test suite per run, one test case per scenario, one per rubric.

A scenario whose trials all pass is a passing case; otherwise the ``<failure>`` carries every
failing trial's explanations. Skipped scenarios are ``<skipped>`` with the reason. Properties
carry pass^k, partial credit and usage so CI dashboards can chart them.

Each rubric check of a scenario (``answer rubric``…) is also a case of its own, named
``<scenario> [answer rubric]``, so CI shows what the judge did: ``<skipped>`` when it was not
judged (no judge model), ``<error>`` when the judge gave no usable verdict, ``<failure>`` with
the unmet criteria and the judge's reasons.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from evals.results import CheckResult, RunRecord, ScenarioResult


def junit_tree(record: RunRecord) -> ET.ElementTree:
    """The run as JUnit XML: a test case per scenario, and one per rubric check."""
    cases = []
    for scenario in record.scenarios:
        cases.append(_case(scenario, record.k))
        cases += [_rubric_case(scenario, name, checks) for name, checks in scenario.rubric_checks().items()]
    suite = ET.Element(
        "testsuite",
        name=f"tiller-eval ({record.model}, k={record.k})",
        tests=str(len(cases)),
        failures=str(sum(c.find("failure") is not None for c in cases)),
        errors=str(sum(c.find("error") is not None for c in cases)),
        skipped=str(sum(c.find("skipped") is not None for c in cases)),
        time=f"{(record.finished_at - record.started_at).total_seconds():.3f}",
        timestamp=record.started_at.isoformat(),
    )
    suite.extend(cases)
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


def _rubric_case(scenario: ScenarioResult, name: str, checks: list[CheckResult]) -> ET.Element:
    """One rubric check over the trials: error if any trial's judge failed, else failure if any
    criterion was unmet, else skipped if never judged, else passed."""
    case = ET.Element("testcase", classname=_classname(scenario), name=f"{scenario.id} [{name}]", file=scenario.file)
    judged = [r for c in checks for r in c.criteria]
    properties = ET.SubElement(case, "properties")
    ET.SubElement(properties, "property", name="criteria_met", value=f"{sum(r.passed for r in judged)}/{len(judged)}")
    trials = [t.trial for t in scenario.trials if any(c.name == name for c in t.checks)]
    errors = [(n, c) for n, c in zip(trials, checks, strict=True) if c.error]
    failures = [(n, c) for n, c in zip(trials, checks, strict=True) if c.outcome == "failed"]
    if errors or failures:
        tag, kind, bad = ("error", "JudgeError", errors) if errors else ("failure", "RubricFailed", failures)
        element = ET.SubElement(case, tag, message=bad[0][1].details[0] if bad[0][1].details else tag, type=kind)
        element.text = "\n\n".join(f"trial {n}:\n" + "\n".join(f"  {d}" for d in c.details) for n, c in bad)
    elif all(c.skipped for c in checks):
        ET.SubElement(case, "skipped", message=checks[0].details[0] if checks[0].details else "not judged")
    return case


def _classname(scenario: ScenarioResult) -> str:
    folder = Path(scenario.file).parent.name if scenario.file else ""
    return f"scenarios.{folder}" if folder else "scenarios"


def write_junit(record: RunRecord, path: Path) -> Path:
    """Write the run as a JUnit XML file."""
    tree = junit_tree(record)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
