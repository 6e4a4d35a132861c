"""Names are identities: look-alike spellings of the requester cannot approve its request.

Separation of duties compares names in one canonical form (NFKC, case-folded, trimmed, format
characters removed; ``agent.persistence.names``), wherever a name is stored or compared.
"""

from __future__ import annotations

import pytest

from agent.config import Settings
from agent.errors import InvalidKeyRequest, InvalidName, SelfApproval
from agent.persistence.approvals import ApprovalStore
from agent.persistence.keys import KeyStore
from agent.persistence.names import normalize_name, same_person
from agent.runtime import Tiller

LOOK_ALIKES = [
    "agent.demo ",
    " Agent.Demo",
    "AGENT.DEMO",
    "ａｇｅｎｔ.ｄｅｍｏ",
    "agent\u200b.demo",
    "agent.\u2060demo\t",
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alike_names_are_one_person(name: str) -> None:
    assert normalize_name(name) == "agent.demo"
    assert same_person(name, "agent.demo")


def test_distinct_names_stay_distinct() -> None:
    assert not same_person("agent.demo", "agent.demo2")
    assert not same_person("rita", None)
    with pytest.raises(InvalidName):
        normalize_name(" \u200b\t")


def _pending(tiller: Tiller, user: str) -> str:
    result = tiller.ask("Refund order W1000001, the tent arrived damaged", user=user)
    assert result.pending_approvals, result.answer
    return result.pending_approvals[0].id


@pytest.mark.parametrize("reviewer", LOOK_ALIKES)
def test_a_look_alike_of_the_requester_cannot_approve(settings: Settings, reviewer: str) -> None:
    with Tiller(settings) as tiller:
        approval = _pending(tiller, "agent.demo")
        with pytest.raises(SelfApproval):
            tiller.decide(approval, decision="approve", decided_by=reviewer)
        assert tiller.approvals.get(settings.tenant, approval).status == "pending"


def test_a_requester_with_a_decorated_name_is_stored_canonically(settings: Settings) -> None:
    with Tiller(settings) as tiller:
        approval = _pending(tiller, " Agent.Demo ")
        stored = tiller.approvals.get(settings.tenant, approval)
        assert stored.requested_by == "agent.demo"
        with pytest.raises(SelfApproval):
            tiller.decide(approval, decision="reject", decided_by="agent.demo")
        decided = tiller.decide(approval, decision="reject", decided_by="Rita ", reason="no")
        assert decided.decided_by == "rita"


def test_the_store_refuses_look_alikes_whoever_calls_it(settings: Settings) -> None:
    with Tiller(settings) as tiller:
        store: ApprovalStore = tiller.approvals
        row = store.request(
            tenant_id="acme",
            thread_id="t_names",
            tool_call_id="tc_1_1_0",
            tool="issue_refund",
            risk="high_risk",
            args={"order_id": "W1000001", "amount": "1.00", "reason": "damaged"},
            requested_by="ａｇｅｎｔ.ｄｅｍｏ",
        )
        with pytest.raises(SelfApproval):
            store.decide("acme", row.id, decision="approve", decided_by="AGENT.DEMO")


def test_key_names_are_canonical(settings: Settings) -> None:
    with Tiller(settings) as tiller:
        keys = KeyStore(tiller.sessions)
        info, _ = keys.create(tenant="acme", role="reviewer", name=" Rita.Reviewer ")
        assert info.name == "rita.reviewer"
        with pytest.raises(InvalidKeyRequest):
            keys.create(tenant="acme", role="user", name="\u200b ")
