"""The RPCs to fuzz (``tests.helpers.rpcs``, every one of bento.v1: a new
RPC is fuzzed the day it is added) and what the strategies ask of a field's
descriptor."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

from tests.helpers.rpcs import Rpc, rpcs, rpcs_of

F = FieldDescriptor

__all__ = ["Rpc", "is_map", "is_repeated", "rpcs", "rpcs_of"]


def is_repeated(descriptor: FieldDescriptor) -> bool:
    return bool(descriptor.is_repeated)


def is_map(descriptor: FieldDescriptor) -> bool:
    return (
        descriptor.type == F.TYPE_MESSAGE
        and is_repeated(descriptor)
        and descriptor.message_type.GetOptions().map_entry
    )
