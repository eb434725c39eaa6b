"""Every RPC of bento.v1, from the generated descriptors: one registry for
the fuzzer, the authorization matrix and whatever else walks the API, so a
new RPC reaches all of them the day it is added."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message

import bento.v1


@dataclass(frozen=True)
class Rpc:
    """One method of one service, as its descriptor describes it."""

    service: str  # bento.v1.CatalogService
    name: str  # GetPlan
    input: Descriptor
    output: Descriptor
    server_streaming: bool
    client_streaming: bool
    module: str  # bento.v1.catalog_pb2, where the service is declared

    @property
    def path(self) -> str:
        """``/bento.v1.CatalogService/GetPlan``, as gRPC names it."""
        return f"/{self.service}/{self.name}"

    @property
    def full(self) -> str:
        """``bento.v1.CatalogService/GetPlan``."""
        return f"{self.service}/{self.name}"

    @property
    def request_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.input)

    @property
    def response_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.output)

    @property
    def stub(self) -> Any:
        """The generated stub class of the method's service."""
        grpc_module = importlib.import_module(f"{self.module}_grpc")
        return getattr(grpc_module, f"{self.service.rpartition('.')[2]}Stub")

    def __str__(self) -> str:
        return f"{self.service.rpartition('.')[2]}.{self.name}"


def _method(module: str, service: str, method: MethodDescriptor) -> Rpc:
    return Rpc(
        service,
        method.name,
        method.input_type,
        method.output_type,
        method.server_streaming,
        method.client_streaming,
        module,
    )


def rpcs_of(module: Any) -> list[Rpc]:
    """Every method of every service of one generated ``*_pb2`` module."""
    return [
        _method(module.__name__, service.full_name, method)
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
