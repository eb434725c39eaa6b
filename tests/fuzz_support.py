"""The bad-input fuzzer's parts, built from the descriptors alone.

``rpcs()`` lists every method of every service in the generated ``*_pb2``
modules of ``bento.v1``, so a new RPC is fuzzed the day it is added.
``requests(rpc, pool)`` draws random request messages for any of them: every
field type with its extremes, unknown enum numbers, huge strings and lists,
broken timestamps, deep structs, from scratch or as a few changes to a
message the server accepted. ``raw_requests(rpc, pool)`` draws byte strings
that are not quite (or not at all) such a message. A ``Pool`` keeps the IDs,
values and messages the server answered with, so random requests name
existing objects often enough to get past validation into the use cases.
"""

from __future__ import annotations

import base64
import importlib
import pkgutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
from google.protobuf import message_factory, struct_pb2, text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import DecodeError, Message
from hypothesis import strategies as st

import bento.v1
from tests.support import RpcFailure, basic, status_of

F = FieldDescriptor

# --- the RPCs ----------------------------------------------------------------


@dataclass(frozen=True)
class Rpc:
    """One method of one service, as its descriptor describes it."""

    service: str
    name: str
    input: Descriptor
    output: Descriptor
    server_streaming: bool
    client_streaming: bool

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def request_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.input)

    @property
    def response_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.output)

    def __str__(self) -> str:
        return f"{self.service.rpartition('.')[2]}.{self.name}"


def _method(service: str, method: MethodDescriptor) -> Rpc:
    return Rpc(
        service,
        method.name,
        method.input_type,
        method.output_type,
        method.server_streaming,
        method.client_streaming,
    )


