"""Canonical JSON for arguments: the form that idempotency keys and approvals hash."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for a pydantic model or mapping (Decimals as strings)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python", exclude_none=False)
    return json.loads(json.dumps(value, default=_default))


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, numbers normalised: equal arguments give equal text."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(*parts: str) -> str:
    """SHA-256 over parts joined by a separator that cannot occur in them."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def args_hash(args: Any) -> str:
    """The SHA-256 of the arguments' canonical JSON: what an approval and an idempotency key pin down."""
    return digest(canonical_json(args))
