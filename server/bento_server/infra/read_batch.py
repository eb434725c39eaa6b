"""Concurrent reads of one kind gathered into one query.

Access checks on PostgreSQL each need the database, and a round trip costs
the server and PostgreSQL far more CPU than the read itself: a batch of ten
costs about what a batch of one does. So reads go to the database together:
while one batch is in flight, the reads that arrive queue up for the next.

That alone makes batches of about one when the server is busy: the event
loop is then the bottleneck and admits about one check per round trip. So a
batch waits for as many reads as there are callers it knows of: those the
last batch answered (they tend to come back) and those that arrived while
it was in the database. It waits ``LINGER_SECONDS`` at most, and the count
fades by one a batch, so callers that left are soon forgotten. A lone
caller's batch is full with its one read: it never waits.

Freshness is kept: a read goes to the database after it was asked, so it
sees every commit made before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# 32 callers on two cores: batches averaged about four at 2 ms and six at
# 4 ms, the batch round trip's share of a check falling with them. Fewer
# callers fill their batch before this and do not wait for it.
LINGER_SECONDS = 0.003
MAX_BATCH = 256


class ReadBatcher(Generic[K, V]):
    """``await read(key)`` answers from ``read_many(keys)``, one batch at a time.

    ``read_many`` runs on the event loop (it awaits the database rather than
    blocking on it) and returns one answer per key, in order. Only the event
    loop calls ``read``.
    """

    def __init__(
        self,
        read_many: Callable[[Sequence[K]], Awaitable[list[V]]],
        linger: float = LINGER_SECONDS,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._read_many = read_many
        self._linger = linger
        self._max_batch = max_batch
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._in_flight: asyncio.Task[None] | None = None
        # How many reads the next batch waits for, and, while it waits,
        # the future that says it has them.
        self._expected = 1
        self._full: asyncio.Future[None] | None = None

    async def read(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[V] = loop.create_future()
        self._waiting.append((key, answer))
        if self._in_flight is None:
            self._in_flight = loop.create_task(self._send_all())
        elif self._full is not None and not self._full.done() and self._is_full():
            self._full.set_result(None)
        return await answer

    def _is_full(self) -> bool:
        return len(self._waiting) >= min(self._expected, self._max_batch)

    async def _send_all(self) -> None:
        try:
            while self._waiting:
                if not self._is_full():
                    await self._gather_more()
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                left_over = len(self._waiting)
                await self._send(batch)
                came_meanwhile = len(self._waiting) - left_over
                self._expected = max(len(batch) + came_meanwhile, self._expected - 1)
        except BaseException:
            # Cancelled (the server is stopping): nobody is left waiting forever.
            for _, waiter in self._waiting:
                waiter.cancel()
            self._waiting = []
            raise
        finally:
            self._in_flight = None

    async def _gather_more(self) -> None:
        self._full = asyncio.get_running_loop().create_future()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._linger):
                    await self._full
        finally:
            self._full = None

    async def _send(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            answers = await self._read_many([key for key, _ in batch])
        except Exception as error:
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        except BaseException:
            for _, waiter in batch:
                waiter.cancel()
            raise
        for (_, waiter), answer in zip(batch, answers, strict=True):
            if not waiter.done():
                waiter.set_result(answer)
