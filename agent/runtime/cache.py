"""The read-tool result cache: keyed on tenant + tool + canonical arguments, per-tool TTL.

Only tools that declare ``cache_ttl_s`` (read tools; the contract refuses it on side-effecting
ones) are cached. Any successful side effect in a tenant drops that tenant's entries, so a
lookup after a write in this process never shows the balance from before it. The cache is per
process: another process's writes are seen once the TTL passes — keep TTLs short for data that
other processes change.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import TLRUCache

from tools.canonical import canonical_json
from tools.contract import ToolSpec

Key = tuple[str, str, str, str]


class ToolResultCache:
    """Results of read tools, reused within each tool's ``cache_ttl_s``; per tenant, subject and arguments."""

    def __init__(self, maxsize: int = 4096) -> None:
        self._ttl: dict[str, float] = {}
        self._entries: TLRUCache[Key, dict[str, Any]] = TLRUCache(maxsize=maxsize, ttu=self._expiry)
        self._lock = threading.Lock()

    def _expiry(self, key: Key, _value: Any, now: float) -> float:
        return now + self._ttl.get(key[1], 0.0)

    @staticmethod
    def key(tenant_id: str, spec: ToolSpec, args: Any, subject: str | None = None) -> Key:
        """A subject-bound caller (one customer) never shares entries with staff or another subject."""
        return (tenant_id, spec.name, canonical_json(args), subject or "")

    def get(self, key: Key) -> dict[str, Any] | None:
        """The stored result for ``key``, if it has not expired."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Key, spec: ToolSpec, data: dict[str, Any]) -> None:
        """Keep a read tool's result for its ``cache_ttl_s`` (nothing for tools without one)."""
        if spec.cache_ttl_s is None:
            return
        with self._lock:
            self._ttl[spec.name] = spec.cache_ttl_s
            self._entries[key] = data

    def invalidate_tenant(self, tenant_id: str) -> None:
        """Forget every result of the tenant (its data changed)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == tenant_id]:
                self._entries.pop(key, None)
