"""API keys: issuing them and checking them on every call."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bento_server import ids
from bento_server.errors import Unauthenticated
from bento_server.store.access_cache import AccessCache
from bento_server.store.access_reads import KeyReads
from bento_server.store.database import Store
from bento_server.store.models import ApiKey
from bento_server.usecases.context import Principal

# Compared against when the key is unknown, so that an unknown key and a
# wrong secret take the same time.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    secret: str


def new_key_row(role: str, tenant_id: str | None, description: str, now: datetime) -> IssuedKey:
    """Creates an API key row (in the caller's transaction) and its secret."""
    secret = secrets.token_urlsafe(32)
    row = ApiKey.create(
        id=ids.new_id(ids.API_KEY),
        role=role,
        tenant_id=tenant_id,
        description=description,
        secret_hash=hash_secret(secret),
        created_at=now,
    )
    return IssuedKey(row=row, secret=secret)


class Authenticator:
    """Checks ``KEY_ID:SECRET`` credentials against the store.

    One indexed read per call (``store.access_reads.KeyReads``), or the
    access cache's copy of the key's row on PostgreSQL, which every replica
    drops when a key is revoked: revocation takes effect on the next call.
    """

    def __init__(self, store: Store, cache: AccessCache | None = None) -> None:
        self._reads = KeyReads(store)
        # Remembers the key's row (never the secret) until the next change.
        self._cache = cache

    def authenticate(self, key_id: str, secret: str) -> Principal:
        cache_key = ("api_key", key_id)
        row = self._cache.get(cache_key) if self._cache else None
        if row is None:
            generation = self._cache.generation if self._cache else 0
            row = self._reads.key(key_id)
            if row is not None and self._cache is not None:
                self._cache.put(cache_key, row, generation)
        expected = row[2] if row else _DUMMY_HASH
        matches = hmac.compare_digest(hash_secret(secret), expected)
        if row is None or not matches:
            raise Unauthenticated("unknown API key or wrong secret")
        if row[3] is not None:
            raise revoked()
        return Principal(key_id=key_id, role=row[0], tenant_id=row[1])

    def no_longer_valid(self, key_ids: Sequence[str]) -> set[str]:
        """Those of ``key_ids`` that were revoked (or are gone), read from the
        store itself, never the cache: open streams ask this to learn that
        their key was revoked, and a cache is exactly what could be stale."""
        if not key_ids:
            return set()
        return set(key_ids) - self._reads.unrevoked(key_ids)


def revoked() -> Unauthenticated:
    return Unauthenticated("API key revoked", "api_key_revoked")
