"""Column types that mean the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import peewee

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(instant: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The inverse of ``to_micros``."""
    return _EPOCH + timedelta(microseconds=micros)


class InstantField(peewee.BigIntegerField):
    """An instant stored as microseconds since the epoch, UTC.

    Integers compare, index and round-trip exactly on both databases, where
    SQLite's text datetimes compare wrongly once offsets creep in.
    """

    def db_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return to_micros(value)
        return value

    def python_value(self, value: Any) -> Any:
        # Aggregates over the column (MIN, MAX) arrive converted already.
        if value is None or isinstance(value, datetime):
            return value
        return from_micros(int(value))


class JSONField(peewee.TextField):
    """A JSON document in a text column (the same on both databases)."""

    def db_value(self, value: Any) -> Any:
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)
