"""A reviewer's decision checked before it is recorded: an edit against the tool's schema and
business rules, an approval against the rules on fresh facts (issue 17)."""

from __future__ import annotations

from typing import Any

from agent.errors import ApprovalBlocked, InvalidEdit
from agent.persistence.approvals import ApprovalStore
from agent.runtime.domains import DomainRuntimes
from agent.runtime.review import Reviews
from tools.canonical import to_jsonable
from tools.errors import ArgumentsInvalid
from tools.validation import validate_for_person


def checked_edit(
    approvals: ApprovalStore,
    domains: DomainRuntimes,
    reviews: Reviews,
    tenant: str,
    approval_id: str,
    edits: dict[str, Any],
) -> dict[str, Any]:
    """The arguments an edit makes, validated against the tool's schema and pre-checked
    against its business rules (the domain's review checks): ``InvalidEdit`` names the field
    or the rule, and nothing is recorded. A decided approval is left to ``decide`` to refuse."""
    current = approvals.get(tenant, approval_id)
    merged = {**current.args, **edits}
    if current.status != "pending":
        return merged
    if not edits:
        raise InvalidEdit("no arguments to change: give at least one")
    spec = domains.registry(tenant).get(current.tool)
    if spec is None:
        raise InvalidEdit(f"tool {current.tool} is not a tool of this tenant's domain")
    try:
        edited: dict[str, Any] = to_jsonable(validate_for_person(spec, merged))
    except ArgumentsInvalid as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise InvalidEdit(problems, fields=[(p.field, p.problem) for p in exc.problems]) from None
    if (failing := reviews.blocking_failures(tenant, current.tool, edited)) and _still_pending(
        approvals, tenant, approval_id
    ):
        message = " ".join(c.message for c in failing)
        raise InvalidEdit(f"{current.tool} would refuse these arguments: {message}", fields=[("", message)])
    return edited


def check_approval(approvals: ApprovalStore, reviews: Reviews, tenant: str, approval_id: str) -> None:
    """Raise ``ApprovalBlocked`` when the call, as requested, breaks a blocking rule of its
    tool — evaluated now on fresh facts, never on what a page showed earlier. A decided
    approval is left to ``decide`` to refuse; facts that cannot be read block nothing (the
    tool still checks its rules when the call runs)."""
    current = approvals.get(tenant, approval_id)
    if current.status != "pending":
        return
    if (failing := reviews.blocking_failures(tenant, current.tool, current.args)) and _still_pending(
        approvals, tenant, approval_id
    ):
        message = " ".join(c.message for c in failing)
        raise ApprovalBlocked(
            f"{current.tool} cannot be approved as requested: {message} "
            "Edit its arguments so they pass the rule, or reject it.",
            checks=[(c.rule, c.message) for c in failing],
        )


def _still_pending(approvals: ApprovalStore, tenant: str, approval_id: str) -> bool:
    """Whether the approval is still undecided after its rules were read. Another reviewer may
    have decided it meanwhile and its call run, changing the very facts the rules read (an
    approved booking makes its seat 'taken'): that decision is what this one ran into, so
    ``decide`` reports the conflict rather than a rule the call no longer needs to pass."""
    return approvals.get(tenant, approval_id).status == "pending"
