"""Per-tenant guard policy: what each guard does with what it finds.

    default:                       # every tenant without its own entry
      injection: flag              # flag | redact | block
    tenants:
      tenant-a:
        injection: block
        personal_data: redact      # allow | flag | redact | block
        classifier: mypkg.guards:score_injection   # optional: text -> probability
      tenant-b:
        secrets: block             # redact | block
        secrets_off: [iban]        # kinds that are never secrets here
        card_words_within: 40      # a card number needs a card word this near (ids are long digits)

Secrets are always cut from the text before it reaches the model, a log or a checkpoint;
``secrets: block`` additionally refuses the message. ``tool_output: neutralize`` replaces
instruction-like text found in tool results and retrieved passages with a marker; ``flag``
only reports it. ``output_checks: repair`` gives the model one chance to fix an answer that
fails validation, then falls back to a safe answer; ``fallback`` skips the repair.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.checks.injection.detector import DEFAULT_THRESHOLD, InjectionClassifier
from agent.checks.secrets import SECRET_KINDS, SecretRules
from agent.errors import ConfigError
from tools.files import read_yaml_model


def load_classifier(ref: str) -> InjectionClassifier:
    """``module.path:function`` → the callable; a clear error when it does not exist."""
    module_name, _, attr = ref.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr) if attr else None
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"injection classifier {ref!r} cannot be loaded: {exc}") from None
    if not callable(found):
        raise ConfigError(f"injection classifier {ref!r} must name a callable as module.path:function")
    return found


class GuardPolicy(BaseModel):
    """What the guards of one tenant do."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    injection: Literal["flag", "redact", "block"] = Field("flag", description="user text that targets the system")
    secrets: Literal["redact", "block"] = Field("redact", description="keys, tokens, card numbers, IBANs")
    secrets_off: tuple[str, ...] = Field(
        (), description=f"secret kinds never reported or redacted ({', '.join(SECRET_KINDS)})"
    )
    card_words_within: int | None = Field(
        None, ge=0, le=200, description="a card number only counts with a card word this many characters near it"
    )
    personal_data: Literal["allow", "flag", "redact", "block"] = Field(
        "flag", description="emails, phones, birth dates"
    )
    tool_output: Literal["neutralize", "flag"] = Field("neutralize", description="injections in tool results")
    output_checks: Literal["repair", "fallback", "flag"] = Field("repair", description="answers failing validation")
    injection_threshold: float = Field(DEFAULT_THRESHOLD, gt=0, le=1, description="score at which text is an injection")
    classifier: InjectionClassifier | None = Field(None, description="optional text -> probability of injection")

    @field_validator("secrets_off")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        SecretRules(off=frozenset(kinds))  # raises naming the unknown kinds
        return kinds

    def secret_rules(self) -> SecretRules:
        """What counts as a secret under this policy."""
        return SecretRules(off=frozenset(self.secrets_off), card_words_within=self.card_words_within)

    @field_validator("classifier", mode="before")
    @classmethod
    def _load(cls, value: Any) -> Any:
        return load_classifier(value) if isinstance(value, str) else value


class GuardPolicies(BaseModel):
    """A default policy and per-tenant overrides (each a complete policy)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: GuardPolicy = Field(default_factory=GuardPolicy)
    tenants: Mapping[str, GuardPolicy] = Field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> GuardPolicy:
        """The tenant's own policy, else the default."""
        return self.tenants.get(tenant_id, self.default)

    @classmethod
    def from_file(cls, path: Path) -> GuardPolicies:
        """Load a YAML file; errors name the file and the setting."""
        return read_yaml_model(cls, path, "guard policy", ConfigError)


def policy_for(context: object) -> GuardPolicy:
    """The guard policy of a run: ``context.guard_policy`` if the runtime set one, else the
    default policy (with ``block_injection`` honoured for contexts that only carry that flag)."""
    policy = getattr(context, "guard_policy", None)
    if isinstance(policy, GuardPolicy):
        return policy
    if getattr(context, "block_injection", False):
        return GuardPolicy(injection="block")
    return GuardPolicy()
