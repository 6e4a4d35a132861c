"""The simulated user, against the local fake OpenAI server: a model plays the customer, its
messages go through ``tiller.ask`` with the scripted reviewer, and the conversation ends on the
stop token or at ``max_turns``; without a simulator model the scenario is skipped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from evals.cli import app
from evals.loader import load_scenario
from evals.report import write_reports
from evals.results import ScenarioResult, TrialResult
from evals.runner import NO_SIMULATOR, RunOptions, run_scenarios
from evals.scenario import Scenario
from evals.selfcheck import selfcheck

from .conftest import SCENARIOS, ServeFake, call, requests_of, say

AGENT, USER = "gpt-4o-mini", "gpt-4.1-nano"

REFUND = """\
id: simulated-refund
tags: [refund, simulated]
user_simulator:
  persona: Jane Doe, a customer; her order number is W1000001.
  goal: a full refund of her damaged tent
  max_turns: 4
reviewer: [approve]
expect:
  status: completed
  trajectory:
    match: superset
    args_match: subset
    calls:
      - {tool: issue_refund, args: {order_id: W1000001, amount: 129.99}, status: executed}
  approvals:
    requested: [{tool: issue_refund, args: {order_id: W1000001}}]
  state:
    - {table: refunds, where: {order_id: W1000001}, count: 1, fields: {amount: 129.99}}
