"""Opaque, validated page tokens for keyset paging.

A token holds the sort key of the last row served and a fingerprint of the
request's filters, with a checksum. A token that does not decode, fails its
checksum, or comes from a request with other filters is refused with
INVALID_ARGUMENT, never served as something else. The checksum guards
against corruption, not attackers: every list query is scoped to the
caller's tenant, so a forged token can only page through what the caller
may see anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import peewee

from bento_server import ids
from bento_server.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
_VERSION = 1

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """What a list query needs: how many rows, and after which key."""

    size: int
    after: Any  # the last key of the previous page, None for the first page
    scope: str


def _fingerprint(scope: str) -> str:
    return hashlib.blake2b(scope.encode(), digest_size=8).hexdigest()


def _checksum(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=8, person=b"bento-page").hexdigest()


def page(page_size: int, page_token: str, scope: str) -> Page:
    """Reads a request's paging fields.

    ``scope`` names the list and its filters ("ListPlans|PL1|US"); a token is
    only good for requests of the same scope.
    """
    if page_size < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    size = DEFAULT_PAGE_SIZE if page_size == 0 else min(page_size, MAX_PAGE_SIZE)
    if not page_token:
        return Page(size=size, after=None, scope=scope)
    return Page(size=size, after=_decode(page_token, scope), scope=scope)


def _decode(token: str, scope: str) -> Any:
    bad = InvalidArgument.field("page_token", "not a page token of this list", "invalid_page_token")
    if len(token) > 1024:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body, _, checksum = raw.rpartition(b".")
        if not body or checksum.decode() != _checksum(body):
            raise bad
        payload = json.loads(body)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != _VERSION
        or payload.get("s") != _fingerprint(scope)
        or "k" not in payload
    ):
        raise bad
    return payload["k"]


def next_token(page: Page, rows: list[Any], key_of: Any) -> str:
    """The token after ``rows`` (fetched with ``limit = page.size + 1``).

    Returns "" when there is no next page. ``key_of(row)`` gives a row's sort
    key (a JSON value).
    """
    if len(rows) <= page.size:
        return ""
    last = rows[page.size - 1]
    body = json.dumps(
        {"v": _VERSION, "s": _fingerprint(page.scope), "k": key_of(last)}, separators=(",", ":")
    ).encode()
    raw = body + b"." + _checksum(body).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Listed(Generic[T]):
    """One page of a list."""

    items: list[T]
    next_page_token: str


def fetch(
    query: peewee.ModelSelect, page: Page, key: peewee.Field, newest_first: bool = False
) -> Listed[Any]:
    """Runs ``query`` for one page, ordered by ``key`` (a unique column).

    IDs sort by creation time, so ``key`` is usually the primary key.
    """
    if page.after is not None:
        if not _could_be_key(page.after, key):
            raise InvalidArgument.field(
                "page_token", "not a page token of this list", "invalid_page_token"
            )
        query = query.where(key < page.after if newest_first else key > page.after)
    rows = list(query.order_by(key.desc() if newest_first else key.asc()).limit(page.size + 1))
    return Listed(rows[: page.size], next_token(page, rows, lambda row: getattr(row, key.name)))


def _could_be_key(after: Any, key: peewee.Field) -> bool:
    """Whether a token's key is one this list could have given out: a number
    the column holds (event sequences), or an ID (printable ASCII). The
    checksum catches corruption, not forgery, and the store must never see
    a number past 64 bits (SQLite refuses it) or a NUL (PostgreSQL does)."""
    if isinstance(key, peewee.IntegerField):
        return type(after) is int and -(2**63) <= after < 2**63
    return type(after) is str and 0 < len(after) <= 64 and ids.is_token(after)