def rpcs_of(module: Any) -> list[Rpc]:
    """Every method of every service of one generated ``*_pb2`` module."""
    return [
        _method(service.full_name, method)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


def rpcs() -> list[Rpc]:
    """Every method of every service of every ``*_pb2`` module of ``bento.v1``."""
    found: list[Rpc] = []
    for info in sorted(pkgutil.iter_modules(bento.v1.__path__), key=lambda i: i.name):
        if info.name.endswith("_pb2"):
            found.extend(rpcs_of(importlib.import_module(f"bento.v1.{info.name}")))
    return found


# --- values the server gave out ----------------------------------------------------

# Field names whose values say little about an object and only bloat the pool.
_NOT_KEPT = frozenset({"secret", "description", "message", "error_message", "note"})
_KEEP_PER_NAME = 48
# Requests name some values under another field name than answers do.
ALIASES = {
    "feature_code": ("code",),
    "item_id": ("app_id",),
    "tenant_id": ("platform_id", "app_id"),
    "original_payment_id": ("payment_id",),
    "page_token": ("next_page_token",),
}


@dataclass
class Pool:
    """What the server answered (and accepted): values by field name, IDs
    that came together in one object, and whole messages by type, for
    requests to start from. Credentials the tests call with are never
    kept, so no random request revokes them."""

    protected: set[str] = field(default_factory=set)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    groups: list[dict[str, str]] = field(default_factory=list)
    messages: dict[str, list[Message]] = field(default_factory=dict)

    def keep(self, message: Message) -> None:
        """Keeps a message (a request that went through, or part of an answer)
        as a template for requests to start from."""
        name = message.DESCRIPTOR.full_name
        if name.startswith("google.") or message.ByteSize() > 4_096:
            return
        kept = self.messages.setdefault(name, [])
        if any(message == other for other in kept):
            return
        copy = type(message)()
        copy.CopyFrom(message)
        kept.append(copy)
        del kept[:-_KEEP_PER_NAME]

    def remember(self, name: str, value: str) -> None:
        if not value or len(value) > 200 or value in self.protected or name in _NOT_KEPT:
            return
        values = self.by_name.setdefault(name, [])
        if value in values:
            return
        values.append(value)
        del values[:-_KEEP_PER_NAME]
        if name.endswith("_id") and value not in self.ids:
            self.ids.append(value)
            del self.ids[: -_KEEP_PER_NAME * 4]

    def harvest(self, message: Message, depth: int = 0) -> None:
        """Keeps the strings of an answer (IDs, codes, regions, tokens...)."""
        if depth > 6:
            return
        self.keep(message)
        group: dict[str, str] = {}
        for descriptor, value in message.ListFields():
            if _is_map(descriptor):
                value_field = descriptor.message_type.fields_by_name["value"]
                if value_field.type == F.TYPE_MESSAGE:
                    for item in list(value.values())[:20]:
                        self.harvest(item, depth + 1)
            elif descriptor.type == F.TYPE_STRING:
                if _repeated(descriptor):
                    singular = descriptor.name.removesuffix("s")
                    for item in list(value)[:20]:
                        self.remember(singular, item)
                else:
                    self.remember(descriptor.name, value)
                    if descriptor.name.endswith("_id") and value not in self.protected:
                        group[descriptor.name] = value
                    if descriptor.name.endswith("url") and "code=" in value:
                        for code in parse_qs(urlparse(value).query).get("code", []):
                            self.remember("activation_code", code)
            elif descriptor.type == F.TYPE_MESSAGE:
                items = list(value)[:20] if _repeated(descriptor) else [value]
                for item in items:
                    self.harvest(item, depth + 1)
        if len(group) >= 2 and group not in self.groups:
            self.groups.append(group)
            del self.groups[:-_KEEP_PER_NAME]

    def candidates(self, name: str) -> list[str]:
        found = list(self.by_name.get(name, []))
        for alias in ALIASES.get(name, ()):
            found.extend(self.by_name.get(alias, []))
        return found


# --- strategies: scalars ---------------------------------------------------------

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
_INT_RANGES = {
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


def _pick(values: list[str], fallback: str = "") -> st.SearchStrategy[str]:
    """One of ``values``, or ``fallback`` if there is none yet.

    The pool grows while the fuzzer runs; hypothesis wants the same draws
    whatever it holds, so this draws an index, never a member.
    """
    return st.integers(0, 1 << 16).map(lambda i: values[i % len(values)] if values else fallback)


def _index(size: int) -> st.SearchStrategy[int]:
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
    # The same branches whatever the pool holds (see _pick).
    known = pool.candidates(name)
    options += [_pick(known).map(lambda value: group.get(name) or value)] * 4
    options += [_pick(known)] * 3
    options.append(_pick(pool.ids if name.endswith("_id") else []))
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


def _deep(levels: int) -> dict[str, Any]:
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
        st.builds(_deep, st.sampled_from([10, 45, 49, 50, 51, 60, 120])),
    )


# --- strategies: messages ---------------------------------------------------------------

MAX_DEPTH = 5


def _repeated(descriptor: FieldDescriptor) -> bool:
    return bool(descriptor.is_repeated)


def _is_map(descriptor: FieldDescriptor) -> bool:
    return (
        descriptor.type == F.TYPE_MESSAGE
        and _repeated(descriptor)
        and descriptor.message_type.GetOptions().map_entry
    )


def _mask_paths(descriptor: Descriptor) -> list[str]:
    """Field names a FieldMask of this request might name, right or wrong."""
    paths: list[str] = []
    for f in descriptor.fields:
        if f.type == F.TYPE_MESSAGE and not f.message_type.full_name.startswith("google."):
            paths.extend(g.name for g in f.message_type.fields)
            paths.extend(f"{f.name}.{g.name}" for g in f.message_type.fields)
    return paths or ["name"]


@dataclass(frozen=True)
class Context:
    pool: Pool
    group: dict[str, str]
    mask_paths: tuple[str, ...]


def scalar(descriptor: FieldDescriptor, ctx: Context, big: bool) -> st.SearchStrategy[Any]:
    kind = descriptor.type
    if kind == F.TYPE_STRING:
        return strings(descriptor.name, ctx.pool, ctx.group, big)
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_ENUM:
        return enums(descriptor)
    if kind == F.TYPE_DOUBLE:
        return doubles(64)
    if kind == F.TYPE_FLOAT:
        return doubles(32)
    low, high = _INT_RANGES[kind]
    return integers(low, high)


def _cheap_many(descriptor: FieldDescriptor) -> st.SearchStrategy[list[Any]]:
    """Hundreds or thousands of items, made without a draw per item."""
    count = st.integers(100, 3_000)
    if descriptor.type == F.TYPE_STRING:
        return st.builds(
            lambda n, dup: ["same"] * n if dup else [f"item-{i}" for i in range(n)],
            count,
            st.booleans(),
        )
    if descriptor.type == F.TYPE_ENUM:
        return st.builds(lambda n: [i % 7 for i in range(n)], count)
    if descriptor.type == F.TYPE_BOOL:
        return st.builds(lambda n: [True] * n, count)
    if descriptor.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.builds(lambda n: [0.5] * n, count)
    if descriptor.type == F.TYPE_BYTES:
        return st.builds(lambda n: [b"x"] * n, count)
    return st.builds(lambda n: list(range(n)), count)


@st.composite
def _fill(draw: Any, message: Message, ctx: Context, depth: int, big: bool) -> Message:
    """Random values in a random subset of ``message``'s fields, or a few
    fields of a template changed or cleared."""
    descriptor = message.DESCRIPTOR
    name = descriptor.full_name
    if name == "google.protobuf.Timestamp" or name == "google.protobuf.Duration":
        parts = draw(timestamps())
        message.seconds, message.nanos = parts["seconds"], parts["nanos"]  # type: ignore[attr-defined]
        return message
    if name == "google.protobuf.Struct":
        message.update(draw(struct_values()))  # type: ignore[attr-defined]
        return message
    if name == "google.protobuf.FieldMask":
        paths = draw(
            st.lists(
                st.one_of(
                    st.sampled_from(ctx.mask_paths),
                    st.text(max_size=20),
                    st.sampled_from(NASTY_STRINGS),
                ),
                max_size=5,
            )
        )
        message.paths.extend(paths)  # type: ignore[attr-defined]
        return message
    if depth > MAX_DEPTH:
        return message
    # Two ways: random fields on an empty message, or a few changes to a
    # message of this type the server accepted or answered (a template),
    # which gets past validation to the use cases more often.
    mutate = draw(st.integers(0, 2)) > 0
    template = draw(_pick_template(ctx.pool, name))
    if mutate and template is not None:
        message.CopyFrom(template)
    changes = draw(st.sampled_from([1, 2, 6]))  # in 24: how many fields change
    for f in descriptor.fields:
        roll = draw(st.integers(0, 23))
        if mutate and roll < changes:
            message.ClearField(f.name)  # type: ignore[arg-type]
            continue
        if mutate and roll >= 2 * changes:
            continue  # kept as it was
        if not mutate and roll < 12:
            continue  # left unset
        message.ClearField(f.name)  # type: ignore[arg-type]
        if _is_map(f):
            _fill_map(draw, message, f, ctx, depth)
        elif _repeated(f):
            _fill_repeated(draw, message, f, ctx, depth)
        elif f.type == F.TYPE_MESSAGE:
            child = getattr(message, f.name)
            child.SetInParent()
            draw(_fill(child, ctx, depth + 1, big and depth < 2))
        else:
            setattr(message, f.name, draw(scalar(f, ctx, big)))
    return message


def _pick_template(pool: Pool, name: str) -> st.SearchStrategy[Message | None]:
    templates = pool.messages.get(name, [])
    return st.integers(0, 1 << 16).map(
        lambda i: templates[i % len(templates)] if templates else None
    )


def _fill_repeated(
    draw: Any, message: Message, f: FieldDescriptor, ctx: Context, depth: int
) -> None:
    target = getattr(message, f.name)
    if f.type == F.TYPE_MESSAGE:
        count = draw(st.one_of(st.integers(0, 3), st.sampled_from([0, 1, 2, 200])))
        for n in range(count):
            item = target.add()
            if n < 3:
                draw(_fill(item, ctx, depth + 1, False))
        return
    if draw(st.integers(0, 7)) == 0:
        target.extend(draw(_cheap_many(f)))
        return
    element = scalar(f, ctx, False)
    if f.type == F.TYPE_STRING:
        element = strings(f.name.removesuffix("s"), ctx.pool, ctx.group, False) | strings(
            f.name, ctx.pool, ctx.group, False
        )
    target.extend(draw(st.lists(element, max_size=6)))


def _fill_map(draw: Any, message: Message, f: FieldDescriptor, ctx: Context, depth: int) -> None:
    target = getattr(message, f.name)
    key_field = f.message_type.fields_by_name["key"]
    value_field = f.message_type.fields_by_name["value"]
    keys = scalar(key_field, ctx, False)
    if key_field.type == F.TYPE_STRING:
        keys = st.one_of(
            keys,
            st.sampled_from(WELL_FORMED["region"] + WELL_FORMED["language"]),
            st.sampled_from(WELL_FORMED["region"] + WELL_FORMED["language"]),
        )
    if draw(st.integers(0, 9)) == 0:
        many = draw(st.integers(100, 1_000))
        value = (
            None if value_field.type == F.TYPE_MESSAGE else draw(scalar(value_field, ctx, False))
        )
        for n in range(many):
            key = f"K{n}" if key_field.type == F.TYPE_STRING else n
            if value is None:
                target[key].SetInParent()
            else:
                target[key] = value
        return
    for key in draw(st.lists(keys, max_size=4)):  # a repeated key overwrites
        if value_field.type == F.TYPE_MESSAGE:
            value = target[key]
            value.SetInParent()
            draw(_fill(value, ctx, depth + 1, False))
        else:
            target[key] = draw(scalar(value_field, ctx, False))


@st.composite
def requests(draw: Any, rpc: Rpc, pool: Pool) -> Message:
    """A random request for ``rpc``: any field, any value, IDs from ``pool`` mixed in."""
    group: dict[str, str] = {}
    use_group = draw(st.booleans())
    picked = draw(_pick_group(pool))
    if use_group:
        group = picked
    ctx = Context(pool, group, tuple(_mask_paths(rpc.input)))
    return draw(_fill(rpc.request_class(), ctx, 0, True))


def _pick_group(pool: Pool) -> st.SearchStrategy[dict[str, str]]:
    return st.integers(0, 1 << 16).map(
        lambda i: pool.groups[i % len(pool.groups)] if pool.groups else {}
    )


# --- strategies: bytes that are not the request -------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


def _payload(wire_type: int, data: bytes, number: int) -> bytes:
    if wire_type == 0:
        return _varint(number)
    if wire_type == 1:
        return (data + b"\0" * 8)[:8]
    if wire_type == 5:
        return (data + b"\0" * 4)[:4]
    if wire_type == 2:
        return _varint(len(data)) + data
    return b""  # groups (3, 4) and the invalid 6, 7 carry nothing


@st.composite
def wrong_wire_types(draw: Any, rpc: Rpc) -> bytes:
    """Fields of the request under a wire type that is not theirs (or not any)."""
    numbers = [f.number for f in rpc.input.fields] or [1]
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        number = draw(st.one_of(st.sampled_from(numbers), st.integers(1, 2**29 - 1)))
        wire_type = draw(st.integers(0, 7))
        data = draw(st.binary(max_size=24))
        out += _tag(number, wire_type) + _payload(wire_type, data, draw(st.integers(0, 2**64 - 1)))
    return out


def _string_fields(descriptor: Descriptor, depth: int = 0) -> list[list[int]]:
    """Paths (field numbers) to string fields, for bad UTF-8."""
    paths: list[list[int]] = []
    for f in descriptor.fields:
        if f.type == F.TYPE_STRING:
            paths.append([f.number])
        elif f.type == F.TYPE_MESSAGE and depth < 2 and not _is_map(f):
            paths.extend([f.number, *p] for p in _string_fields(f.message_type, depth + 1))
    return paths


@st.composite
def bad_utf8(draw: Any, rpc: Rpc) -> bytes:
    paths = _string_fields(rpc.input)
    if not paths:
        return b"\x0a\x02\xff\xfe"
    path = draw(st.sampled_from(paths))
    body = draw(
        st.sampled_from(
            [b"\xff", b"\xc3\x28", b"a\xed\xa0\x80b", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"]
        )
    )
    for number in reversed(path):
        body = _tag(number, 2) + _varint(len(body)) + body
    return body


def _struct_paths(descriptor: Descriptor, depth: int = 0) -> list[list[int]]:
    paths: list[list[int]] = []
    for f in descriptor.fields:
        if f.type != F.TYPE_MESSAGE or _repeated(f):
            continue
        if f.message_type.full_name == "google.protobuf.Struct":
            paths.append([f.number])
        elif depth < 2 and not f.message_type.full_name.startswith("google."):
            paths.extend([f.number, *p] for p in _struct_paths(f.message_type, depth + 1))
    return paths


def nested_too_deep(rpc: Rpc, levels: int = 120) -> bytes | None:
    """A Struct field nested ``levels`` Structs deep (the decoder stops at 100
    messages), or None if the request has no Struct field."""
    paths = _struct_paths(rpc.input)
    if not paths:
        return None
    struct = struct_pb2.Struct()
    struct.update(_deep(levels))
    body = struct.SerializeToString()
    for number in reversed(paths[0]):
        body = _tag(number, 2) + _varint(len(body)) + body
    return body


@st.composite
def raw_requests(draw: Any, rpc: Rpc, pool: Pool) -> bytes:
    """Bytes for ``rpc``: random, truncated, corrupted, mistyped, bad UTF-8, too deep."""
    kind = draw(st.sampled_from(["random", "truncated", "flipped", "wire", "utf8", "deep", "junk"]))
    if kind == "random":
        return draw(st.binary(max_size=256))
    if kind == "wire":
        return draw(wrong_wire_types(rpc))
    if kind == "utf8":
        return draw(bad_utf8(rpc))
    if kind == "deep":
        deep = nested_too_deep(rpc, draw(st.sampled_from([40, 101, 200, 600])))
        return deep if deep is not None else b"\xff"
    if kind == "junk":
        # A valid request followed by garbage.
        valid = draw(requests(rpc, pool)).SerializeToString()
        return valid + draw(st.binary(min_size=1, max_size=16))
    valid = draw(requests(rpc, pool)).SerializeToString()
    cut, at, mask = draw(_index(len(valid))), draw(_index(len(valid))), draw(st.integers(1, 255))
    if not valid:
        return bytes([mask])
    if kind == "truncated":
        return valid[:cut]
    return valid[:at] + bytes([valid[at] ^ mask]) + valid[at + 1 :]


def decodes(rpc: Rpc, raw: bytes) -> bool:
    """Whether ``raw`` parses as ``rpc``'s request, as the server's decoder sees it."""
    try:
        rpc.request_class.FromString(raw)
    except DecodeError:
        return False
    return True


# --- metadata -------------------------------------------------------------------------

# Metadata values gRPC can carry: printable ASCII. gRPC clients refuse any
# other character before sending (see test_fuzz.py).
PRINTABLE_TEXT = st.text(PRINTABLE, max_size=64)


def idempotency_keys() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.none(),
        st.none(),
        st.uuids().map(lambda u: u.hex),
        st.sampled_from(["", " ", "has space", "k", "x" * 255, "x" * 256, "x" * 300]),
        PRINTABLE_TEXT,
        st.builds(lambda n: "k" * n, st.integers(256, 3_000)),
    )


def bad_authorizations(good: str, revoked: str) -> st.SearchStrategy[str | None]:
    """``authorization`` values that must not let anyone in.

    ``good`` is a working KEY_ID:SECRET, ``revoked`` one that was revoked.
    """
    key_id, _, secret = good.partition(":")
    other = "AK" + "0" * 19
    variants = [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer " + base64.b64encode(good.encode()).decode(),
        "Basic " + good,
        "Basic " + base64.urlsafe_b64encode(good.encode()).decode() + "!",
        "Basic " + base64.b64encode(good.encode()).decode()[:-2],
        basic(revoked),
        basic(f"{key_id}:{secret}x"),
        basic(f"{key_id}:{secret[:-1]}"),
        basic(f"{key_id}:"),
        basic(f":{secret}"),
        basic(f"{key_id}{secret}"),
        basic(f"{other}:{secret}"),
        basic(f"{key_id.lower()}:{secret}"),
        basic(f"{key_id}:{secret.upper()}") if secret.upper() != secret else basic(f"{key_id}:?"),
        basic(f"{key_id}:{secret}:{secret}"),
        basic(f"{key_id}\x00:{secret}"),
        basic("x" * 65 + ":" + secret),
        basic(key_id + ":" + "s" * 257),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + "A" * 4_000,
        "Basic ====",
        "Basic " + base64.b64encode(good.encode()).decode() + " extra",
    ]
    return st.one_of(
        st.sampled_from(variants),
        PRINTABLE_TEXT,
        PRINTABLE_TEXT.map(lambda text: "Basic " + text),
        st.binary(max_size=96).map(lambda data: "Basic " + base64.b64encode(data).decode()),
        st.tuples(PRINTABLE_TEXT, PRINTABLE_TEXT).map(lambda pair: basic(f"{pair[0]}:{pair[1]}")),
    )


def _changed(token_and_index: tuple[str, int]) -> str:
    token, index = token_and_index
    at = index % len(token)
    return token[:at] + ("B" if token[at] != "B" else "C") + token[at + 1 :]


def bad_page_tokens(issued: list[str]) -> st.SearchStrategy[str]:
    """Page tokens no list gave out for this request. ``issued`` holds
    tokens other lists (or the same list with other filters) gave out."""

    def forged(body: bytes, checksum: bytes) -> str:
        return base64.urlsafe_b64encode(body + b"." + checksum).decode().rstrip("=")

    json_bodies = st.sampled_from(
        [
            b'{"v":1,"s":"0000000000000000","k":"SUB1"}',
            b'{"v":1}',
            b"[]",
            b"null",
            b'{"v":2,"s":"x","k":1}',
            b'{"k":{"a":[1,2]}}',
            b'{"v":1,"s":"' + b"f" * 16 + b'","k":1e999}',
        ]
    )
    return st.one_of(
        st.text(min_size=1, max_size=40),
        st.text(PRINTABLE, min_size=1, max_size=200),
        st.binary(min_size=1, max_size=120).map(lambda d: base64.urlsafe_b64encode(d).decode()),
        st.builds(forged, json_bodies, st.binary(max_size=16).map(lambda d: d.hex().encode())),
        st.builds(lambda n: "A" * n, st.integers(1_025, 50_000)),
        st.sampled_from(["=", "==", "A", "AA=", "-_-_", "\x00", "💥", " "]),
        _pick(issued, "eyJ2IjoxfQ"),
        # An issued token with a character changed.
        st.tuples(_pick(issued, "eyJ2IjoxfQ"), st.integers(0, 1 << 16)).map(_changed),
    )


# --- calling and judging ------------------------------------------------------------------

BROKEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)


