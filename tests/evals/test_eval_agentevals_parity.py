"""Parity with agentevals: on the same trajectory pairs our four match modes give the same
verdicts as ``agentevals.trajectory.match`` (args ``exact`` and ``ignore``).

agentevals pairs repeated calls greedily; we pair them optimally. With exact or ignored
arguments "matches" is an equivalence, where greedy is optimal, so verdicts must agree; with
partial argument matching they may differ, and only in our favour (one test shows the case).
Our ``args_match: subset`` (expected args ⊆ actual args) is agentevals' ``superset`` args mode.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from evals.scenario import TrajectoryExpectation
from evals.trajectory import match_trajectory
from evals.transcript import CallRecord

match = pytest.importorskip("agentevals.trajectory.match")

TOOLS = ("get_order", "issue_refund", "search_knowledge_base")
VALUES = ("W1000001", "W1000002", 1, 2)


def random_call(rng: random.Random) -> dict[str, Any]:
    args = {name: rng.choice(VALUES) for name in rng.sample(("order_id", "amount", "query"), rng.randint(0, 2))}
    return {"name": rng.choice(TOOLS), "args": args}


def as_messages(trajectory: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One assistant message per call, as OpenAI-style messages (agentevals' input)."""
    return [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": c["name"], "arguments": json.dumps(c["args"])}}],
        }
        for c in trajectory
    ]


def ours(mode: str, args_mode: str, actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    expectation = TrajectoryExpectation.model_validate(
        {"match": mode, "args_match": args_mode, "calls": [{"tool": c["name"], "args": c["args"]} for c in expected]}
    )
    records = [CallRecord(index=i, tool=c["name"], args=c["args"]) for i, c in enumerate(actual, start=1)]
    return match_trajectory(expectation, records).passed


def theirs(mode: str, args_mode: str, actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    evaluator = match.create_trajectory_match_evaluator(trajectory_match_mode=mode, tool_args_match_mode=args_mode)
    return bool(evaluator(outputs=as_messages(actual), reference_outputs=as_messages(expected))["score"])


def pairs(seed: int, count: int) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Random pairs, half of them built by editing one into the other so that matches are common."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        expected = [random_call(rng) for _ in range(rng.randint(0, 4))]
        if rng.random() < 0.5:
            actual = [dict(c) for c in expected]
            rng.shuffle(actual)
            if actual and rng.random() < 0.5:
                actual.pop(rng.randrange(len(actual)))
            if rng.random() < 0.5:
                actual.insert(rng.randint(0, len(actual)), random_call(rng))
        else:
            actual = [random_call(rng) for _ in range(rng.randint(0, 4))]
        out.append((actual, expected))
    return out


@pytest.mark.parametrize("mode", ["strict", "unordered", "subset", "superset"])
@pytest.mark.parametrize("args_mode", ["exact", "ignore"])
def test_verdicts_agree_with_agentevals(mode: str, args_mode: str) -> None:
    disagreements = [
        (actual, expected)
        for actual, expected in pairs(seed=sum(map(ord, mode + args_mode)), count=300)
        if ours(mode, args_mode, actual, expected) != theirs(mode, args_mode, actual, expected)
    ]
    assert not disagreements, disagreements[:3]


def test_partial_argument_matching_is_optimal_where_agentevals_is_greedy() -> None:
    expected = [{"name": "f", "args": {"a": 1}}, {"name": "f", "args": {"a": 1, "b": 2}}]
    actual = [{"name": "f", "args": {"a": 1, "b": 2}}, {"name": "f", "args": {"a": 1, "b": 3}}]
    assert ours("superset", "subset", actual, expected)
    assert not theirs("superset", "superset", actual, expected)  # greedy: {a: 1} took the only {a: 1, b: 2}
