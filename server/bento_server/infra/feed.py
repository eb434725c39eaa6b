"""How WatchEvents streams learn that the log grew, and that their key went.

One poll per process (the newest committed sequence, every quarter second)
wakes every waiting stream, whatever the number of streams: that is how a
stream on one replica sees events another replica committed. Writes in this
process poke the feed at once, so local watchers see them without waiting
for the poll. Streams themselves hold nothing but a cursor: each reads the
store forward at its own pace.

A stream was authenticated once, when it opened, and may stay open for
days. So the feed also asks the store, for all open streams at once, which
of their keys were revoked: whenever keys change (a revocation in this
process, or the store's change announcement from another replica) and at
least every ``credential_interval`` seconds, in case an announcement was
missed. A stream whose key went ends with ``api_key_revoked``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any

from bento_server.errors import BentoError, ResourceExhausted
from bento_server.infra import metrics
from bento_server.usecases import credentials

log = logging.getLogger("bento.events")


class OpenStream:
    """One open stream's place in the feed: whose key it runs on, and the
    error it must end with once that key is no longer valid."""

    __slots__ = ("ended", "key_id")

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self.ended: BentoError | None = None

    def check(self) -> None:
        """Raises the error the stream must end with, if there is one."""
        if self.ended is not None:
            raise self.ended


class EventFeed:
    def __init__(
        self,
        newest: Callable[[], int],
        run: Callable[[Callable[[], Any]], Awaitable[Any]],
        poll_interval: float,
        max_streams_per_caller: int,
        *,
        no_longer_valid: Callable[[Sequence[str]], set[str]] | None = None,
        credential_interval: float = 2.0,
    ) -> None:
        self._read_newest = newest
        self._run = run  # runs a blocking function off the loop
        self._poll_interval = poll_interval
        self._max_streams = max_streams_per_caller
        self._no_longer_valid = no_longer_valid
        self._credential_interval = credential_interval
        self._open: dict[str, set[OpenStream]] = {}
        self._grew = asyncio.Event()
        self._keys_changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.newest = 0
        self.closed = False

    async def start(self) -> None:
        self.newest = await self._run(self._read_newest)
        self._tasks.append(asyncio.create_task(self._poll()))
        if self._no_longer_valid is not None:
            self._tasks.append(asyncio.create_task(self._watch_credentials()))

    async def close(self) -> None:
        """Ends every stream: they return when they next wake."""
        self.closed = True
        self._wake()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
    def slot(self, key_id: str) -> Iterator[OpenStream]:
        """Holds one of the key's stream places; RESOURCE_EXHAUSTED when none is left."""
        streams = self._open.setdefault(key_id, set())
        if len(streams) >= self._max_streams:
            if not streams:
                del self._open[key_id]
            raise ResourceExhausted(
                f"this key already has {self._max_streams} open event streams on this server",
                "too_many_streams",
            )
        stream = OpenStream(key_id)
        streams.add(stream)
        metrics.OPEN_STREAMS.inc()
        try:
            yield stream
        finally:
            metrics.OPEN_STREAMS.dec()
            streams.discard(stream)
            if not streams:
                del self._open[key_id]

    def keys_changed(self) -> None:
        """An API key was revoked somewhere: look at the open streams' keys now."""
        self._keys_changed.set()

    def revoked(self, key_id: str) -> None:
        """``key_id`` was revoked in this process: its streams end before
        anything committed after the revocation can reach them."""
        self._end([key_id])

    def _end(self, key_ids: Iterable[str]) -> None:
        ended = [s for key_id in key_ids for s in self._open.get(key_id, ()) if s.ended is None]
        for stream in ended:
            stream.ended = credentials.revoked()
        if ended:
            log.info("ending %d streams of revoked keys", len(ended))
            self._wake()

    async def _watch_credentials(self) -> None:
        assert self._no_longer_valid is not None
        check = self._no_longer_valid
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._keys_changed.wait(), self._credential_interval)
            # Cleared before the read: a change during the read is looked at again.
            self._keys_changed.clear()
            key_ids = list(self._open)
            if not key_ids:
                continue
            try:
                gone = await self._run(functools.partial(check, key_ids))
            except Exception:
                log.exception("checking the keys of open streams failed; retrying")
                continue
            self._end(gone)
