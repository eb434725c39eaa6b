"""Byte strings that are not quite (or not at all) a request: wrong wire types, bad UTF-8, nesting too deep."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError
from hypothesis import strategies as st

from tests.fuzz.messages import requests
from tests.fuzz.pool import Pool
from tests.fuzz.rpcs import Rpc, is_map, is_repeated
from tests.fuzz.values import deep, index

F = FieldDescriptor


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
        elif f.type == F.TYPE_MESSAGE and depth < 2 and not is_map(f):
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
        if f.type != F.TYPE_MESSAGE or is_repeated(f):
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
    struct.update(deep(levels))
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
    cut, at, mask = draw(index(len(valid))), draw(index(len(valid))), draw(st.integers(1, 255))
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
