"""Column types that mean the same on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import peewee

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(instant: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The inverse of ``to_micros``."""
    # Positional: ``timedelta(microseconds=...)`` takes a slower path, three
    # times this, and a row holds a dozen instants.
    return _EPOCH + timedelta(0, 0, micros)


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


# Every stored document is encoded by orjson: a billing batch encodes a
# few documents per renewal, and the standard library's encoder was a tenth
# of a renewal's time. Keys sorted, so the text of a document is one text;
# keys that are not text (numbers) become text, as ``json.dumps`` makes them;
# an aware instant in UTC is RFC 3339 ending in "Z", as event data writes it.
_ENCODING = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


def encode_json(value: Any) -> str:
    """A document as compact JSON text, its keys sorted."""
    return orjson.dumps(value, option=_ENCODING).decode()


class EncodedJSON:
    """A document already encoded as ``encode_json`` encodes it, stored as
    it is: rows that share parts of their documents encode each part once."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of_members(cls, members: dict[str, str]) -> EncodedJSON:
        """The object of ``members``, each value encoded already, its keys
        sorted as ``encode_json`` sorts them (so the text is the same)."""
        text = ",".join(f"{_encoded_key(key)}:{members[key]}" for key in sorted(members))
        return cls("{" + text + "}")


@functools.lru_cache(maxsize=256)
def _encoded_key(key: str) -> str:
    # A document's keys are a few words used over and over.
    return encode_json(key)


class JSONField(peewee.TextField):
    """A JSON document in a text column (the same on both databases)."""

    def db_value(self, value: Any) -> Any:
        if value is None:
            return None
        if type(value) is EncodedJSON:
            return value.text
        return encode_json(value)

    def python_value(self, value: Any) -> Any:
        return None if value is None else orjson.loads(value)
