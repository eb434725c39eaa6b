"""Every RPC of bento.v1, from the generated descriptors: a new RPC is fuzzed the day it is added."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message

import bento.v1

F = FieldDescriptor


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


def is_repeated(descriptor: FieldDescriptor) -> bool:
    return bool(descriptor.is_repeated)


def is_map(descriptor: FieldDescriptor) -> bool:
    return (
        descriptor.type == F.TYPE_MESSAGE
        and is_repeated(descriptor)
        and descriptor.message_type.GetOptions().map_entry
    )
