"""Turning a recorded thread (e.g. a chat that went wrong) into a scenario file to edit.

The scenario replays the thread's user turns and reviewer decisions, and expects what happened:
the tool calls with their arguments and statuses (strict order, exact arguments), the approvals
requested, and the final status. The answer is left as a comment to fill in: what the answer
*should* say is a judgement, not a recording.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from langchain_core.messages import AIMessage, HumanMessage

from agent.loop.state import PendingApproval
from agent.runtime import Tiller

_RECORDED = ("executed", "replayed", "error", "rejected", "denied", "invalid")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "captured"


def _reviewer(approvals: list[PendingApproval]) -> list[Any]:
    decisions: list[Any] = []
    for a in approvals:
        told = {"customer_message": a.customer_message} if a.customer_message else {}
        if a.decision == "edit":
            edit = {"decision": "edit", "args": a.edited_args}
            decisions.append(edit | ({"reason": a.reason} if a.reason else {}) | told)
        elif a.decision == "reject":
            decisions.append({"decision": "reject", "reason": a.reason or "rejected"} | told)
        elif a.decision == "approve":
            decisions.append({"decision": "approve"} | told if told else "approve")
        else:
            decisions.append("pending")
    return decisions


def capture_thread(tiller: Tiller, thread_id: str, *, tenant: str, scenario_id: str | None = None) -> dict[str, Any]:
    """The scenario (as plain data) that replays ``thread_id`` and expects what it did."""
    thread = tiller.threads.get(tenant, thread_id)
    values = tiller.graph.get_state({"configurable": {"thread_id": thread_id}}).values
    messages = values.get("messages", [])
    turns = [str(m.text) for m in messages if isinstance(m, HumanMessage)]
    calls = [
        {"tool": c["tool"], "args": c.get("args", {}), "status": c["status"]}
        for c in values.get("trajectory", [])
        if c.get("status") in _RECORDED
    ]
    approvals = sorted(tiller.approvals.list(tenant, thread_id=thread_id), key=lambda a: a.requested_at)
    requested = [{"tool": a.tool, "args": a.args} for a in approvals]  # as asked, before any edit
    last = next((str(m.text) for m in reversed(messages) if isinstance(m, AIMessage)), "")
    result = tiller.result(thread_id, tenant=tenant)
    expect: dict[str, Any] = {
        "status": result.status.value,
        "trajectory": {"match": "strict", "args_match": "exact", "calls": calls},
    }
    if requested:
        expect["approvals"] = {"requested": requested}
    scenario: dict[str, Any] = {
        "id": scenario_id or _slug(f"captured {turns[0] if turns else thread_id}"),
        "description": f"Captured from thread {thread_id} ({thread.user_id}). Recorded answer: {last[:300]}",
        "tags": ["captured"],
        "tenant": tenant,
        "user": thread.user_id,
        "turns": turns,
    }
    if reviewer := _reviewer(approvals):
        scenario["reviewer"] = reviewer
    scenario["expect"] = expect
    return scenario


def write_scenario(scenario: dict[str, Any], path: Path) -> None:
    """Write a captured scenario as YAML, under a header that says what to review."""
    header = (
        "# Captured by `tiller eval capture`. Review the expectations: keep what must stay true,\n"
        "# loosen arguments that may vary (args_match: subset), and add what the answer must say:\n"
        "#   answer: {contains: [...]}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=100))
