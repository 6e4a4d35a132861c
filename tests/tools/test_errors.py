"""The errors a tool raises for the model to read (``tools.errors``)."""

from __future__ import annotations

from tools.errors import BusinessRuleViolation


def test_a_business_rule_is_broken_with_a_message_alone_or_with_a_code_first() -> None:
    alone = BusinessRuleViolation("Item I1 is already retired; nothing was changed.")
    coded = BusinessRuleViolation("already_retired", "Item I1 is already retired; nothing was changed.")
    assert (alone.rule, str(alone)) == ("business_rule", "Item I1 is already retired; nothing was changed.")
    assert (coded.rule, str(coded)) == ("already_retired", "Item I1 is already retired; nothing was changed.")
    assert alone.kind == coded.kind == "business_rule"
