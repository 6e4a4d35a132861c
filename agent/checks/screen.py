"""The input guard: screen a user's message before the model, a log or a checkpoint sees it.

Order: secrets are redacted (always), personal data is handled per policy, then the redacted
text is scored for prompt injection. The most intrusive action wins: block > redact > flag >
allow. A blocked message gets a plain explanation the user can act on.
"""

from __future__ import annotations

from agent.checks.injection.neutralize import Detector, neutralize
from agent.checks.personal import personal_findings, redact_personal
from agent.checks.policy import GuardPolicy
from agent.checks.secrets import redact
from agent.checks.verdicts import Finding, GuardAction, GuardVerdict

INJECTION_BLOCKED = (
    "I can't act on that message: it contains instructions aimed at the system rather than a "
    "support request. Please rephrase what you need help with."
)
SECRET_BLOCKED = (
    "I can't process that message because it contains what looks like a secret ({kinds}). I have "
    "not stored it. We never need full card numbers, keys or passwords: please send your request "
    "again without it."
)
PERSONAL_BLOCKED = (
    "I can't process that message because it contains personal data ({kinds}) that this service "
    "is set up not to accept. Please send your request again without it."
)
_ORDER = (GuardAction.ALLOW, GuardAction.FLAG, GuardAction.REDACT, GuardAction.BLOCK)


def _strongest(actions: list[GuardAction]) -> GuardAction:
    return max(actions, key=_ORDER.index, default=GuardAction.ALLOW)


def _kinds(findings: list[Finding]) -> str:
    return ", ".join(sorted({f.kind.split(":", 1)[-1].replace("_", " ") for f in findings}))


def _personal(text: str, policy: GuardPolicy) -> tuple[str, list[Finding], GuardAction]:
    if policy.personal_data == "allow":
        return text, [], GuardAction.ALLOW
    if policy.personal_data == "redact":
        clean, found = redact_personal(text)
        return clean, found, GuardAction.REDACT if found else GuardAction.ALLOW
    found = personal_findings(text)
    if not found:
        return text, [], GuardAction.ALLOW
    return text, found, GuardAction.BLOCK if policy.personal_data == "block" else GuardAction.FLAG


def screen_input(
    text: str,
    *,
    policy: GuardPolicy | None = None,
    block_injection: bool = False,
    redacted_before: tuple[str, ...] = (),
) -> GuardVerdict:
    """Screen one user message under ``policy`` (default: redact secrets, flag the rest).

    ``block_injection=True`` is shorthand for a policy with ``injection: block``.
    ``redacted_before`` names secret kinds (``secret:card_number``) the caller already cut from
    ``text``; they count as findings (and block the message when the policy says so).
    """
    policy = policy or GuardPolicy(injection="block" if block_injection else "flag")
    clean, secrets = redact(text, policy.secret_rules())
    secrets = [Finding(kind, "[REDACTED]") for kind in redacted_before] + secrets
    actions = [GuardAction.REDACT if secrets else GuardAction.ALLOW]
    if secrets and policy.secrets == "block":
        return GuardVerdict(GuardAction.BLOCK, clean, tuple(secrets), SECRET_BLOCKED.format(kinds=_kinds(secrets)))
    clean, personal, action = _personal(clean, policy)
    if action is GuardAction.BLOCK:
        message = PERSONAL_BLOCKED.format(kinds=_kinds(personal))
        return GuardVerdict(GuardAction.BLOCK, clean, (*secrets, *personal), message)
    actions.append(action)
    detector = Detector(policy.injection_threshold, policy.classifier)
    neutral, report = neutralize(clean, detector)
    injections: list[Finding] = []
    if report.detected(detector.threshold):
        injections = [Finding("injection", ", ".join(report.signals)[:80], report.score)]
        if policy.injection == "block":
            return GuardVerdict(GuardAction.BLOCK, clean, (*secrets, *personal, *injections), INJECTION_BLOCKED)
        if policy.injection == "redact":
            clean = neutral
        actions.append(GuardAction.REDACT if policy.injection == "redact" else GuardAction.FLAG)
    findings = (*secrets, *personal, *injections)
    return GuardVerdict(_strongest(actions), clean, findings)
