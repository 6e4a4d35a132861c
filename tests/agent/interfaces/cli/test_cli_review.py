"""``tiller approvals`` with the facts: show has the review context, a refused edit changes
nothing, lists show the arguments that ran and the real outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.agent.interfaces.cli.test_cli import Refunds, ask_json, tiller

__all__ = ["tiller"]  # the fixture, shared with the CLI's other tests


def test_show_has_facts_checks_and_policy(tiller: Callable[..., Any]) -> None:
    approval = ask_json(tiller, "refund order W1000001, it arrived damaged")["pending_approvals"][0]["id"]
    shown = tiller("approvals", "show", approval)
    assert shown.exit_code == 0, shown.output
    out = shown.output

    assert "amount: $129.99 USD" in out and "Refundable balance: $129.99 USD" in out
    assert "Customer: Jane Doe" in out and "Earlier refunds of this customer" in out and "days ago" in out
    assert "✓ within the refundable balance" in out and "policy:" in out and "[damaged-items#" in out


def test_a_refused_edit_changes_nothing_and_lists_tell_the_truth(tiller: Callable[..., Any], refunds: Refunds) -> None:
    paused = ask_json(tiller, "refund order W1000001, it arrived damaged")
    approval, thread = paused["pending_approvals"][0]["id"], paused["thread_id"]
    refused = tiller("approvals", "edit", approval, "--set", "amount=5000", "--as", "rita")
    assert refused.exit_code == 2 and "A refund of $5000.00 exceeds the refundable balance" in refused.output
    assert approval in tiller("approvals", "list").output  # still pending
    edited = tiller("approvals", "edit", approval, "--set", "amount=20", "--as", "rita", "--no-resume")
    assert edited.exit_code == 0 and f"tiller resume {thread}" in edited.output
    approved = tiller("approvals", "list", "--status", "approved").output
    assert approval in approved and 'amount="20"' in approved and "(edited)" in approved
    assert tiller("resume", thread).exit_code == 0
    assert refunds("W1000001") == (1, 2000)
    listed = tiller("approvals", "list", "--status", "all").output
    assert "executed" in listed and 'amount="20"' in listed and "129.99" not in listed


def test_approving_a_call_its_tool_refuses_is_refused_with_what_to_do(
    tiller: Callable[..., Any], refunds: Refunds
) -> None:
    paused = ask_json(tiller, "refund $500 on order W1000001, it arrived damaged")
    [approval] = paused["pending_approvals"]
    assert approval["args"]["amount"] == "500"
    shown = tiller("approvals", "show", approval["id"]).output
    assert "✗ A refund of $500.00 exceeds the refundable balance" in shown
    refused = tiller("approvals", "approve", approval["id"], "--as", "rita")
    assert refused.exit_code == 2, refused.output
    out = " ".join(refused.output.split())
    assert "issue_refund cannot be approved as requested: A refund of $500.00 exceeds the refundable balance" in out
    assert f"tiller approvals edit {approval['id']} --set NAME=VALUE --as rita" in out
    assert f"tiller approvals reject {approval['id']} --reason TEXT --as rita" in out
    assert approval["id"] in tiller("approvals", "list").output  # still pending, nothing recorded
    edited = tiller("approvals", "edit", approval["id"], "--set", "amount=129.99", "--as", "rita")
    assert edited.exit_code == 0, edited.output
    assert refunds("W1000001") == (1, 12999)
