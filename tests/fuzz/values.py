"""Strategies for scalar fields and the well-known types: every field type with its extremes, huge and nasty strings, broken timestamps, deep structs."""

from __future__ import annotations

import time
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from hypothesis import strategies as st

from tests.fuzz.pool import Pool

F = FieldDescriptor

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
INT_RANGES = {
    F.TYPE_INT32: INT32,
    F.TYPE_SINT32: INT32,
    F.TYPE_SFIXED32: INT32,
    F.TYPE_INT64: INT64,
    F.TYPE_SINT64: INT64,
    F.TYPE_SFIXED64: INT64,
    F.TYPE_UINT32: UINT32,
    F.TYPE_FIXED32: UINT32,
    F.TYPE_UINT64: UINT64,
    F.TYPE_FIXED64: UINT64,
}


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    """Extremes, small numbers, and anything in range."""
    special = [
        v for v in (low, high, 0, 1, -1, 2, 7, 100, 101, 2**31 - 1, 2**53 + 1) if low <= v <= high
    ]
    return st.one_of(
        st.sampled_from(special),
        st.integers(max(low, -1000), min(high, 1000)),
        st.integers(low, high),
    )


def doubles(width: int = 64) -> st.SearchStrategy[float]:
    special = [0.0, -0.0, 0.15, 1.0, 1.0000001, -0.5, 1e-300, 1e308, -1e308]
    if width == 32:
        special = [0.0, -0.0, 0.15, 1.0, -0.5, 3.0e38]
    return st.one_of(
        st.sampled_from([*special, float("nan"), float("inf"), float("-inf")]),
        st.floats(width=width),
    )


PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
NASTY_STRINGS = [
    " ",
    "\t\n\r",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202etxt.exe",
    "💥",
    "é",
    "ǅ",
    "\ufeff",
    "null",
    "None",
    "0",
    "-1",
    "' OR 1=1 --",
    '"; DROP TABLE event; --',
    "%",
    "_",
    "%_%",
    "\\",
    "../../etc/passwd",
    "{code}",
    "{",
    "}",
    "https://x.example/activate?code={code}",
    "javascript:alert(1)",
    "US",
    "usd",
    "EN-US",
    "PL",
    "SUB",
    "AK",
    "PL0",
    "SUB00000000000000000000000000000000",
    "subscription.created",
]
# Values of the right shape for fields validation looks at closely.
WELL_FORMED = {
    "region": ["US", "GB", "DE", "FR"],
    "currency_code": ["USD", "EUR"],
    "currency": ["USD", "EUR"],
    "language": ["en-us", "de", "fr-fr"],
    "code": ["hd", "downloads", "extra.feature"],
    "feature_code": ["hd", "downloads", "extra.feature"],
    "activation_url_template": ["https://app.example/activate?code={code}"],
    "types": ["subscription.created", "invoice.paid", "usage.reset"],
    "type": ["subscription.created"],
    "name": ["Fuzz"],
    "session_id": ["fuzz-session"],
}


def huge_strings() -> st.SearchStrategy[str]:
    """10k to 100k characters, built cheaply from a unit and a count."""
    return st.builds(
        lambda unit, count: unit * count,
        st.sampled_from(["x", "é", "💥", "\x00", "ab ", "A1"]),
        st.integers(10_000, 100_000),
    )


def pick(values: list[str], fallback: str = "") -> st.SearchStrategy[str]:
    """One of ``values``, or ``fallback`` if there is none yet.

    The pool grows while the fuzzer runs; hypothesis wants the same draws
    whatever it holds, so this draws an index, never a member.
    """
    return st.integers(0, 1 << 16).map(lambda i: values[i % len(values)] if values else fallback)


def index(size: int) -> st.SearchStrategy[int]:
    """A position in something ``size`` long that may differ from run to run."""
    return st.integers(0, 1 << 16).map(lambda i: i % max(size, 1))


def strings(name: str, pool: Pool, group: dict[str, str], big: bool) -> st.SearchStrategy[str]:
    options: list[st.SearchStrategy[str]] = [
        st.just(""),
        st.text(max_size=24),
        st.text(PRINTABLE, max_size=80),
        st.sampled_from(NASTY_STRINGS),
        st.builds(
            lambda a, b: a + b,
            st.sampled_from(["PL", "AP", "PR", "SUB", "INV", "PAY", "AS", "AK", "EV"]),
            st.text("0123456789ABCDEFabcdef", max_size=30),
        ),
    ]
    # The same branches whatever the pool holds (see pick).
    known = pool.candidates(name)
    options += [pick(known).map(lambda value: group.get(name) or value)] * 4
    options += [pick(known)] * 3
    options.append(pick(pool.ids if name.endswith("_id") else []))
    if name in WELL_FORMED:
        options += [st.sampled_from(WELL_FORMED[name])] * 2
    if big:
        options.append(huge_strings())
    return st.one_of(options)


def enums(descriptor: FieldDescriptor) -> st.SearchStrategy[int]:
    known = [v.number for v in descriptor.enum_type.values]
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known),
        st.sampled_from([999, -1, 2**31 - 1, -(2**31), max(known) + 1]),
    )


# --- strategies: well-known types -----------------------------------------------------

NOW = int(time.time())
MIN_TIMESTAMP = -62_135_596_800  # 0001-01-01T00:00:00Z
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def timestamps() -> st.SearchStrategy[dict[str, int]]:
    seconds = st.one_of(
        st.integers(NOW - 400 * 86_400, NOW + 30 * 366 * 86_400),
        st.sampled_from(
            [0, -1, MIN_TIMESTAMP, MIN_TIMESTAMP - 1, MAX_TIMESTAMP, MAX_TIMESTAMP + 1, NOW]
        ),
        st.integers(*INT64),
    )
    nanos = st.one_of(
        st.just(0),
        st.integers(0, 999_999_999),
        st.sampled_from([-1, 1_000_000_000, INT32[0], INT32[1]]),
    )
    return st.fixed_dictionaries({"seconds": seconds, "nanos": nanos})


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    doubles(),
    st.integers(-(2**63), 2**63).map(float),
    st.text(max_size=20),
    st.sampled_from(NASTY_STRINGS),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(levels):
        value = {"d": value}
    return value


def struct_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.dictionaries(st.text(max_size=16), JSON, max_size=6),
        st.dictionaries(st.text(max_size=16), JSON, max_size=6),
        # Over the 16 KiB a free-form object may hold.
        st.builds(lambda n: {"blob": "x" * n}, st.integers(15_000, 60_000)),
        st.builds(lambda n: {f"k{i}": i for i in range(n)}, st.integers(500, 3_000)),
        # Deeper than the decoder allows (it stops at 100 nested messages).
        st.builds(deep, st.sampled_from([10, 45, 49, 50, 51, 60, 120])),
    )