@dataclass
class Outcome:
    code: grpc.StatusCode
    response: Message | None = None
    failure: RpcFailure | None = None
    responses: list[Message] = field(default_factory=list)


def failed(error: grpc.RpcError) -> Outcome:
    """What a failed call said."""
    described = status_of(error)
    return Outcome(described.code, failure=described)


def metadata(authorization: str | None, key: str | None = None) -> list[tuple[str, str]]:
    out = []
    if authorization is not None:
        out.append(("authorization", authorization))
    if key is not None:
        out.append(("idempotency-key", key))
    return out


def call_unary(
    channel: grpc.Channel,
    rpc: Rpc,
    request: Message | bytes,
    md: list[tuple[str, str]],
    timeout: float = 30.0,
) -> Outcome:
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    method = channel.unary_unary(rpc.path, request_serializer=None, response_deserializer=None)
    try:
        answer = method(raw, metadata=md, timeout=timeout)
    except grpc.RpcError as error:
        return failed(error)
    return Outcome(grpc.StatusCode.OK, response=rpc.response_class.FromString(answer))


def call_stream(
    channel: grpc.Channel,
    rpc: Rpc,
    request: Message | bytes,
    md: list[tuple[str, str]],
    seconds: float,
    most: int = 200,
) -> Outcome:
    """Reads a stream for ``seconds`` (or ``most`` messages, then cancels it)."""
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    method = channel.unary_stream(rpc.path, request_serializer=None, response_deserializer=None)
    call = method(raw, metadata=md, timeout=seconds)
    got: list[Message] = []
    try:
        for answer in call:
            got.append(rpc.response_class.FromString(answer))
            if len(got) >= most:
                call.cancel()
                break
    except grpc.RpcError as error:
        outcome = failed(error)
        outcome.responses = got
        return outcome
    return Outcome(grpc.StatusCode.OK, responses=got)


