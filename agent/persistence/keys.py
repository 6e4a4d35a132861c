"""API keys: created once and shown once, stored as a hash, looked up by their public id; and the
secrets the service generates once (``stored_secret``).

A key reads ``tk_<id>_<secret>``: the id (12 hex digits) finds the row, the secret (256 random
bits) proves possession. Because the secret is high-entropy, a keyed SHA-256 (HMAC) is the
right hash — a slow password KDF would only add latency to every request. Revocation is read
on every request, so it takes effect on the next one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import InvalidKey, InvalidKeyRequest, InvalidName, KeyNotFound, KeyRevoked
from agent.persistence.names import normalize_name
from agent.persistence.tables import ApiKeyRow, ServiceSecretRow, read_detached
from tools.db import transaction, utcnow

Role = Literal["user", "reviewer", "admin"]
ROLES: tuple[Role, ...] = ("user", "reviewer", "admin")
_PREFIX = "tk"
_HASH_KEY = b"tiller-api-key-v1"  # domain separation: these hashes mean nothing elsewhere


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the key's tenant, role and name (the acting user)."""

    key_id: str
    tenant: str
    role: Role
    name: str
    rate_per_minute: int | None = None
    max_concurrent_runs: int | None = None
    subject: str | None = None
    """The principal inside the tenant the key acts for (e.g. one customer id): its runs' tools
    touch that subject's records only. ``None``: tenant-wide, by role (staff)."""

    @property
    def can_review(self) -> bool:
        """Whether the key may see and decide approvals (reviewers and admins)."""
        return self.role in ("reviewer", "admin")


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: never its secret."""

    id: str
    tenant: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    rate_per_minute: int | None
    max_concurrent_runs: int | None
    subject: str | None = None


def hash_secret(secret: str) -> str:
    """The stored hash of a key's secret (HMAC-SHA-256 under Tiller's own key)."""
    return hmac.new(_HASH_KEY, secret.encode(), hashlib.sha256).hexdigest()


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        tenant=row.tenant_id,
        role=row.role,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        rate_per_minute=row.rate_per_minute,
        max_concurrent_runs=row.max_concurrent_runs,
        subject=row.subject,
    )


class KeyStore:
    """Create, list, revoke and check API keys."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]

    def _row(self, key_id: str) -> ApiKeyRow | None:
        """The key's row, detached (every request authenticates: one Core statement, ``read_detached``)."""
        with self._engine.connect() as conn:
            return read_detached(conn, ApiKeyRow, key_id)

    def create(
        self,
        *,
        tenant: str,
        role: str,
        name: str | None = None,
        rate_per_minute: int | None = None,
        max_concurrent_runs: int | None = None,
        subject: str | None = None,
    ) -> tuple[KeyInfo, str]:
        """A new key; the returned key string is the only time its secret exists in clear.
        ``subject`` binds a ``user`` key to one principal of the tenant (e.g. a customer id)."""
        if role not in ROLES:
            raise InvalidKeyRequest(f"role must be one of {', '.join(ROLES)}; got {role!r}", code="invalid_role")
        subject = subject.strip() if subject else None
        if subject is not None and role != "user":
            # A reviewer or admin decides for the whole tenant; binding it to one customer means nothing.
            raise InvalidKeyRequest(
                f"only user keys are bound to a subject; this is a {role} key", code="invalid_subject"
            )
        if not tenant.strip():
            raise InvalidKeyRequest("tenant must not be empty", code="invalid_tenant")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        try:
            acting = normalize_name(name) if name is not None else f"key-{key_id}"
        except InvalidName as exc:
            raise InvalidKeyRequest(str(exc), code="invalid_name") from None
        row = ApiKeyRow(
            id=key_id,
            tenant_id=tenant,
            role=role,
            name=acting,
            secret_hash=hash_secret(secret),
            created_at=utcnow(),
            rate_per_minute=rate_per_minute,
            max_concurrent_runs=max_concurrent_runs,
            subject=subject,
        )
        with transaction(self._sessions) as session:
            session.add(row)
        return _info(row), f"{_PREFIX}_{key_id}_{secret}"

    def list(self, tenant: str | None = None) -> list[KeyInfo]:
        """Every key (or the tenant's), newest first, without secrets."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id)
        if tenant:
            query = query.where(ApiKeyRow.tenant_id == tenant)
        with self._sessions() as session:
            return [_info(r) for r in session.scalars(query).all()]

    def revoke(self, key_id: str) -> KeyInfo:
        """Revoke a key (idempotent); requests with it fail from the next one on."""
        with transaction(self._sessions) as session:
            row = session.get(ApiKeyRow, key_id.removeprefix(f"{_PREFIX}_").split("_")[0])
            if row is None:
                raise KeyNotFound(f"no API key {key_id}; see `tiller keys list`")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def get(self, key_id: str) -> Principal:
        """The principal of an active key, by id (a web session holds the id, not the secret)."""
        row = self._row(key_id)
        if row is None or row.revoked_at is not None:
            raise KeyRevoked("this session's API key was revoked or removed; log in again")
        return _principal(row)

    def authenticate(self, presented: str) -> Principal:
        """The principal a presented key acts as, or ``InvalidKey``/``KeyRevoked`` saying what is wrong."""
        prefix, _, rest = presented.strip().partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != _PREFIX or len(key_id) != 12 or not secret:
            raise InvalidKey("malformed API key: expected tk_<id>_<secret> as printed by `tiller keys create`")
        row = self._row(key_id)
        if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(secret)):
            raise InvalidKey("invalid API key: no key matches it")
        if row.revoked_at is not None:
            raise KeyRevoked(f"API key {key_id} was revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC")
        return _principal(row)


def _principal(row: ApiKeyRow) -> Principal:
    return Principal(
        key_id=row.id,
        tenant=row.tenant_id,
        role=_role(row),
        name=_canonical(row.name),
        rate_per_minute=row.rate_per_minute,
        max_concurrent_runs=row.max_concurrent_runs,
        subject=row.subject,
    )


def _role(row: ApiKeyRow) -> Role:
    """The key's stored role, checked: a row edited to an unknown role grants nothing."""
    for role in ROLES:
        if row.role == role:
            return role
    raise InvalidKey(
        f"API key {row.id} has the role {row.role!r} in the database, none of {', '.join(ROLES)}: "
        "revoke it and create a new one with `tiller keys create`"
    )


def _canonical(name: str) -> str:
    """A stored name in its canonical form (keys created before names were normalised)."""
    try:
        return normalize_name(name)
    except InvalidName:
        return name


def stored_secret(sessions: sessionmaker[Session], name: str) -> str:
    """A secret generated once and kept in the database, so every process shares it."""
    with sessions() as session:
        row = session.get(ServiceSecretRow, name)
        if row is not None:
            return row.value
    try:
        with transaction(sessions) as session:
            session.add(ServiceSecretRow(name=name, value=secrets.token_urlsafe(48), created_at=utcnow()))
    except IntegrityError:
        pass  # another process created it first: use theirs
    with sessions() as session:
        row = session.get(ServiceSecretRow, name)
        assert row is not None
        return row.value
