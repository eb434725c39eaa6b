"""Servicer methods as declarations: check the request, name the use case,
convert its answer.

A method decorated with ``rpc`` takes the request, a
``Check`` to record what is wrong with it, and the ``Caller``; it returns
the use case to run (``use(fn, *args).answer(convert)``). The decorator does
the rest, the same way for every RPC: it refuses the request if a check
failed (INVALID_ARGUMENT naming each bad field), runs the use case and the
conversion on the store's threads (a use case that is itself a coroutine
runs on the loop, and so does a short read declared with ``use_short`` where
the store answers it in microseconds; on SQLite a mutation runs on the
group writer, ``store.group_writer``), and for a mutation makes the whole
of it idempotent under the caller's ``idempotency-key``, the answer stored in
the same transaction as the change.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, ParamSpec, TypeVar

import grpc
from google.protobuf.message import Message

from bento_server.services.base import Servicer, client_ip, is_mutation
from bento_server.services.interceptor import current_method
from bento_server.services.validate import Check
from bento_server.usecases.context import Deps, Principal

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=Message)
S = TypeVar("S", bound=Servicer)
Q = TypeVar("Q", bound=Message)


@dataclass(frozen=True)
class Caller:
    """Who calls, as the use cases need it."""

    principal: Principal
    ip: str
    """The caller's IP address, recorded on what it creates or changes."""


class Work(Generic[M]):
    """A use case and the conversion of its result into the RPC's answer."""

    def __init__(
        self,
        run: Callable[[], M] | None = None,
        run_on_loop: Callable[[], Awaitable[M]] | None = None,
    ) -> None:
        self.run = run
        self.run_on_loop = run_on_loop
        self.committed: Callable[[M], None] | None = None

    def then(self, committed: Callable[[M], None]) -> Work[M]:
        """``committed(answer)`` runs on the event loop once the change has
        committed (and on a replay): what this process must learn at once,
        such as a revoked key's open streams."""
        self.committed = committed
        return self


class Pending(Generic[R]):
    """A use case named with its arguments, waiting for its conversion."""

    def __init__(self, call: Callable[[], R]) -> None:
        self._call = call

    def answer(self, convert: Callable[[R], M]) -> Work[M]:
        call = self._call
        return Work(run=lambda: convert(call()))


class PendingOnLoop(Generic[R]):
    def __init__(self, call: Callable[[], Awaitable[R]]) -> None:
        self._call = call

    def answer(self, convert: Callable[[R], M]) -> Work[M]:
        call = self._call

        async def run() -> M:
            return convert(await call())

        return Work(run_on_loop=run)


def use(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Pending[R]:
    """The use case ``fn(*args, **kwargs)``, to run on the store's threads."""
    return Pending(functools.partial(fn, *args, **kwargs))


def use_on_loop(
    fn: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs
) -> PendingOnLoop[R]:
    """A use case that is a coroutine: it runs on the event loop (the access
    check, whose remembered answers and batched reads cost less than a hop
    to a thread)."""
    return PendingOnLoop(functools.partial(fn, *args, **kwargs))


class PendingInline(Generic[R]):
    def __init__(self, call: Callable[[], R]) -> None:
        self._call = call

    def answer(self, convert: Callable[[R], M]) -> Work[M]:
        call = self._call

        async def run() -> M:
            return convert(call())

        return Work(run_on_loop=run)


def use_short(
    deps: Deps,
    fn: Callable[P, R],
    on_loop: Callable[P, Awaitable[R]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Pending[R] | PendingInline[R] | PendingOnLoop[R]:
    """A read of a few indexed rows (``fn(*args, **kwargs)``), kept off the
    store's threads where a hop to one costs more than the read: SQLite
    answers it on the event loop itself (``Deps.short_reads_on_loop``);
    PostgreSQL through the loop's own connection (``on_loop``, the same
    read as a coroutine, ``Deps.loop_reads``)."""
    if deps.short_reads_on_loop:
        return PendingInline(functools.partial(fn, *args, **kwargs))
    if deps.loop_reads is not None:
        return PendingOnLoop(functools.partial(on_loop, *args, **kwargs))
    return Pending(functools.partial(fn, *args, **kwargs))


Declared = Callable[[S, Q, Check, Caller], Work[M]]
Handler = Callable[[S, Q, grpc.aio.ServicerContext], Awaitable[M]]


def _prepare(
    declared: Declared[S, Q, M], servicer: S, request: Q, context: grpc.aio.ServicerContext
) -> Work[M]:
    check = Check()
    work = declared(servicer, request, check, Caller(servicer.principal, client_ip(context)))
    check.done()
    return work


def rpc(declared: Declared[S, Q, M]) -> Handler[S, Q, M]:
    """An RPC, run as its proto declares it (``base.is_mutation``): a read
    as it is; a mutation in a write transaction, once per ``idempotency-key``."""

    @functools.wraps(declared)
    async def handler(servicer: S, request: Q, context: grpc.aio.ServicerContext) -> M:
        work = _prepare(declared, servicer, request, context)
        if is_mutation(current_method.get()):
            assert work.run is not None, "a mutation runs in a transaction, on the store's threads"
            answer = await servicer.mutate(context, request, work.run)
            if work.committed is not None:
                work.committed(answer)
            return answer
        if work.run_on_loop is not None:
            return await work.run_on_loop()
        assert work.run is not None
        return await servicer.call(work.run)

    return handler
