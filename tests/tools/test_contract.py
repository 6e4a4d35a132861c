"""The tool contract: declaration, validation messages, canonical args, policy, registry."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from langchain_core.tools import tool as lc_tool
from pydantic import BaseModel, ConfigDict, Field

from tools.canonical import args_hash, canonical_json
from tools.contract import Risk, ToolContext, ToolSpec, tool
from tools.errors import ArgumentsInvalid, ToolDefinitionError
from tools.policy import ApprovalPolicy, Verdict
from tools.registry import ToolRegistry
from tools.validation import validate_args


class RefundArgs(BaseModel):
    order_id: str = Field(pattern=r"^W\d{7}$", description="order number")
    amount: Decimal = Field(gt=0, decimal_places=2, description="amount in dollars")


class RefundResult(BaseModel):
    refunded: Decimal
    summary: str


@tool(risk=Risk.HIGH_RISK, examples=("refund my order",), lookup_first="get_order")
def issue_refund(ctx: ToolContext, args: RefundArgs) -> RefundResult:
    """Refund part or all of a delivered order."""
    return RefundResult(refunded=args.amount, summary=f"refunded {args.amount}")


class OrderRef(BaseModel):
    order_id: str


@tool(risk=Risk.READ)
def get_order(ctx: ToolContext, args: OrderRef) -> RefundResult:
    """Look an order up."""
    return RefundResult(refunded=Decimal(0), summary=args.order_id)


class DeferredArgs(BaseModel):
    terms: LoanTerms  # defined below the tool: its schema can only be checked at registration


@tool(risk=Risk.READ)
def quote_loan(ctx: ToolContext, args: DeferredArgs) -> RefundResult:
    """Quote a loan."""
    return RefundResult(refunded=Decimal(0), summary="")


class LoanTerms(BaseModel):
    scorer: Callable[[int], int]


def test_decorator_builds_spec_from_signature_and_docstring() -> None:
    assert issue_refund.name == "issue_refund"
    assert issue_refund.description == "Refund part or all of a delivered order."
    assert issue_refund.risk is Risk.HIGH_RISK and issue_refund.idempotent is False
    schema = issue_refund.model_schema()
    assert schema["function"]["parameters"]["required"] == ["order_id", "amount"]
    assert schema["x-tiller"] == {"risk": "high_risk", "examples": ["refund my order"], "lookup_first": "get_order"}


def test_decorator_rejects_tools_without_models() -> None:
    with pytest.raises(ToolDefinitionError, match="pydantic model"):

        @tool(risk=Risk.READ)
        def bad(ctx: ToolContext, args: dict) -> dict:  # type: ignore[type-arg]
            """Bad."""
            return {}


class ScoredArgs(BaseModel):
    loan_id: str
    scorer: Callable[[int], int]


class Socketish:
    """Not a pydantic type: allowed in a model as an arbitrary type, but with no JSON schema."""


class NestedArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    loan_id: str
    terms: LoanTerms


class ArbitraryArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    loan_id: str
    client: Socketish


@pytest.mark.parametrize(
    ("args_model", "field"),
    [
        (ScoredArgs, "'scorer' (collections.abc.Callable[[int], int])"),
        (NestedArgs, "'terms.scorer' (collections.abc.Callable[[int], int])"),
        (ArbitraryArgs, "'client' (Socketish)"),
    ],
)
def test_decorator_names_the_field_without_a_json_schema(args_model: type[BaseModel], field: str) -> None:
    def check_loan(ctx, args):  # type: ignore[no-untyped-def]
        """Check a loan."""
        return RefundResult(refunded=Decimal(0), summary="")

    check_loan.__annotations__ = {"ctx": ToolContext, "args": args_model, "return": RefundResult}
    with pytest.raises(ToolDefinitionError) as info:
        tool(risk=Risk.READ)(check_loan)
    message = str(info.value)
    assert message.startswith(f"tool 'check_loan': its args model {args_model.__name__} has no JSON schema")
    assert f"its field {field} is not JSON-representable" in message
    assert "Use JSON-representable types: str, int" in message


def test_an_args_model_completed_after_the_tool_is_checked_at_registration() -> None:
    assert isinstance(quote_loan, ToolSpec)  # declared while LoanTerms was still a forward reference
    with pytest.raises(ToolDefinitionError, match=r"tool 'quote_loan': .*DeferredArgs.*'terms\.scorer'"):
        ToolRegistry([quote_loan])


def test_invalid_args_name_each_field() -> None:
    with pytest.raises(ArgumentsInvalid) as info:
        validate_args(issue_refund, {"order_id": "12345", "amount": -3})
    fields = {p.field for p in info.value.problems}
    assert fields == {"order_id", "amount"}
    assert "order_id" in info.value.message and "does not match" in info.value.message


def test_missing_and_malformed_json_args() -> None:
    with pytest.raises(ArgumentsInvalid, match="'amount' is a required property"):
        validate_args(issue_refund, {"order_id": "W1000001"})
    with pytest.raises(ArgumentsInvalid, match="not valid JSON"):
        validate_args(issue_refund, '{"order_id": "W1000001", ')


def test_valid_args_are_typed() -> None:
    args = validate_args(issue_refund, '{"order_id": "W1000001", "amount": "42.50"}')
    assert isinstance(args, RefundArgs) and args.amount == Decimal("42.50")


def test_canonical_json_is_order_and_format_independent() -> None:
    a = {"order_id": "W1", "amount": Decimal("42.50")}
    b = {"amount": Decimal("42.5"), "order_id": "W1"}
    assert canonical_json(a) == canonical_json(b) == '{"amount":"42.5","order_id":"W1"}'
    assert args_hash(a) == args_hash(b) != args_hash({**a, "amount": Decimal("40")})


def test_policy_defaults_follow_risk_and_rules_match_in_order(tmp_path: Path) -> None:
    args = validate_args(issue_refund, {"order_id": "W1000001", "amount": "20.00"})
    assert ApprovalPolicy().decide(issue_refund, args, "support_agent").verdict is Verdict.NEEDS_APPROVAL
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        "rules:\n"
        "  - {tool: issue_refund, roles: [senior], when: [{arg: amount, op: le, value: 25}], verdict: allow}\n"
        "  - {tool: issue_refund, when: [{arg: amount, op: gt, value: 1000}], verdict: deny, reason: too large}\n"
    )
    policy = ApprovalPolicy.from_file(policy_file)
    assert policy.decide(issue_refund, args, "senior").verdict is Verdict.ALLOW
    assert policy.decide(issue_refund, args, "support_agent").verdict is Verdict.NEEDS_APPROVAL
    big = validate_args(issue_refund, {"order_id": "W1000001", "amount": "5000"})
    decision = policy.decide(issue_refund, big, "senior")
    assert decision.verdict is Verdict.DENY and decision.reason == "too large"


def test_policy_file_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("rules:\n  - {tool: issue_refund, verdict: maybe}\n")
    with pytest.raises(ToolDefinitionError, match=r"policy.yaml.*rules.0.verdict"):
        ApprovalPolicy.from_file(bad)


def test_registry_rejects_duplicates_and_registers_langchain_tools() -> None:
    registry = ToolRegistry([issue_refund, get_order])
    with pytest.raises(ToolDefinitionError, match="already registered"):
        registry.register(issue_refund)

    @lc_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"sunny in {city}"

    spec = registry.register_langchain(get_weather, risk=Risk.READ)
    assert registry.names == ["issue_refund", "get_order", "get_weather"]
    args = validate_args(spec, {"city": "Oslo"})
    assert spec.func(None, args).model_dump() == {"output": "sunny in Oslo", "artifact": None}  # type: ignore[arg-type]
    with pytest.raises(ArgumentsInvalid, match="city"):
        validate_args(spec, {})


def _approve_loan(lookup_first: str) -> ToolSpec:
    @tool(risk=Risk.HIGH_RISK, lookup_first=lookup_first)
    def approve_loan(ctx: ToolContext, args: OrderRef) -> RefundResult:
        """Approve a loan."""
        return RefundResult(refunded=Decimal(0), summary="")

    return approve_loan


def test_registry_checks_lookup_first_once_all_its_tools_are_in() -> None:
    registry = ToolRegistry([_approve_loan("get_order"), get_order])  # named before it is registered: fine
    assert registry.names == ["approve_loan", "get_order"]
    with pytest.raises(ToolDefinitionError) as info:
        ToolRegistry([get_order, _approve_loan("get_loaan")])
    assert str(info.value) == (
        "tool 'approve_loan': lookup_first names 'get_loaan', which is not a tool of this registry; "
        "its tools are: get_order, approve_loan"
    )


def test_registry_rejects_lookup_first_naming_a_side_effecting_tool_or_itself() -> None:
    with pytest.raises(ToolDefinitionError) as info:
        ToolRegistry([issue_refund, get_order, _approve_loan("issue_refund")])
    assert str(info.value) == (
        "tool 'approve_loan': lookup_first names 'issue_refund', which is a high_risk tool; lookup_first must "
        "name a read tool (risk=Risk.READ) that looks the record up before this one"
    )
    with pytest.raises(ToolDefinitionError, match=r"'approve_loan': lookup_first names 'approve_loan', the tool it"):
        ToolRegistry([_approve_loan("approve_loan")])


def test_register_requires_the_lookup_tool_registered_first() -> None:
    registry = ToolRegistry()
    with pytest.raises(ToolDefinitionError) as info:
        registry.register(_approve_loan("get_order"))
    assert str(info.value) == (
        "tool 'approve_loan': lookup_first names 'get_order', which is not a tool of this registry; "
        "its tools are: approve_loan (register it before 'approve_loan')"
    )
    assert len(registry) == 0
    registry.register(get_order)
    registry.register(_approve_loan("get_order"))
    assert registry.names == ["get_order", "approve_loan"]