"""

cli = CliRunner()


def only_trial(results: list[ScenarioResult]) -> TrialResult:
    [scenario] = results
    [trial] = scenario.trials
    return trial


def test_a_simulated_user_gets_a_refund_the_reviewer_approves(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, fake_llm: ServeFake
) -> None:
    scenario = write_scenario("simulated-refund", REFUND)
    script = [  # one queue, played in the order the conversation asks: user, agent…, user, agent…, user
        say("Hi, my tent from order W1000001 arrived damaged. I want my money back."),
        call("get_order", order_id="W1000001"),
        say("Order W1000001 ($129.99) was delivered. Shall I refund the full $129.99?"),
        say("Yes, the full amount please."),
        call("issue_refund", order_id="W1000001", amount=129.99, reason="damaged"),
        say("Done: $129.99 was refunded on order W1000001."),
        say("###DONE###"),
    ]
    with fake_llm(script) as server:
        live = replace(options, model=f"openai:{AGENT}", simulator=f"openai:{USER}")
        record = run_scenarios([scenario], live)
    trial = only_trial(record.scenarios)
    assert record.scenarios[0].status == "passed", trial.explanations
    assert record.simulator == f"openai:{USER}"
    transcript = trial.transcript
    assert [(t.source, t.message) for t in transcript.turns] == [
        ("simulator", "Hi, my tent from order W1000001 arrived damaged. I want my money back."),
        ("simulator", "Yes, the full amount please."),
    ]
    assert transcript.simulation is not None
    assert (transcript.simulation.turns, transcript.simulation.ended) == (2, "done")
    assert [(e.tool, e.decision) for e in transcript.approvals] == [("issue_refund", "approve")]
    assert [(c.tool, c.status, c.turn) for c in transcript.calls] == [
        ("get_order", "executed", 1),
        ("issue_refund", "executed", 2),
    ]
    # The simulated user sees its persona and goal, and the conversation with the roles flipped.
    first, second, last = requests_of(server, USER)
    system = first["messages"][0]["content"]
    assert "Jane Doe, a customer" in system and "a full refund of her damaged tent" in system
    assert "###DONE###" in system and "tools" not in first
    assert [m["role"] for m in last["messages"]] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert (
        second["messages"][-1]["content"] == "Order W1000001 ($129.99) was delivered. Shall I refund the full $129.99?"
    )
    assert last["messages"][-1]["content"] == "Done: $129.99 was refunded on order W1000001."
    # The agent gets the simulated messages as the user's, on one thread.
    agent_requests = requests_of(server, AGENT)
    assert agent_requests[-1]["messages"][1]["content"].startswith("Hi, my tent")
    assert "Yes, the full amount please." in [m["content"] for m in agent_requests[-1]["messages"]]


def test_the_stop_token_ends_the_conversation_and_is_never_sent(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, fake_llm: ServeFake
) -> None:
    scenario = write_scenario(
        "simulated-status",
        "id: simulated-status\nturns: [hello]\nuser_simulator:\n  persona: Jane\n  goal: know where W1000002 is\n"
        "  first_message: Where is my order W1000002?\n  max_turns: 5\n"
        "expect: {trajectory: {match: superset, calls: [{tool: get_order, args: {order_id: W1000002}}]}}\n",
    )
    with fake_llm([say("Thanks, that's all I needed! ###DONE###")]) as server:
        record = run_scenarios([scenario], replace(options, simulator=f"openai:{USER}"))
    trial = only_trial(record.scenarios)
    assert trial.passed, trial.explanations
    # the fixed turn, then the first message as written (no model call), then the stop token
    assert [(t.source, t.message) for t in trial.transcript.turns] == [
        ("script", "hello"),
        ("simulator", "Where is my order W1000002?"),
    ]
    assert trial.transcript.simulation is not None and trial.transcript.simulation.ended == "done"
    assert "the simulated user wrote ###DONE### after 1 message(s)" in trial.transcript.notes
    [request] = server.requests  # the offline agent made no request; the simulator one
    assert [m["content"] for m in request["messages"][2:]][:2] == ["hello", trial.transcript.turns[0].answer]


def test_max_turns_bounds_a_simulated_user_that_never_stops(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, fake_llm: ServeFake
) -> None:
    scenario = write_scenario(
        "simulated-chatty",
        "id: simulated-chatty\nuser_simulator: {persona: Jane, goal: chat forever, max_turns: 2}\n"
        "expect: {status: completed}\n",
    )
    endless = [say("Where is my order W1000002?"), say("And where is W1000001?"), say("And W1000003?")]
    with fake_llm(endless) as server:
        record = run_scenarios([scenario], replace(options, simulator=f"openai:{USER}"))
    trial = only_trial(record.scenarios)
    assert [t.message for t in trial.transcript.turns] == ["Where is my order W1000002?", "And where is W1000001?"]
    assert trial.transcript.simulation is not None and trial.transcript.simulation.ended == "max_turns"
    assert "the simulated user sent all its max_turns (2) messages" in trial.transcript.notes
    assert len(server.requests) == 2  # not asked for a third message


def test_a_failing_simulator_fails_the_trial_with_its_error(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, fake_llm: ServeFake
) -> None:
    scenario = write_scenario("simulated-broken", "id: simulated-broken\nuser_simulator: {persona: Jane, goal: help}\n")
    with fake_llm([{"status": 400, "error": "bad request"}]):
        record = run_scenarios([scenario], replace(options, simulator=f"openai:{USER}"))
    trial = only_trial(record.scenarios)
    assert record.scenarios[0].status == "failed" and trial.error is not None
    assert trial.error.startswith(f"SimulatorError: the simulated user's model (openai:{USER}) failed")


def test_without_a_simulator_the_scenario_is_skipped_never_passed(
    write_scenario: Callable[[str, str], Scenario], options: RunOptions, tmp_path: Path
) -> None:
    scenario = write_scenario("simulated-refund", REFUND)
    record = run_scenarios([scenario], options)
    [result] = record.scenarios
    assert (result.status, result.skip_reason, result.trials) == ("skipped", NO_SIMULATOR, [])
    assert record.summary.skipped == 1 and record.summary.passed == 0
    _, junit, _ = write_reports(record, tmp_path)
    [case] = ET.parse(junit).getroot().iter("testcase")
    skipped = case.find("skipped")
    assert skipped is not None and "--simulator" in (skipped.get("message") or "")
    result = cli.invoke(app, ["run", str(scenario.source), "--model", "replay"])
    assert result.exit_code == 0 and "skipped simulated-refund: a model plays the user" in result.output
    refused = cli.invoke(app, ["run", str(scenario.source), "--simulator", "offline"])
    assert refused.exit_code == 2 and "the simulator needs a live model" in refused.output


def test_the_example_scenarios_pass_with_a_scripted_simulated_user(options: RunOptions, fake_llm: ServeFake) -> None:
    refund = load_scenario(SCENARIOS / "simulated-refund-damaged-tent.yaml")
    cancel = load_scenario(SCENARIOS / "simulated-cancel-shipped-order.yaml")
    assert "simulated" in refund.tags and "simulated" in cancel.tags
    with fake_llm([say("It's order W1000001."), say("###DONE###")]):  # the offline agent asks which order
        record = run_scenarios([refund], replace(options, simulator=f"openai:{USER}"))
    assert record.scenarios[0].status == "passed", only_trial(record.scenarios).explanations
    pushy = [
        say("Cancel my order W1000002, I don't need it."),
        say("Is there really nothing to do?"),
        say("###DONE###"),
    ]
    with fake_llm(pushy):
        record = run_scenarios([cancel], replace(options, simulator=f"openai:{USER}"))
    assert record.scenarios[0].status == "passed", only_trial(record.scenarios).explanations


def test_selfcheck_scripts_the_simulated_user(eval_work_dir: Path) -> None:
    scenarios = [
        load_scenario(SCENARIOS / f"simulated-{name}.yaml") for name in ("refund-damaged-tent", "cancel-shipped-order")
    ]
    results = selfcheck(scenarios, RunOptions(work_dir=eval_work_dir, concurrency=2))
    assert all(check.ok for check in results), [(c.scenario.id, c.probes) for c in results]
