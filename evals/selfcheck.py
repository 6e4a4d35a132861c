"""Self-checks: does each scenario accept what it should and reject what it should?

Three probes per scenario, each through the real graph on a fresh home, with a scripted model:

1. **expected calls pass** — a model that makes exactly the expected calls (one per model turn,
   in order) then answers "Done.". Every check but the answer and budget checks must pass
   (a scripted model cannot write the expected prose, nor spend a live model's tokens).
2. **do-nothing fails** — a model that calls no tool and answers "Done." must fail the scenario
   (answer checks included). If it passes, the scenario is *too loose*.
3. **dropping the last write fails** — the expected calls without the last one that writes
   (risk ``write`` or ``high_risk``) must fail (answer and budget skipped). Not applicable when
   the scenario expects no write.

Argument matchers are replayed as a concrete value: ``approx`` its number, ``any_of`` its first
option, ``regex`` its ``example`` (left out without one), ``any`` left out; required arguments
the scenario leaves open come from the tool's schema (example, first enum value, placeholder).
A call the scenario says approval was requested for is replayed with the requested arguments
(before any reviewer edit). A scenario's simulated user is scripted too: it sends its
``first_message`` or a neutral request once, then the stop token.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent.models.scripted import ScriptedChatModel
from evals.results import ScenarioResult
from evals.runner import HarnessModels, RunOptions, run_scenarios
from evals.scenario import AnyMatcher, AnyOfMatcher, ApproxMatcher, EqualsMatcher, RegexMatcher, Scenario
from evals.simulator import STOP_TOKEN, SimulatedUser

NEUTRAL_ANSWER = "Done."
WRITE_RISKS = ("write", "high_risk")


@dataclass
class Probe:
    """One self-check probe of one scenario."""

    name: str
    ok: bool
    applicable: bool = True
    details: list[str] = field(default_factory=list)


@dataclass
class SelfCheck:
    """The probes run on one scenario and what they found."""

    scenario: Scenario
    probes: list[Probe] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every applicable probe came out as it should."""
        return all(p.ok for p in self.probes if p.applicable)

    @property
    def too_loose(self) -> bool:
        """Whether a run that does nothing passes: expectations too loose to fail."""
        return any(p.name == "do-nothing fails" and not p.ok for p in self.probes)


def concrete_value(expected: Any) -> Any:
    """A value that satisfies ``expected``, or ``...`` when none can be made up."""
    if isinstance(expected, ApproxMatcher):
        return str(expected.approx)
    if isinstance(expected, AnyOfMatcher):
        return concrete_value(expected.any_of[0])
    if isinstance(expected, RegexMatcher):
        return expected.example if expected.example is not None else ...
    if isinstance(expected, AnyMatcher):
        return ...
    if isinstance(expected, EqualsMatcher):
        return expected.equals
    return str(expected) if isinstance(expected, Decimal) else expected


