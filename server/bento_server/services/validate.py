"""Request checks that collect every bad field before answering.

A servicer makes a ``Check``, runs the field checks it needs, and calls
``done()``: one INVALID_ARGUMENT naming every bad field, or nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from google.protobuf import struct_pb2

from bento_server import ids
from bento_server.billing import currencies
from bento_server.billing.money import MAX_AMOUNT
from bento_server.errors import FieldViolation, InvalidArgument
from bento_server.services.convert import EnumWords, from_struct

MAX_NAME = 200
MAX_TEXT = 10_000
MAX_ID = 64
MAX_METADATA_BYTES = 16_384

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_REGION = re.compile(r"^[A-Z0-9]{2,8}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")

# The region of a request that names none: the seed prices everything in "US".
DEFAULT_REGION = "US"


class Check:
    """Collects the field violations of one request."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(field, description))

    def ok(self) -> bool:
        return not self.violations

    def done(self) -> None:
        if self.violations:
            raise InvalidArgument.for_fields(self.violations)

    # -- strings --------------------------------------------------------------

    def text(
        self, value: str, field: str, *, required: bool = False, max_length: int = MAX_TEXT
    ) -> str:
        if required and not value.strip():
            self.fail(field, "is required")
        elif len(value) > max_length:
            self.fail(field, f"must be at most {max_length} characters")
        elif "\x00" in value:
            self.fail(field, "must not contain NUL characters")
        return value

    def name(self, value: str, field: str, *, required: bool = True) -> str:
        return self.text(value, field, required=required, max_length=MAX_NAME)

    def object_id(self, value: str, field: str, *, required: bool = True) -> str:
        """An ID: printable ASCII, no spaces, at most 64 characters."""
        if not value:
            if required:
                self.fail(field, "is required")
        elif len(value) > MAX_ID or not ids.is_token(value):
            self.fail(field, "is not a valid ID")
        return value

    def pattern(self, value: str, field: str, regex: re.Pattern[str], what: str) -> str:
        if not regex.match(value):
            self.fail(field, f"must be {what}")
        return value

    def currency(self, value: str, field: str) -> str:
        """A current ISO 4217 code with a minor unit: amounts count that unit."""
        if not _CURRENCY.match(value):
            self.fail(field, "must be a three-letter ISO 4217 code in upper case")
        elif not currencies.is_iso_4217(value):
            self.fail(field, "is not an ISO 4217 currency code")
        elif not currencies.is_priceable(value):
            self.fail(field, "has no minor unit in ISO 4217; prices and payments need one")
        return value

    def region(self, value: str, field: str) -> str:
        return self.pattern(value, field, _REGION, 'a region code in upper case ("US")')

    def language(self, value: str, field: str) -> str:
        return self.pattern(value, field, _LANGUAGE, 'a lower-case language tag ("en-us")')

    def code(self, value: str, field: str) -> str:
        return self.pattern(
            value, field, _CODE, "lower-case letters, digits, '_', '.' or '-', at most 64"
        )

    def enum(self, words: EnumWords, number: int, field: str, default: str | None = None) -> str:
        """The stored word of an enum value; 0 means ``default`` (or is refused)."""
        try:
            return words.word(number, field, default)
        except InvalidArgument as error:
            self.violations.extend(error.field_violations)
            return default or ""

    def struct(self, value: struct_pb2.Struct, field: str) -> dict[str, Any]:
        """A free-form object (metadata and the like), at most 16 KiB."""
        if value.ByteSize() > MAX_METADATA_BYTES:
            self.fail(field, f"must be at most {MAX_METADATA_BYTES} bytes")
            return {}
        try:
            return from_struct(value)
        except ValueError:  # JSON has no NaN or Infinity
            self.fail(field, "numbers must be finite (no NaN or Infinity)")
            return {}

    # -- numbers --------------------------------------------------------------

    def rate(self, value: float, field: str) -> float:
        """A fraction in 0..1. Store the value returned, not the request's."""
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            self.fail(field, "must be a fraction between 0 and 1")
        # -0.0 passes `0 <= value` and would be stored and answered as -0;
        # adding +0.0 turns it into +0.0 and leaves every other value as it is.
        return value + 0.0

    def between(self, value: int, field: str, low: int, high: int) -> int:
        if not low <= value <= high:
            self.fail(field, f"must be between {low} and {high}")
        return value

    def non_negative(self, value: int, field: str) -> int:
        if value < 0:
            self.fail(field, "must not be negative")
        return value

    def amount(self, value: int, field: str) -> int:
        """A price in minor units: 0 to 10^12, never a value that could overflow."""
        if value < 0:
            self.fail(field, "must not be negative")
        elif value > MAX_AMOUNT:
            self.fail(field, f"must be at most {MAX_AMOUNT} minor units (10^12)")
        return value

    # -- collections ----------------------------------------------------------

    def unique(self, values: Iterable[str], field: str) -> None:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                self.fail(field, f"{value!r} appears more than once")
            seen.add(value)

    def at_most(self, count: int, field: str, limit: int) -> None:
        if count > limit:
            self.fail(field, f"must have at most {limit} entries")

    def mask(
        self, paths: Iterable[str], allowed: Iterable[str], field: str = "update_mask"
    ) -> list[str]:
        """An update mask: at least one path, each one that may change."""
        paths = list(paths)
        allowed = set(allowed)
        if not paths:
            self.fail(field, "name at least one field to change")
        for path in paths:
            if path not in allowed:
                self.fail(
                    field, f"{path!r} cannot be changed; allowed: {', '.join(sorted(allowed))}"
                )
        return paths
