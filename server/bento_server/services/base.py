"""What every servicer does: find the caller, run store work off the loop,
and make mutations idempotent."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, ClassVar, TypeVar

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from bento_server.runtime import Runtime
from bento_server.services.interceptor import current_method, current_principal
from bento_server.usecases import idempotency
from bento_server.usecases.context import Deps, Principal

T = TypeVar("T")
M = TypeVar("M", bound=Message)

IDEMPOTENCY_KEY = "idempotency-key"


class Servicer:
    # Whether this service's mutations may share a transaction with other
    # callers' (SQLite's group writer): not when one runs many transactions
    # of its own, as a move of the test clock does.
    group_writes: ClassVar[bool] = True

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def deps(self) -> Deps:
        return self.runtime.deps

    @property
    def principal(self) -> Principal:
        return current_principal.get()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Runs store work on the worker threads."""
        return await self.call_on(self.runtime.executor, fn, *args, **kwargs)

    async def call_on(
        self, executor: Executor, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """Runs store work on ``executor``'s threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[[], T]) -> T:
        """Runs a mutation's store work: on SQLite in the group writer's
        next transaction, else on the worker threads."""
        writer = self.runtime.writer
        if writer is None or not self.group_writes:
            return await self.call(fn)
        return await asyncio.wrap_future(writer.submit(fn))

    async def mutate(
        self, context: grpc.aio.ServicerContext, request: Message, work: Callable[[], M]
    ) -> M:
        """Runs a mutation, once per ``idempotency-key`` if the caller sent one.

        ``work`` builds the response inside the transaction, so the stored
        answer and the effect commit together.
        """
        key = _idempotency_key(context)
        if key is None:
            response = await self.write(work)
            self.runtime.events_committed()
            return response
        idempotency.check_key(key)
        principal = self.principal
        method = current_method.get()

        first: list[M] = []

        def answer() -> bytes:
            response = work()
            first.append(response)
            return _storable(response).SerializeToString()

        def once() -> bytes:
            return idempotency.run_once(
                self.deps,
                principal,
                key,
                method,
                request.SerializeToString(deterministic=True),
                answer,
            )

        stored = await self.write(once)
        self.runtime.events_committed()
        # The first call gets the whole answer; a replay gets what was stored.
        if first:
            return first[0]
        return answer_type(method).FromString(stored)  # type: ignore[return-value]


# Fields of an answer that hold a secret: activation codes, an API key's secret.
_SECRET_FIELDS = ("activation_urls", "secret")


def _storable(response: M) -> M:
    """The answer as it may be stored for replays: without codes or secrets.

    Codes and API key secrets exist only in the response that issued them;
    Bento stores only their hashes. A replay of a call that issued codes
    answers without them (RegenerateActivationCodes issues new ones), and a
    replayed CreateApiKey names the key it made without its secret (revoke
    it and make another if the first answer was lost).
    """
    fields = [f for f in _SECRET_FIELDS if f in response.DESCRIPTOR.fields_by_name]
    if not fields:
        return response
    stored = type(response)()
    stored.CopyFrom(response)
    for name in fields:
        stored.ClearField(name)  # type: ignore[arg-type]
    return stored


def _method(method: str) -> Any:
    """The descriptor of ``/package.Service/Method``, as the stubs registered it."""
    service, _, name = method.strip("/").rpartition("/")
    return descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]


@functools.cache
def answer_type(method: str) -> type[Message]:
    """The response message class of ``/package.Service/Method``."""
    return message_factory.GetMessageClass(_method(method).output_type)


# The protos declare what a call does to state, once for the server and
# every client: NO_SIDE_EFFECTS on a read, IDEMPOTENT on a call that is safe
# to repeat as it is; anything else is a mutation, done once per key.
_ONCE_PER_KEY_NOT_NEEDED = (
    descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
    descriptor_pb2.MethodOptions.IDEMPOTENT,
)


@functools.cache
def is_mutation(method: str) -> bool:
    """Whether ``/package.Service/Method`` changes state in a way a retry
    must not repeat: whether it runs once per ``idempotency-key``."""
    level = _method(method).GetOptions().idempotency_level
    return level not in _ONCE_PER_KEY_NOT_NEEDED


def client_ip(context: grpc.aio.ServicerContext) -> str:
    """The caller's IP address from the transport's peer ("ipv4:1.2.3.4:5678")."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return ""


def _idempotency_key(context: grpc.aio.ServicerContext) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == IDEMPOTENCY_KEY:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None
