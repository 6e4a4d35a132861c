"""Errors of the agent layer.

    TillerError                 base of everything the runtime raises on purpose
    ├── ConfigError             bad configuration (unknown model spec, missing key, bad URL)
    ├── DatabaseUnavailable     the database cannot be reached or has no schema (says what to run)
    │   └── StorageUnwritable   a directory Tiller keeps data in (home, index) cannot be written
    ├── ThreadNotFound          no such thread for this tenant (another tenant's look the same)
    ├── ThreadBusy              another process is running this thread right now
    ├── InvalidName             a user or reviewer name that is empty once normalised
    ├── MessageTooLarge         a user message over TILLER_MAX_MESSAGE_CHARS (HTTP 413)
    ├── KeyError_               an API key that cannot act or be managed (``code`` says which)
    │   ├── InvalidKey          malformed or unknown key (HTTP 401)
    │   ├── KeyRevoked          revoked or removed key (HTTP 401)
    │   ├── KeyNotFound         no such key to revoke (HTTP 404)
    │   └── InvalidKeyRequest   a key asked for with a bad role or tenant (HTTP 422)
    ├── ModelAdapterError       a local model adapter cannot go on (agent.models.errors)
    │   ├── ScriptExhausted     a scripted model ran out of turns
    │   └── CassetteError       a replay cassette is missing, malformed or exhausted
    └── ApprovalError           a reviewer action that cannot be done
        ├── ApprovalNotFound    no such approval for this tenant
        ├── ApprovalConflict    already decided / executed (HTTP 409)
        ├── ApprovalExpired     past its expiry
        ├── SelfApproval        the decider is the requester (separation of duties)
        ├── InvalidEdit         edited arguments fail the tool's schema or business rules
        └── ApprovalBlocked     approving a call that breaks a blocking rule of its tool (HTTP 409)

Failures of a run itself (model down, limits) are not exceptions: they end the run with a
status (see ``agent.loop.state.RunStatus``) and keep the trajectory.
"""

from __future__ import annotations


class TillerError(Exception):
    """Base error; ``str()`` is a message for a person, saying what to do."""


class ConfigError(TillerError):
    """Bad configuration: an unknown model spec, a missing key, a bad URL."""


class DatabaseUnavailable(TillerError):
    """The database cannot be reached or has no schema; the message says what to run."""


class StorageUnwritable(DatabaseUnavailable):
    """CLI exit 2, HTTP 503: the message names the directory and the fix."""


class ThreadNotFound(TillerError):
    """No such thread for this tenant (another tenant's threads look the same)."""


class ThreadBusy(TillerError):
    """Another process is running this thread right now."""


class InvalidName(TillerError):
    """A user or reviewer name that is empty once normalised."""


class MessageTooLarge(TillerError):
    """A user message over ``TILLER_MAX_MESSAGE_CHARS`` (HTTP 413)."""


class KeyError_(TillerError):
    """A key problem; ``code`` is the stable code the HTTP answer carries."""

    code = "invalid_key"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or type(self).code


class InvalidKey(KeyError_):
    """A malformed or unknown API key (HTTP 401)."""

    code = "invalid_key"


class KeyRevoked(KeyError_):
    """A revoked or removed API key (HTTP 401)."""

    code = "key_revoked"


class KeyNotFound(KeyError_):
    """No such API key to revoke (HTTP 404)."""

    code = "key_not_found"


class InvalidKeyRequest(KeyError_):
    """A key asked for with a bad role, tenant or subject (HTTP 422)."""

    code = "invalid_request"


class ApprovalError(TillerError):
    """A reviewer action that cannot be done."""


class ApprovalNotFound(ApprovalError):
    """No such approval for this tenant."""


class ApprovalConflict(ApprovalError):
    """The approval was already decided or executed (HTTP 409)."""


class ApprovalExpired(ApprovalError):
    """The approval is past its expiry: it can no longer be decided or used."""


class SelfApproval(ApprovalError):
    """The decider is the requester (separation of duties)."""


class InvalidEdit(ApprovalError):
    """Edited arguments a tool would refuse: its schema, or one of its business rules.

    ``fields`` pairs each problem with the argument it is about (``""``: the call as a whole)."""

    def __init__(self, message: str, *, fields: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []


class ApprovalBlocked(ApprovalError):
    """Approving a call its tool would refuse: a blocking rule check fails, read fresh at the
    decision. ``checks`` pairs each failing rule with its message; the reviewer edits the
    arguments until they pass, or rejects the call."""

    def __init__(self, message: str, *, checks: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.checks = checks
