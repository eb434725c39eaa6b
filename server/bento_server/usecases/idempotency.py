"""Idempotency keys: a mutating call made twice with one key happens once.

The first answer is stored in the transaction of the call's effect. A repeat
with the same caller, key, method and request gets that answer back; the
same key with another method or request is refused
(``idempotency_key_reused``). Concurrent duplicates serialize on a lock
named after the key, so the second one finds the first one's answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

import peewee

from bento_server import ids
from bento_server.errors import InvalidArgument
from bento_server.store import statements
from bento_server.store.models import IdempotencyRecord
from bento_server.usecases.context import Deps, Principal

# How long an answer is kept under its key (the README's "Calling Bento"
# promises 48 hours); pruned after this.
RETENTION = timedelta(hours=48)
MAX_KEY_LENGTH = 255


def check_key(key: str) -> None:
    """Refuses keys that are empty, too long or not printable ASCII."""
    if not key or len(key) > MAX_KEY_LENGTH or not ids.is_token(key):
        raise InvalidArgument.field(
            "idempotency-key",
            f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters without spaces",
        )


def request_hash(method: str, request: bytes) -> str:
    return hashlib.sha256(method.encode() + b"\0" + request).hexdigest()


def run_once(
    deps: Deps,
    principal: Principal,
    key: str,
    method: str,
    request: bytes,
    work: Callable[[], bytes],
) -> bytes:
    """Runs ``work`` (which returns the serialized answer) at most once per key.

    ``work`` runs inside the transaction that stores its answer, so either
    both the effect and the answer commit or neither does.
    """
    digest = request_hash(method, request)
    for attempt in range(2):
        try:
            with deps.store.write():
                deps.store.lock(f"idempotency:{principal.key_id}:{key}")
                found = statements.IDEMPOTENCY_RECORD.first(
                    deps.store, api_key_id=principal.key_id, key=key
                )
                if found is not None:
                    if found.method != method or found.request_hash != digest:
                        raise InvalidArgument(
                            "idempotency-key was already used for a different request",
                            "idempotency_key_reused",
                        )
                    return bytes(found.response)
                answer = work()
                statements.NEW_IDEMPOTENCY_RECORD.create(
                    deps.store,
                    api_key_id=principal.key_id,
                    key=key,
                    method=method,
                    request_hash=digest,
                    response=answer,
                    created_at=deps.clock.now(),
                )
                return answer
        except peewee.IntegrityError:
            # Another transaction stored the same key between our read and
            # our insert (possible only without the lock); read its answer.
            if attempt:
                raise
    raise AssertionError("unreachable")


def next_expiry(deps: Deps, skip: set[str]) -> datetime | None:
    """When the oldest stored answer passes its retention."""
    oldest = IdempotencyRecord.select(peewee.fn.MIN(IdempotencyRecord.created_at)).scalar()
    return None if oldest is None else IdempotencyRecord.created_at.python_value(oldest) + RETENTION


def prune(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    """Deletes the answers past their retention at ``at``; returns how many."""
    with deps.store.write():
        return cast(
            "int",
            IdempotencyRecord.delete()
            .where(IdempotencyRecord.created_at <= at - RETENTION)
            .execute(),
        )
