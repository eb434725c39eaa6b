"""TestClockService: moves time on a server started with --test-clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import grpc
from google.protobuf.message import Message

from bento.v1 import test_clock_pb2 as pb
from bento.v1 import test_clock_pb2_grpc
from bento_server.clock import TestClock
from bento_server.errors import FailedPrecondition, InvalidArgument
from bento_server.infra import scheduler
from bento_server.runtime import Runtime
from bento_server.services.base import M, Servicer
from bento_server.services.convert import from_timestamp, timestamp
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.store.models import TestClockState

MAX_ADVANCE = timedelta(days=366 * 20)


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

    def _clock(self) -> TestClock:
        if self.runtime.test_clock is None:
            raise FailedPrecondition(
                "the test clock is off: start the server with --test-clock", "test_clock_disabled"
            )
        return self.runtime.test_clock

    @rpc
    def GetTime(
        self, request: pb.GetTimeRequest, check: Check, caller: Caller
    ) -> Work[pb.GetTimeResponse]:
        return use(self._clock().now).answer(lambda now: pb.GetTimeResponse(now=timestamp(now)))

    @rpc
    def AdvanceTime(
        self, request: pb.AdvanceTimeRequest, check: Check, caller: Caller
    ) -> Work[pb.AdvanceTimeResponse]:
        clock = self._clock()
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
        return use(self._advance, clock, request.seconds, to).answer(
            lambda jobs: pb.AdvanceTimeResponse(now=timestamp(clock.now()), jobs_run=jobs)
        )

    def _advance(self, clock: TestClock, seconds: int, to: datetime | None) -> int:
        """Moves the clock ``seconds`` forward, or to ``to`` if set, and runs
        the work that fell due on the way; answers how much ran."""
        # Measured from the clock inside the move, so a replay of a move
        # that was made answers from its record instead of failing here.
        now = clock.now()
        if to is None:
            target = now + timedelta(seconds=seconds)
        else:
            target = to
            if target <= now:
                raise InvalidArgument.field(
                    "to", "must be after the current time; time never goes back"
                )
            if target - now > MAX_ADVANCE:
                raise InvalidArgument.field("to", "must be at most 20 years ahead")
        with self.deps.store.write():
            TestClockState.insert(id=1, now=target).on_conflict(
                conflict_target=[TestClockState.id], update={TestClockState.now: target}
            ).execute()
        clock.set(target)
        return scheduler.run_due(self.deps, target)
