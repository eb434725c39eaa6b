"""What a running server holds: the store, the clock, the worker threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bento_server.clock import TestClock
from bento_server.config import ServerConfig
from bento_server.infra.feed import EventFeed
from bento_server.store.access_cache import AccessCache
from bento_server.store.group_writer import GroupWriter
from bento_server.usecases.context import Deps

if TYPE_CHECKING:
    from bento_server.infra.webhooks import WebhookSender


@dataclass
class Runtime:
    """Shared by every servicer of one server."""

    deps: Deps
    # Store work runs on these threads, never on the event loop: a write on
    # SQLite may wait seconds for the lock, and streams share the loop.
    executor: ThreadPoolExecutor
    # SQLite: mutations run here, several callers' per transaction.
    writer: GroupWriter | None = None
    # The event log's reads for streams (the feed's tail, a stream's catch
    # up) run on this one thread: they read the same newest pages, which one
    # connection then caches once. Spread over the pool, a burst that left
    # stalled streams behind the window warmed a cache per connection
    # (16 MB each on SQLite), tens of megabytes for the same pages.
    event_reads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="bento-events")
    )
    # Set when the server runs with --test-clock.
    test_clock: TestClock | None = None
    # Wakes WatchEvents streams; set once the server's loop runs.
    feed: EventFeed | None = None
    # The options the server started with (heartbeats of idle streams among them).
    config: ServerConfig = field(default_factory=ServerConfig)
    # Sends webhooks; set once the server's loop runs.
    webhooks: WebhookSender | None = None

    # What access checks remember (PostgreSQL only; see store.access_cache).
    access_cache: AccessCache | None = None

    def events_committed(self) -> None:
        """Something in this process committed: wake the streams, and forget
        remembered access answers before the call that wrote answers."""
        if self.access_cache is not None:
            self.access_cache.clear()
        if self.feed is not None:
            self.feed.poke()

    def webhooks_due(self) -> None:
        """A webhook delivery was made due (a retry, a replay): send it now."""
        if self.webhooks is not None:
            self.webhooks.wake()

    def keys_changed(self) -> None:
        """An API key was revoked elsewhere: open streams look at their keys now."""
        if self.feed is not None:
            self.feed.keys_changed()

    def key_revoked(self, key_id: str) -> None:
        """This process revoked ``key_id``: its open streams end now."""
        if self.feed is not None:
            self.feed.revoked(key_id)
