"""Random request messages for any RPC: from scratch, or as a few changes to a message the server accepted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from tests.fuzz.pool import Pool
from tests.fuzz.rpcs import Rpc, is_map, is_repeated
from tests.fuzz.values import (
    INT_RANGES,
    NASTY_STRINGS,
    WELL_FORMED,
    doubles,
    enums,
    integers,
    strings,
    struct_values,
    timestamps,
)

F = FieldDescriptor

MAX_DEPTH = 5


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
    low, high = INT_RANGES[kind]
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
        if is_map(f):
            _fill_map(draw, message, f, ctx, depth)
        elif is_repeated(f):
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
