"""How WatchEvents streams get the log's new events, and learn that their key went.

One reader per process follows the log. It reads each new batch of events
once, whatever the number of streams, and keeps the latest in a window
shared by every stream of the process; a stream takes its events from the
window with nothing but its own cursor, and each event's message is built
once per view (``Entry.message``), not once per stream. Writes in this
process poke the reader at once; a poll (every quarter second) finds what
other replicas committed. The reader publishes only up to the newest
sequence below which every event is committed (``events.newest_sequence``),
so a stream never sees sequence n+1 before every event up to n.

The window is bounded in bytes and drops what retention pruned: a stream
whose cursor fell behind it (a reconnect from an old cursor, a slow
consumer) reads the store forward from its cursor until it is back inside.
Nothing queues up for a stream, so a consumer that stops reading costs no
server memory beyond the one page it was sending. A stream that waits is
woken only when an event it would send arrives (or its key goes, or the
feed closes); when none does, the reader moves its cursor past the batch,
so its heartbeats carry the head and it never falls behind the window
for events it would not have been sent.

A stream was authenticated once, when it opened, and may stay open for
days. So the feed also asks the store, for all open streams at once, which
of their keys were revoked: whenever keys change (a revocation in this
process, or the store's change announcement from another replica) and at
least every ``credential_interval`` seconds, in case an announcement was
missed. A stream whose key went ends with ``api_key_revoked``.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
import operator
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from bento_server.errors import BentoError, ResourceExhausted
from bento_server.infra import metrics
from bento_server.usecases import credentials
from bento_server.usecases.events import LoggedEvent, Tail

log = logging.getLogger("bento.events")

M = TypeVar("M")

# Events the reader takes from the store at a time.
READ_PAGE = 250
# A gap in the window wider than this many sequences (another replica wrote
# a burst while nobody here read) is not read in full: only its end comes
# into the window, and streams behind it read the store.
WIDEST_READ = 1_000
# The window's size: about this many bytes of memory. Each event counts
# ROW_BYTES plus the size of its stored snapshot, and MESSAGE_BYTES plus as
# much again for each message built of it: what the server's resident
# memory grew by per event kept, for snapshots of 0.5 to 5.5 KB (a message
# takes about 6 KB however small).
WINDOW_BYTES = 4 * 1024 * 1024
ROW_BYTES = 1_000
MESSAGE_BYTES = 6_000

_sequence = operator.attrgetter("sequence")


class Entry:
    """One event in the window, and the messages built of it, by view."""

    __slots__ = ("data_length", "kept", "messages", "row", "sequence", "size")

    def __init__(self, row: LoggedEvent) -> None:
        self.row = row
        self.sequence: int = row.sequence
        self.data_length = len(row.data_json)
        self.size = ROW_BYTES + self.data_length
        # Whether the window still holds it (a stream may hold it after).
        self.kept = True
        self.messages: dict[str | None, Any] = {}


class OpenStream:
    """One open stream's place in the feed: whose key it runs on, the error
    it must end with once that key is no longer valid, what it would send,
    and how far it has sent."""

    __slots__ = ("cursor", "ended", "key_id", "matches", "waiter")

    def __init__(self, key_id: str, matches: Callable[[LoggedEvent], bool]) -> None:
        self.key_id = key_id
        self.matches = matches
        self.ended: BentoError | None = None
        # Every event up to it that the stream would send has been sent. The
        # stream moves it; the feed moves it only while the stream waits.
        self.cursor = 0
        self.waiter: asyncio.Future[None] | None = None

    def check(self) -> None:
        """Raises the error the stream must end with, if there is one."""
        if self.ended is not None:
            raise self.ended

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _everything(row: LoggedEvent) -> bool:
    return True


class EventFeed:
    def __init__(
        self,
        read_tail: Callable[[int, int, int], Tail],
        run: Callable[[Callable[[], Any]], Awaitable[Any]],
        poll_interval: float,
        max_streams_per_caller: int,
        *,
        no_longer_valid: Callable[[Sequence[str]], set[str]] | None = None,
        credential_interval: float = 2.0,
        window_bytes: int = WINDOW_BYTES,
    ) -> None:
        self._read_tail = read_tail  # events.read_tail
        self._run = run  # runs a blocking function off the loop
        self._poll_interval = poll_interval
        self._max_streams = max_streams_per_caller
        self._no_longer_valid = no_longer_valid
        self._credential_interval = credential_interval
        self._window_bytes = window_bytes
        self._open: dict[str, set[OpenStream]] = {}
        # The window: every event in (_start, newest], oldest first.
        self._entries: list[Entry] = []
        self._start = 0
        self._bytes = 0
        self._poked = asyncio.Event()
        self._grew = asyncio.Event()
        self._keys_changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.newest = 0
        self.closed = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        tail = await self._run(functools.partial(self._read_tail, 0, 0, WIDEST_READ))
        self._start = self.newest = max(tail.newest, tail.pruned_through)
        self._tasks.append(asyncio.create_task(self._follow()))
        if self._no_longer_valid is not None:
            self._tasks.append(asyncio.create_task(self._watch_credentials()))

    async def close(self) -> None:
        """Ends every stream: they return when they next wake."""
        self.closed = True
        self._wake_waiters()
        for stream in self._streams():
            stream.wake()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def poke(self) -> None:
        """A write in this process committed: look now, not at the next poll."""
        if not self.closed:
            self._poked.set()

    # --- following the log --------------------------------------------------------

    async def _follow(self) -> None:
        while not self.closed:
            try:
                await self._catch_up()
            except Exception:
                log.exception("reading the newest events failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self._poll_interval)

    async def _catch_up(self) -> None:
        """Reads until the window reaches the head (one page while nobody
        watches: then only the head is followed, for ``wait``)."""
        while not self.closed:
            # Cleared before the read: a poke during it is looked at again.
            self._poked.clear()
            limit = READ_PAGE if self._open else 0
            tail = await self._run(
                functools.partial(self._read_tail, self.newest, limit, WIDEST_READ)
            )
            if not self._take(tail, limit):
                return

    def _take(self, tail: Tail, limit: int) -> bool:
        """Adds what was read to the window and wakes whom it concerns;
        True when there is more to read at once."""
        rows = tail.events
        more = bool(limit) and len(rows) == limit
        if limit:
            if tail.after > self.newest:
                # A gap too wide to read: the window starts again after it.
                self._forget(len(self._entries))
                self._start = tail.after
            for row in rows:
                entry = Entry(row)
                self._entries.append(entry)
                self._bytes += entry.size
            newest = rows[-1].sequence if more else max(tail.newest, tail.pruned_through)
        else:
            # Nobody watches: nothing is kept, the window is empty at the head.
            newest = max(tail.newest, tail.pruned_through)
            self._forget(len(self._entries))
            self._start = max(self._start, newest)
        newest = max(newest, self.newest)
        self._trim(tail.pruned_through, newest)
        if newest > self.newest:
            self.newest = newest
            self._wake_waiters()
            for stream in self._streams():
                if stream.waiter is not None and self._due(stream):
                    stream.wake()
        return more

    def _trim(self, pruned_through: int, newest: int) -> None:
        """Drops what retention pruned, then the oldest beyond the byte bound."""
        entries = self._entries
        drop = bisect.bisect_right(entries, pruned_through, key=_sequence)
        size = self._bytes - sum(e.size for e in entries[:drop])
        while size > self._window_bytes and drop < len(entries):
            size -= entries[drop].size
            drop += 1
        self._forget(drop)
        self._start = max(self._start, min(pruned_through, newest))

    def _forget(self, count: int) -> None:
        if count:
            self._start = max(self._start, self._entries[count - 1].sequence)
            for entry in self._entries[:count]:
                entry.kept = False
                self._bytes -= entry.size
            del self._entries[:count]

    def _streams(self) -> Iterator[OpenStream]:
        for streams in self._open.values():
            yield from streams

    def _wake_waiters(self) -> None:
        grew, self._grew = self._grew, asyncio.Event()
        grew.set()

    # --- what streams call --------------------------------------------------------

    def after(self, cursor: int, limit: int) -> tuple[list[Entry], int, bool] | None:
        """The window's events after ``cursor``, at most ``limit``: the
        events, the cursor to continue from once they are sent, and whether
        more follow at once. None when ``cursor`` is behind the window: the
        stream reads the store."""
        if cursor < self._start:
            return None
        entries = self._entries
        first = bisect.bisect_right(entries, cursor, key=_sequence)
        taken = entries[first : first + limit]
        if first + limit < len(entries):
            return taken, taken[-1].sequence, True
        return taken, max(cursor, self.newest), False

    def message(
        self, entry: Entry, view: str | None, build: Callable[[LoggedEvent, str | None], M]
    ) -> M:
        """``build(entry.row, view)``, built by the first stream that asks for
        ``view`` and kept for the others. ``build`` must be the same for every
        caller (the servicer's one function): the message is shared."""
        found = entry.messages.get(view)
        if found is None:
            found = entry.messages[view] = build(entry.row, view)
            cost = MESSAGE_BYTES + entry.data_length
            entry.size += cost
            if entry.kept:
                self._bytes += cost
                if self._bytes > self._window_bytes:
                    self._trim(0, self.newest)
        return found  # type: ignore[no-any-return]

    async def sleep(self, stream: OpenStream, timeout: float) -> None:
        """Returns when the window holds an event ``stream`` would send, it
        fell behind the window, it must end, the feed closes, or time is up."""
        if self._due(stream):
            return
        loop = self._loop
        assert loop is not None, "the feed has not started"
        stream.waiter = waiter = loop.create_future()
        timer = loop.call_later(timeout, stream.wake)
        try:
            await waiter
        finally:
            timer.cancel()
            stream.waiter = None

    def _due(self, stream: OpenStream) -> bool:
        """Whether ``stream`` has something to do; if not, its cursor moves
        to the head: the window holds nothing after it that it would send."""
        if self.closed or stream.ended is not None or stream.cursor < self._start:
            return True
        if stream.cursor >= self.newest:
            return False
        entries = self._entries
        matches = stream.matches
        for n in range(bisect.bisect_right(entries, stream.cursor, key=_sequence), len(entries)):
            if matches(entries[n].row):
                return True
        stream.cursor = max(stream.cursor, self.newest)
        return False

    async def wait(self, cursor: int, timeout: float) -> None:
        """Returns when the log grows past ``cursor``, the feed closes, or time is up."""
        if self.newest > cursor or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._grew.wait(), timeout)

    @contextlib.contextmanager
    def slot(
        self, key_id: str, matches: Callable[[LoggedEvent], bool] = _everything
    ) -> Iterator[OpenStream]:
        """Holds one of the key's stream places; RESOURCE_EXHAUSTED when none
        is left. ``matches`` says which events the stream would send."""
        streams = self._open.setdefault(key_id, set())
        if len(streams) >= self._max_streams:
            if not streams:
                del self._open[key_id]
            raise ResourceExhausted(
                f"this key already has {self._max_streams} open event streams on this server",
                "too_many_streams",
            )
        stream = OpenStream(key_id, matches)
        streams.add(stream)
        metrics.OPEN_STREAMS.inc()
        try:
            yield stream
        finally:
            metrics.OPEN_STREAMS.dec()
            streams.discard(stream)
            if not streams:
                del self._open[key_id]

    # --- revoked keys -------------------------------------------------------------

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
            stream.wake()
        if ended:
            log.info("ending %d streams of revoked keys", len(ended))

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
