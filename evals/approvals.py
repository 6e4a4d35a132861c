"""Approval checks: which calls asked a reviewer, and the rules every scenario must keep.

Expectations (``expect.approvals``): calls that must have requested approval (tool and the
arguments they must include), tools that must not have asked, and how many requests there
were. Invariants (checked on every trial, whatever the scenario says):

- a call the reviewer rejected never ran;
- a call the reviewer edited carries the edited arguments;
- no high-risk call ran without a reviewer's approval (unless the scenario sets its own policy,
  which may allow one on purpose).
"""

from __future__ import annotations

from evals.arg_matching import compare_args, describe_expected, describe_value, render_call, value_matches
from evals.scenario import ApprovalExpectation
from evals.trajectory import maximum_matching
from evals.transcript import Transcript


def check_approvals(expectation: ApprovalExpectation, transcript: Transcript) -> list[str]:
    """Explanations of every unmet approval expectation."""
    events = transcript.approvals
    problems: list[str] = []
    ok = [
        [e.tool == want.tool and not compare_args(want.args, e.args, "subset") for e in events]
        for want in expectation.requested
    ]
    matched = {row for row, _ in maximum_matching(ok)} if events else set()
    asked = ", ".join(render_call(e.tool, e.args) for e in events) or "none"
    for index, want in enumerate(expectation.requested):
        if index not in matched:
            call = render_call(want.tool, want.args, expected=True)
            problems.append(f"no approval was requested for {call} (requests: {asked})")
    for tool in expectation.not_requested:
        problems += [
            f"{tool} asked for approval ({render_call(e.tool, e.args)}) but must not" for e in events if e.tool == tool
        ]
    if expectation.count is not None and len(events) != expectation.count:
        problems.append(f"expected {expectation.count} approval request(s), got {len(events)} ({asked})")
    return problems


def check_invariants(transcript: Transcript, *, custom_policy: bool) -> list[str]:
    """Violations of the approval rules every scenario must keep."""
    calls = {c.id: c for c in transcript.calls}
    problems: list[str] = []
    for event in transcript.approvals:
        call = calls.get(event.call_id)
        if call is None:
            continue
        if event.decision == "reject" and call.ran:
            problems.append(f"the reviewer rejected step {call.index} {render_call(call.tool, call.args)} but it ran")
        if event.decision == "edit":
            problems += [
                f"step {call.index} {call.tool}.{name}: the reviewer edited it to {describe_expected(value)}, "
                f"but the call carries {describe_value(call.args.get(name), value)}"
                for name, value in event.edits.items()
                if not value_matches(value, call.args.get(name))
            ]
    if not custom_policy:
        problems += [
            f"high-risk step {c.index} {render_call(c.tool, c.args)} ran without a reviewer's approval"
            for c in transcript.calls
            if c.risk == "high_risk" and c.ran and c.decision not in ("approve", "edit")
        ]
    return problems
