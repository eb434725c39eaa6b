"""TestClockService: moves time on a server started with --test-clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import grpc
from google.protobuf.message import Message

from bento.v1 import test_clock_pb2 as pb
from bento.v1 import test_clock_pb2_grpc
from bento_server.infra import scheduler
from bento_server.runtime import Runtime
from bento_server.services.base import M, Servicer
from bento_server.services.convert import from_timestamp, timestamp
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.usecases import test_clock
from bento_server.usecases.test_clock import MAX_ADVANCE


class TestClockService(Servicer, test_clock_pb2_grpc.TestClockServiceServicer):
    __test__ = False  # not a pytest test class
    # A move runs what fell due one batch per transaction, so that a long
    # sweep never holds the write lock for long at a time.
    group_writes = False

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        # One move at a time: the due work of one move must finish before
        # the next one starts, or work would run out of order.
        self._lock = asyncio.Lock()

    async def mutate(
        self, context: grpc.aio.ServicerContext, request: Message, work: Callable[[], M]
    ) -> M:
        """Every mutation of this service is a move: they run one at a time."""
        async with self._lock:
            # With an idempotency-key the move and its due work commit with
            # the key's record, as one transaction: a retry never moves twice.
            return await super().mutate(context, request, work)

    @rpc
    def GetTime(
        self, request: pb.GetTimeRequest, check: Check, caller: Caller
    ) -> Work[pb.GetTimeResponse]:
        clock = test_clock.running(self.runtime.test_clock)
        return use(clock.now).answer(lambda now: pb.GetTimeResponse(now=timestamp(now)))

    @rpc
    def AdvanceTime(
        self, request: pb.AdvanceTimeRequest, check: Check, caller: Caller
    ) -> Work[pb.AdvanceTimeResponse]:
        clock = test_clock.running(self.runtime.test_clock)
        which = request.WhichOneof("target")
        to: datetime | None = None
        if which == "seconds":
            if request.seconds < 1:
                check.fail("seconds", "must be 1 or more")
            elif request.seconds > MAX_ADVANCE.total_seconds():
                check.fail("seconds", "must be at most 20 years")
        elif which == "to":
            try:
                to = from_timestamp(request.to)
            except (ValueError, OverflowError):
                check.fail("to", "is not a valid timestamp")
        else:
            check.fail("target", "set one of to or seconds")
        return use(
            test_clock.advance, self.deps, clock, request.seconds, to, scheduler.run_due
        ).answer(
            lambda moved: pb.AdvanceTimeResponse(now=timestamp(moved.now), jobs_run=moved.jobs_run)
        )