@dataclass(frozen=True)
class Call:
    """What was sent, shown only when an assertion fails (showing is slow)."""

    rpc: Rpc
    request: Message | bytes
    who: str
    key: str | None = None

    def __str__(self) -> str:
        request = self.request
        if not isinstance(request, bytes):
            try:
                text = text_format.MessageToString(request, as_one_line=True)
            except DecodeError:  # too deep to print: show the bytes
                request = request.SerializeToString()
            else:
                shown = text[:1500] + (f"... ({len(text)} chars)" if len(text) > 1500 else "")
        if isinstance(request, bytes):
            shown = repr(request[:300]) + (
                f"... ({len(request)} bytes)" if len(request) > 300 else ""
            )
        key = self.key if self.key is None else self.key[:40]
        return f"{self.rpc} as {self.who}, idempotency-key={key!r}: {shown}"


def describe(rpc: Rpc, request: Message | bytes, who: str, key: str | None) -> Call:
    return Call(rpc, request, who, key)


# The one error gRPC itself answers before any of our code runs: a request
# over the server's 4 MiB limit. (Metadata limits are never reached: the
# fuzzer keeps its metadata under gRPC's 8 KiB, and the server keeps its
# error trailers under it too.)
TRANSPORT_LIMIT = "Received message larger than max"
NOT_DECODED = "the request does not decode"


