"""ReadBatcher: concurrent reads share a round trip, and a lone caller never
waits for company. Waits that must not happen get a linger of a minute and a
deadline of seconds, so no test depends on how fast the machine is."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bento_server.infra.read_batch import ReadBatcher

NEVER = 60.0
DEADLINE = 10.0


class Database:
    """Answers ``key * 10``; holds each batch until ``release`` if ``hold``."""

    def __init__(self, hold: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.hold = hold
        self.gate = asyncio.Event()
        self.fail_next = False

    async def read_many(self, keys: Sequence[int]) -> list[int]:
        self.batches.append(list(keys))
        if self.hold:
            await self.gate.wait()
            self.gate.clear()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the database went away")
        return [key * 10 for key in keys]

    def release(self) -> None:
        self.gate.set()


async def in_flight(db: Database, batches: int) -> None:
    while len(db.batches) < batches:
        await asyncio.sleep(0)


def test_reads_that_arrive_during_a_batch_go_together_in_the_next() -> None:
    async def scenario() -> None:
        db = Database(hold=True)
        batcher = ReadBatcher(db.read_many, linger=0.01)
        first = asyncio.create_task(batcher.read(1))
        await in_flight(db, 1)
        later = [asyncio.create_task(batcher.read(k)) for k in range(2, 21)]
        await asyncio.sleep(0)
        db.release()
        assert await first == 10
        await in_flight(db, 2)
        db.release()
        assert [await t for t in later] == [k * 10 for k in range(2, 21)]
        # The first batch, already in the database, took none of the later reads.
        assert db.batches == [[1], list(range(2, 21))]

    asyncio.run(asyncio.wait_for(scenario(), DEADLINE))


def test_a_lone_caller_never_waits_for_company() -> None:
    async def scenario() -> None:
        db = Database()
        batcher = ReadBatcher(db.read_many, linger=NEVER)
        for key in range(5):
            assert await batcher.read(key) == key * 10
        assert db.batches == [[k] for k in range(5)]

    asyncio.run(asyncio.wait_for(scenario(), DEADLINE))


def test_a_batch_waits_for_as_many_reads_as_its_callers() -> None:
    async def scenario() -> None:
        db = Database(hold=True)
        batcher = ReadBatcher(db.read_many, linger=NEVER)
        first = asyncio.create_task(batcher.read(1))
        await in_flight(db, 1)
        overlapping = [asyncio.create_task(batcher.read(k)) for k in (2, 3)]
        await asyncio.sleep(0)
        db.release()
        assert await first == 10
        # Three callers are known (the first batch's one, and two that came
        # meanwhile) and two reads wait: the batch waits for the third (not
        # for the minute of its linger).
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(db.batches) == 1
        third = asyncio.create_task(batcher.read(4))
        await in_flight(db, 2)
        db.release()
        assert [await t for t in [*overlapping, third]] == [20, 30, 40]
        assert db.batches == [[1], [2, 3, 4]]

    asyncio.run(asyncio.wait_for(scenario(), DEADLINE))


def test_a_batch_never_waits_for_more_than_it_may_hold() -> None:
    async def scenario() -> None:
        db = Database(hold=True)
        batcher = ReadBatcher(db.read_many, linger=NEVER, max_batch=2)
        first = asyncio.create_task(batcher.read(1))
        await in_flight(db, 1)
        later = [asyncio.create_task(batcher.read(k)) for k in (2, 3, 4, 5)]
        await asyncio.sleep(0)
        db.release()
        assert await first == 10
        for n in (2, 3):
            await in_flight(db, n)
            db.release()
        assert [await t for t in later] == [20, 30, 40, 50]
        assert db.batches == [[1], [2, 3], [4, 5]]

    asyncio.run(asyncio.wait_for(scenario(), DEADLINE))


def test_a_failed_batch_fails_its_reads_and_the_next_batch_goes_on() -> None:
    async def scenario() -> None:
        db = Database()
        batcher = ReadBatcher(db.read_many, linger=0.0)
        db.fail_next = True
        with pytest.raises(RuntimeError, match="went away"):
            await batcher.read(1)
        assert await batcher.read(2) == 20

    asyncio.run(asyncio.wait_for(scenario(), DEADLINE))
