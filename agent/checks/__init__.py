"""Guards: what goes into the model and what comes out of a run is screened.

- :func:`screen_input` — a user's message: secrets redacted, personal data and prompt
  injection handled per the tenant's :class:`GuardPolicy` (``redact | block | flag``).
- :func:`screen_tool_output` — tool results and retrieved passages: untrusted data, secrets
  redacted and instruction-like text neutralised before the model reads them.
- :func:`redact` — secrets only (card numbers with Luhn, IBANs with mod-97, keys, tokens…).
- :func:`detect_injection` — the injection score (heuristics plus an optional classifier).

Detection is a signal, not the protection: approvals bound to exact arguments, policy
``deny``, tenant scoping and limits hold whatever the model is told (docs/SECURITY.md).
"""

from agent.checks.injection.detector import InjectionClassifier, InjectionReport, detect_injection
from agent.checks.injection.neutralize import MARKER
from agent.checks.personal import find_personal
from agent.checks.policy import GuardPolicies, GuardPolicy, policy_for
from agent.checks.screen import INJECTION_BLOCKED, screen_input
from agent.checks.secrets import find_secrets, iban_ok, luhn_ok, redact
from agent.checks.tool_output import OutputScreen, screen_tool_output
from agent.checks.verdicts import Finding, GuardAction, GuardVerdict

__all__ = [
    "INJECTION_BLOCKED",
    "MARKER",
    "Finding",
    "GuardAction",
    "GuardPolicies",
    "GuardPolicy",
    "GuardVerdict",
    "InjectionClassifier",
    "InjectionReport",
    "OutputScreen",
    "detect_injection",
    "find_personal",
    "find_secrets",
    "iban_ok",
    "luhn_ok",
    "policy_for",
    "redact",
    "screen_input",
    "screen_tool_output",
]
