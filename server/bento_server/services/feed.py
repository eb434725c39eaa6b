"""How WatchEvents streams learn that the log grew.

One poll per process (the newest committed sequence, every quarter second)
wakes every waiting stream, whatever the number of streams: that is how a
stream on one replica sees events another replica committed. Writes in this
process poke the feed at once, so local watchers see them without waiting
for the poll. Streams themselves hold nothing but a cursor: each reads the
store forward at its own pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

from bento_server.errors import ResourceExhausted
from bento_server.services import metrics

log = logging.getLogger("bento.events")


class EventFeed:
    def __init__(
        self,
        newest: Callable[[], int],
        run: Callable[[Callable[[], int]], Awaitable[int]],
        poll_interval: float,
        max_streams_per_caller: int,
    ) -> None:
        self._read_newest = newest
        self._run = run  # runs a blocking function off the loop
        self._poll_interval = poll_interval
        self._max_streams = max_streams_per_caller
        self._open: dict[str, int] = {}
        self._grew = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.newest = 0
        self.closed = False

    async def start(self) -> None:
        self.newest = await self._run(self._read_newest)
        self._task = asyncio.create_task(self._poll())

    async def close(self) -> None:
        """Ends every stream: they return when they next wake."""
        self.closed = True
        self._wake()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _wake(self) -> None:
        grew, self._grew = self._grew, asyncio.Event()
        grew.set()

    async def refresh(self) -> None:
        newest = await self._run(self._read_newest)
        if newest > self.newest:
            self.newest = newest
            self._wake()

    def poke(self) -> None:
        """A write in this process committed: look now, not at the next poll."""
        if not self.closed:
            asyncio.get_running_loop().create_task(self.refresh())

    async def _poll(self) -> None:
        while not self.closed:
            await asyncio.sleep(self._poll_interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("reading the newest event failed; retrying")

    async def wait(self, cursor: int, timeout: float) -> None:
        """Returns when the log grows past ``cursor``, the feed closes, or time is up."""
        if self.newest > cursor or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._grew.wait(), timeout)

    @contextlib.contextmanager
    def slot(self, caller: str) -> Iterator[None]:
        """Holds one of the caller's stream places; RESOURCE_EXHAUSTED when none is left."""
        if self._open.get(caller, 0) >= self._max_streams:
            raise ResourceExhausted(
                f"this key already has {self._max_streams} open event streams on this server",
                "too_many_streams",
            )
        self._open[caller] = self._open.get(caller, 0) + 1
        metrics.OPEN_STREAMS.inc()
        try:
            yield
        finally:
            metrics.OPEN_STREAMS.dec()
            self._open[caller] -= 1
            if not self._open[caller]:
                del self._open[caller]