def assert_clean(outcome: Outcome, call: Call) -> None:
    """Not INTERNAL or UNKNOWN, and every error a rich one: domain ``bento``,
    a reason, and INVALID_ARGUMENT naming the bad field (unless the request
    did not decode, so that there is no field to name)."""
    assert outcome.code not in BROKEN, f"{outcome.code.name} {outcome.failure}\n{call}"
    got = outcome.failure
    if outcome.code == grpc.StatusCode.OK or got is None:
        return
    if outcome.code == grpc.StatusCode.RESOURCE_EXHAUSTED and TRANSPORT_LIMIT in got.message:
        raw = call.request if isinstance(call.request, bytes) else call.request.SerializeToString()
        assert len(raw) > 4 * 1024 * 1024, f"{got}\n{call}"
        return
    assert got.domain == "bento" and got.reason, f"error without ErrorInfo: {got}\n{call}"
    named = got.reason in ("invalid_argument", "invalid_page_token")
    if outcome.code == grpc.StatusCode.INVALID_ARGUMENT and named and not got.fields:
        raw = call.request if isinstance(call.request, bytes) else call.request.SerializeToString()
        undecodable = got.message.startswith(NOT_DECODED) and not decodes(call.rpc, raw)
        assert undecodable, f"INVALID_ARGUMENT names no field: {got}\n{call}"


def list_all(fetch: Callable[[str], Any], items: str) -> Iterator[Any]:
    """Every item of a list RPC, page after page."""
    token = ""
    while True:
        page = fetch(token)
        yield from getattr(page, items)
        token = page.next_page_token
        if not token:
            return
