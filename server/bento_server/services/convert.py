"""Conversions between protobuf values and the store's plain values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import EnumDescriptor

from bento_server.errors import InvalidArgument

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(instant: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp, or None (leaves the field unset) for None."""
    if instant is None:
        return None
    # Arithmetic on the offset from the epoch: exact, and a tenth of the cost
    # of Timestamp.FromDatetime (every CheckAccess answer carries one).
    since = instant - EPOCH if instant.tzinfo else instant.replace(tzinfo=UTC) - EPOCH
    return timestamp_pb2.Timestamp(
        seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000
    )


def from_timestamp(message: timestamp_pb2.Timestamp) -> datetime:
    return message.ToDatetime(tzinfo=UTC)


def struct(value: dict[str, Any] | None) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    if value:
        message.update(value)
    return message


def from_struct(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


class EnumWords:
    """Maps a proto enum to the lower-case words the store keeps.

    ``PLAN_STATUS_ACTIVE`` <-> ``"active"``. The zero value has no word.
    """

    def __init__(self, descriptor: EnumDescriptor, overrides: dict[str, str] | None = None) -> None:
        prefix = descriptor.values[0].name.removesuffix("UNSPECIFIED")
        self._words: dict[int, str] = {}
        for value in descriptor.values:
            if value.number == 0:
                continue
            word = value.name.removeprefix(prefix).lower()
            self._words[value.number] = (overrides or {}).get(word, word)
        self._numbers = {word: number for number, word in self._words.items()}
        self.name = descriptor.name

    def word(self, number: int, field: str, default: str | None = None) -> str:
        """The word of ``number``; the default for 0 if there is one.

        Refuses 0 without a default, and numbers this server does not know.
        """
        if number == 0 and default is not None:
            return default
        try:
            return self._words[number]
        except KeyError:
            expected = ", ".join(self._words.values())
            detail = "is required" if number == 0 else f"unknown value {number}"
            raise InvalidArgument.field(field, f"{detail}; expected one of {expected}") from None

    def number(self, word: str | None) -> Any:
        # Any: the generated stubs type each enum field as its own enum class.
        return self._numbers.get(word or "", 0)

    def words(self) -> list[str]:
        return list(self._words.values())
