"""Concurrent reads of one kind gathered into one query.

Access checks on PostgreSQL each cost a network round trip. While one
batch is in the database, the checks that arrive queue up; when it returns,
all of them go in the next batch, as one query. Under load a round trip
serves dozens of checks; alone, a check waits for nothing but its own.

Freshness is kept: a read that arrives while a batch is in flight waits for
the next one, which starts after it arrived, so it sees every commit made
before it was asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ReadBatcher(Generic[K, V]):
    """``await read(key)`` answers from ``read_many(keys)``, one batch at a time.

    ``read_many`` runs on a thread of its own (it blocks on the database) and
    returns one answer per key, in order. Only the event loop calls ``read``.
    """

    def __init__(self, read_many: Callable[[Sequence[K]], list[V]], name: str) -> None:
        self._read_many = read_many
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._in_flight = False

    async def read(self, key: K) -> V:
        answer: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, answer))
        if not self._in_flight:
            self._send()
        return await answer

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        self._in_flight = True
        keys = [key for key, _ in batch]
        sent = asyncio.get_running_loop().run_in_executor(self._thread, self._read_many, keys)
        sent.add_done_callback(lambda done: self._answer(batch, done))

    def _answer(
        self, batch: list[tuple[K, asyncio.Future[V]]], done: asyncio.Future[list[V]]
    ) -> None:
        self._in_flight = False
        error = asyncio.CancelledError() if done.cancelled() else done.exception()
        answers = done.result() if error is None else None
        for n, (_, waiter) in enumerate(batch):
            if waiter.cancelled():
                continue
            if answers is None:
                waiter.set_exception(error)  # type: ignore[arg-type]
            else:
                waiter.set_result(answers[n])
        if self._waiting:
            self._send()
