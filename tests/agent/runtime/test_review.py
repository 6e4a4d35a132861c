"""Reviewers decide with the facts: the review context, edits pre-checked against the tool's
rules, and approvals that tell their real outcome (``Tiller.review``, ``check_edit``, statuses)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from agent.config import Settings
from agent.errors import ApprovalBlocked, ApprovalConflict, InvalidEdit
from agent.loop.state import RunStatus
from agent.models.scripted import ScriptedChatModel
from agent.runtime import Tiller
from tests.agent.runtime.test_runtime import LOOKUP_THEN_REFUND, Refunds
from tools.commerce.models import Order


def test_the_review_context_has_facts_checks_and_policy(settings: Settings) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-context").pending_approvals
        view = tiller.review(approval)
    facts = {f.label: f.value for f in view.facts}
    assert facts["Customer"].startswith("Jane Doe (C")
    assert facts["Order total"].endswith(" USD") and facts["Refundable balance"] == "$129.99 USD"
    assert facts["Already refunded"] == "$0.00 USD" and "days ago" in facts["Delivered"]
    assert "Earlier refunds of this customer" in facts
    assert view.arguments == {"amount": "$129.99 USD"}
    assert {c.rule for c in view.checks} >= {"order_not_delivered", "refund_exceeds_balance"}
    assert all(c.passed for c in view.checks if c.blocking)
    assert view.policy and all("#" in p.citation for p in view.policy)


def test_an_edit_the_tool_would_refuse_is_refused_and_stays_pending(settings: Settings, refunds: Refunds) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-edit-5000").pending_approvals
        with pytest.raises(InvalidEdit, match=r"A refund of \$5000.00 exceeds the refundable balance") as refused:
            tiller.decide(approval.id, decision="edit", decided_by="rita", edits={"amount": "5000"})
        assert refused.value.fields and "$129.99" in refused.value.fields[0][1]
        with pytest.raises(InvalidEdit, match="amount: Input should be greater than 0"):
            tiller.decide(approval.id, decision="edit", decided_by="rita", edits={"amount": "-5"})
        assert tiller.approvals.get("acme", approval.id).status == "pending"
        assert [e["event"] for e in tiller.approvals.events("acme", approval.id)] == ["requested"]
    assert refunds("W1000001") == (0, 0)


TOO_MUCH = [
    LOOKUP_THEN_REFUND[0],
    {"tool_calls": [{"name": "issue_refund", "args": {"order_id": "W1000001", "amount": "999", "reason": "damaged"}}]},
]


def refund_in_full_elsewhere(tiller: Tiller, order_id: str) -> None:
    """The facts change under a pending approval: the order is refunded in full by someone else."""
    with tiller.sessions() as session, session.begin():
        session.execute(
            update(Order)
            .where(Order.tenant_id == "acme", Order.public_id == order_id)
            .values(amount_refunded_cents=Order.amount_paid_cents)
        )


def test_approving_a_call_that_breaks_a_blocking_rule_is_refused_and_an_edit_that_passes_is_not(
    settings: Settings, refunds: Refunds
) -> None:
    with Tiller(settings, model=ScriptedChatModel([*TOO_MUCH, "Refunded $129.99."])) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-blocked").pending_approvals
        with pytest.raises(
            ApprovalBlocked, match=r"issue_refund cannot be approved as requested: A refund of \$999"
        ) as no:
            tiller.decide(approval.id, decision="approve", decided_by="rita")
        assert "Edit its arguments so they pass the rule, or reject it." in str(no.value)
        assert no.value.checks and no.value.checks[0][0] == "refund_exceeds_balance"
        assert tiller.approvals.get("acme", approval.id).status == "pending"
        assert [e["event"] for e in tiller.approvals.events("acme", approval.id)] == ["requested"]
        tiller.decide(approval.id, decision="edit", decided_by="rita", edits={"amount": "129.99"})
        done = tiller.resume("t-blocked")
    assert done.status is RunStatus.COMPLETED and refunds("W1000001") == (1, 12999)


def test_the_rules_are_read_fresh_when_the_reviewer_approves(settings: Settings, refunds: Refunds) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-fresh").pending_approvals
        assert all(c.passed for c in tiller.review(approval).checks if c.blocking)  # what the page showed
        refund_in_full_elsewhere(tiller, "W1000001")
        with pytest.raises(ApprovalBlocked, match="fully refunded already"):
            tiller.decide(approval.id, decision="approve", decided_by="rita")
        tiller.decide(approval.id, decision="reject", decided_by="rita", reason="refunded by phone already")
        assert tiller.approvals.get("acme", approval.id).status == "rejected"
    assert refunds("W1000001") == (0, 0)


def test_an_approved_call_the_tool_refuses_is_failed_with_its_reason(settings: Settings, refunds: Refunds) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-fails").pending_approvals
        tiller.decide(approval.id, decision="approve", decided_by="rita")
        assert [a.id for a in tiller.approvals.list("acme", status="approved")] == [approval.id]
        refund_in_full_elsewhere(tiller, "W1000001")  # between the decision and the run: the tool still checks
        done = tiller.resume("t-fails")
        after = tiller.approvals.get("acme", approval.id)
        events = [e["event"] for e in tiller.approvals.events("acme", approval.id)]
        approved = [a.id for a in tiller.approvals.list("acme", status="approved")]
    assert done.status is RunStatus.COMPLETED and refunds("W1000001") == (0, 0)
    assert after.status == "failed" and after.outcome and "fully refunded" in after.outcome
    assert events == ["requested", "approved", "failed"]
    assert approved == [approval.id]  # `approved` means a reviewer approved it, whatever came of it


def test_effective_arguments_are_the_edited_ones(settings: Settings) -> None:
    with Tiller(settings, model=ScriptedChatModel(LOOKUP_THEN_REFUND)) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-effective").pending_approvals
        tiller.decide(approval.id, decision="edit", decided_by="rita", edits={"amount": "20.00"})
        tiller.resume("t-effective")
        [row] = tiller.approvals.list("acme", status="executed", thread_id="t-effective")
    assert row.args["amount"] == "129.99" and row.effective_args["amount"] == "20"


@pytest.mark.parametrize("decision", ["approve", "edit"])
def test_a_reviewer_who_loses_the_race_is_told_of_the_other_decision_not_of_its_effect(
    settings: Settings, refunds: Refunds, monkeypatch: pytest.MonkeyPatch, decision: str
) -> None:
    """Two reviewers decide at once: while the slower one's rules are being read, the faster
    one's approval is recorded and its refund runs, so the rules now see 'fully refunded'. The
    slower reviewer ran into a decision, not into a broken rule (CI once saw approval_blocked)."""
    with Tiller(settings, model=ScriptedChatModel([*LOOKUP_THEN_REFUND, "Refunded."])) as tiller:
        [approval] = tiller.ask("refund W1000001", thread_id="t-race").pending_approvals
        read_rules = tiller.reviews.blocking_failures

        def the_other_reviewer_wins(*args: object, **kwargs: object) -> object:
            monkeypatch.setattr(tiller.reviews, "blocking_failures", read_rules)
            tiller.decide(approval.id, decision="approve", decided_by="sam")
            assert tiller.resume("t-race").status is RunStatus.COMPLETED
            return read_rules(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(tiller.reviews, "blocking_failures", the_other_reviewer_wins)
        edits = {"amount": "20"} if decision == "edit" else None
        with pytest.raises(ApprovalConflict, match=f"approval {approval.id} is already executed"):
            tiller.decide(approval.id, decision=decision, decided_by="rita", edits=edits)  # type: ignore[arg-type]
        assert tiller.approvals.get("acme", approval.id).decided_by == "sam"
    assert refunds("W1000001") == (1, 12999)
