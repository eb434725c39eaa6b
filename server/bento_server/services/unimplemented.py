"""Servicers for the services whose RPCs are not built yet.

Each RPC answers UNIMPLEMENTED with reason ``unimplemented``, through the
same error path as everything else, so clients and grpcurl see the whole
contract today and get a clear answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from bento_server.errors import Unimplemented


def _refusal(service: ServiceDescriptor, method: MethodDescriptor) -> Any:
    message = f"{service.name}.{method.name} is not implemented yet"
    if method.server_streaming:

        async def refuse_stream(self: Any, request: Any, context: Any) -> AsyncIterator[Any]:
            raise Unimplemented(message)
            yield  # an async generator, as streaming handlers are

        return refuse_stream

    async def refuse(self: Any, request: Any, context: Any) -> Any:
        raise Unimplemented(message)

    return refuse


def unimplemented_servicer(base: type, service: ServiceDescriptor) -> type:
    """A subclass of the generated servicer ``base`` whose every RPC is refused."""
    methods: dict[str, Any] = {method.name: _refusal(service, method) for method in service.methods}
    methods["__init__"] = lambda self, runtime: None  # built like the real servicers
    return type(f"Unimplemented{service.name}", (base,), methods)
