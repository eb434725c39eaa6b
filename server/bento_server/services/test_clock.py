"""TestClockService: moves time on a server started with --test-clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import grpc

from bento.v1 import test_clock_pb2, test_clock_pb2_grpc
from bento_server.clock import TestClock
from bento_server.errors import FailedPrecondition, InvalidArgument
from bento_server.infra import scheduler
from bento_server.runtime import Runtime
from bento_server.services.base import Servicer
from bento_server.services.convert import from_timestamp, timestamp
from bento_server.store.models import TestClockState

MAX_ADVANCE = timedelta(days=366 * 20)


class TestClockService(Servicer, test_clock_pb2_grpc.TestClockServiceServicer):
    __test__ = False  # not a pytest test class

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        # One move at a time: the due work of one move must finish before
        # the next one starts, or work would run out of order.
        self._lock = asyncio.Lock()

    def _clock(self) -> TestClock:
        if self.runtime.test_clock is None:
            raise FailedPrecondition(
                "the test clock is off: start the server with --test-clock", "test_clock_disabled"
            )
        return self.runtime.test_clock

    async def GetTime(
        self, request: test_clock_pb2.GetTimeRequest, context: grpc.aio.ServicerContext
    ) -> test_clock_pb2.GetTimeResponse:
        return test_clock_pb2.GetTimeResponse(now=timestamp(self._clock().now()))

    async def AdvanceTime(
        self, request: test_clock_pb2.AdvanceTimeRequest, context: grpc.aio.ServicerContext
    ) -> test_clock_pb2.AdvanceTimeResponse:
        clock = self._clock()
        which = request.WhichOneof("target")
        if which == "seconds":
            if request.seconds < 1:
                raise InvalidArgument.field("seconds", "must be 1 or more")
            if request.seconds > MAX_ADVANCE.total_seconds():
                raise InvalidArgument.field("seconds", "must be at most 20 years")
        elif which == "to":
            try:
                to = from_timestamp(request.to)
            except (ValueError, OverflowError):
                raise InvalidArgument.field("to", "is not a valid timestamp") from None
        else:
            raise InvalidArgument.field("target", "set one of to or seconds")

        def work() -> test_clock_pb2.AdvanceTimeResponse:
            # Measured from the clock inside the move, so a replay of a move
            # that was made answers from its record instead of failing here.
            now = clock.now()
            if which == "seconds":
                target = now + timedelta(seconds=request.seconds)
            else:
                target = to
                if target <= now:
                    raise InvalidArgument.field(
                        "to", "must be after the current time; time never goes back"
                    )
                if target - now > MAX_ADVANCE:
                    raise InvalidArgument.field("to", "must be at most 20 years ahead")
            jobs = self._advance(clock, target)
            return test_clock_pb2.AdvanceTimeResponse(now=timestamp(clock.now()), jobs_run=jobs)

        async with self._lock:
            # With an idempotency-key the move and its due work commit with
            # the key's record, as one transaction: a retry never moves twice.
            return await self.mutate(context, request, work)

    def _advance(self, clock: TestClock, target: datetime) -> int:
        with self.deps.store.write():
            TestClockState.insert(id=1, now=target).on_conflict(
                conflict_target=[TestClockState.id], update={TestClockState.now: target}
            ).execute()
        clock.set(target)
        return scheduler.run_due(self.deps, target)