def expected_calls(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's expected calls as concrete tool calls (see the module docstring)."""
    trajectory = scenario.expect.trajectory
    if trajectory is None:
        return []
    requested = list(scenario.expect.approvals.requested) if scenario.expect.approvals else []
    calls = []
    for call in trajectory.calls:
        override = trajectory.tools.get(call.tool)
        args = {**call.args, **(override.args if override else {})}
        asked = next((r for r in requested if r.tool == call.tool), None)
        if asked is not None:  # the call as requested (before any reviewer edit)
            requested.remove(asked)
            args.update(asked.args)
        values = {name: concrete_value(v) for name, v in args.items()}
        calls.append({"name": call.tool, "args": {k: v for k, v in values.items() if v is not ...}})
    return calls


def filled(call: dict[str, Any], tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``call`` with the required arguments the scenario leaves open filled from the tool's
    schema (its example, its first enum value, or a placeholder), so a loose expectation such as
    ``cancel_booking(booking_id=B1000003)`` still replays as a valid call."""
    schema: dict[str, Any] = next(
        (t["function"].get("parameters", {}) for t in tools if t["function"]["name"] == call["name"]), {}
    )
    args = dict(call["args"])
    for name in schema.get("required", []):
        if name not in args:
            args[name] = _placeholder(schema["properties"].get(name, {}), schema.get("$defs", {}))
    return {**call, "args": args}


def _placeholder(prop: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in prop:
        prop = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
    if prop.get("examples"):
        return prop["examples"][0]
    if prop.get("enum"):
        return prop["enum"][0]
    kind = prop.get("type")
    if kind in ("integer", "number"):
        return prop.get("minimum", 1)
    return False if kind == "boolean" else "replayed by selfcheck"


def scripted(calls: Sequence[dict[str, Any]]) -> ScriptedChatModel:
    """A model making ``calls`` one per turn, then answering :data:`NEUTRAL_ANSWER`; it stands in
    for the scenario's real model, so its (estimated) usage counts as the real model's would."""

    def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> dict[str, Any] | str:
        made = sum(len(m.tool_calls) for m in messages if isinstance(m, AIMessage))
        if tools and made < len(calls):
            return {"tool_calls": [filled(calls[made], tools)]}
        return NEUTRAL_ANSWER

    return ScriptedChatModel(respond, reports_usage=True)


SCRIPTED_USER_MESSAGE = "Hello, I need help with my order."


def scripted_user() -> SimulatedUser:
    """A simulated user that sends one message — its ``first_message``, else
    :data:`SCRIPTED_USER_MESSAGE` — then the stop token (the scripted agent does not read it)."""

    def respond(messages: list[BaseMessage], _tools: list[dict[str, Any]]) -> str:
        said = sum(isinstance(m, AIMessage) for m in messages)
        return SCRIPTED_USER_MESSAGE if said == 0 else STOP_TOKEN

    return SimulatedUser(ScriptedChatModel(respond), "scripted")


def selfcheck(scenarios: Sequence[Scenario], options: RunOptions) -> list[SelfCheck]:
    """Run the three probes on every scenario (the offline flag does not matter here)."""
    if options.work_dir is None:
        with tempfile.TemporaryDirectory(prefix="tiller-selfcheck-") as work_dir:
            return selfcheck(scenarios, replace(options, work_dir=Path(work_dir)))
    options = replace(options, k=1, include_unsupported=True)
    plans = {s.id: expected_calls(s) for s in scenarios}
    full = _run(scenarios, options, plans, skip=("answer", "budget"))
    nothing = _run(scenarios, options, {s.id: [] for s in scenarios}, skip=())
    dropped = {s.id: _without_last_write(plans[s.id], full[s.id]) for s in scenarios}
    applicable = [s for s in scenarios if dropped[s.id] is not None]
    partial = _run(applicable, options, {k: v for k, v in dropped.items() if v is not None}, skip=("answer", "budget"))
    results = []
    for s in scenarios:
        check = SelfCheck(s)
        check.probes.append(_probe("expected calls pass", full[s.id], want_pass=True))
        check.probes.append(_probe("do-nothing fails", nothing[s.id], want_pass=False))
        if s.id in partial:
            check.probes.append(_probe("dropping the last write fails", partial[s.id], want_pass=False))
        else:
            check.probes.append(
                Probe("dropping the last write fails", ok=True, applicable=False, details=["no expected write"])
            )
        results.append(check)
    return results


def _run(
    scenarios: Sequence[Scenario], options: RunOptions, plans: dict[str, list[dict[str, Any]]], skip: tuple[str, ...]
) -> dict[str, ScenarioResult]:
    if not scenarios:
        return {}
    probe_options = replace(options, skip_checks=skip, model="scripted")
    harness = HarnessModels(simulated_user=scripted_user())  # no judge: probes skip rubrics
    record = run_scenarios(scenarios, probe_options, model_factory=lambda s, _t: scripted(plans[s.id]), harness=harness)
    return {r.id: r for r in record.scenarios}


def _without_last_write(plan: list[dict[str, Any]], result: ScenarioResult) -> list[dict[str, Any]] | None:
    """The plan minus its last call of a writing tool (risk as the run recorded it), or None."""
    if not result.trials:
        return None
    risks = {c.tool: c.risk for c in result.trials[0].transcript.calls}
    writes = [i for i, call in enumerate(plan) if risks.get(call["name"]) in WRITE_RISKS]
    if not writes:
        return None
    return [call for i, call in enumerate(plan) if i != writes[-1]]


def _probe(name: str, result: ScenarioResult, *, want_pass: bool) -> Probe:
    trial = result.trials[0] if result.trials else None
    passed = trial is not None and trial.passed
    details = trial.explanations if trial is not None and not passed else []
    if want_pass:
        return Probe(name, ok=passed, details=details)
    return Probe(name, ok=not passed, details=[] if not passed else ["the scenario passed anyway: it is too loose"])
