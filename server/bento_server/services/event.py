"""EventService: the operations log and its live streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import grpc

from bento.v1 import event_pb2 as pb
from bento.v1 import event_pb2_grpc
from bento_server.services.base import Servicer
from bento_server.services.convert import timestamp
from bento_server.services.messages.events import event_pb
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.store.models import Event
from bento_server.usecases import events
from bento_server.usecases.event_views import app_of, seen_as, seen_by

T = TypeVar("T")

MAX_TYPES = 50
# Events a stream reads from the store at a time.
WATCH_PAGE = 100
# Events a stream takes from the feed's window at a time: what a stalled
# consumer keeps alive after the window dropped it is at most this many.
SHARED_PAGE = 16


class EventService(Servicer, event_pb2_grpc.EventServiceServicer):
    @rpc
    def ListEvents(
        self, request: pb.ListEventsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListEventsResponse]:
        check.object_id(request.subscription_id, "subscription_id", required=False)
        check.text(request.session_id, "session_id", max_length=200)
        check.object_id(request.plan_id, "plan_id", required=False)
        check.at_most(len(request.types), "types", MAX_TYPES)
        for n, kind in enumerate(request.types):
            check.name(kind, f"types[{n}]")
        check.non_negative(request.after_sequence, "after_sequence")
        return use(
            events.list_events,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.session_id,
            request.plan_id,
            list(request.types),
            request.after_sequence,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListEventsResponse(
                events=[event_pb(seen_by(caller.principal, row)) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The event log's reads run on the one thread of the feed's reads
        (``Runtime.event_reads``), whose connection caches the log's newest
        pages once for every stream."""
        return await self.call_on(self.runtime.event_reads, fn, *args, **kwargs)

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchEventsResponse]:
        """Replays, then follows the log. The stream keeps only a cursor: it
        takes new events from the feed's shared window, messages built once
        for every stream of the same view, and reads the store itself only
        while it is behind the window. A consumer that stops reading blocks
        its own ``yield`` (HTTP/2 flow control), and nothing queues up for
        it on the server."""
        check = Check()
        check.object_id(request.subscription_id, "subscription_id", required=False)
        check.at_most(len(request.types), "types", MAX_TYPES)
        check.non_negative(request.after_sequence, "after_sequence")
        check.done()
        principal = self.principal
        types = list(request.types)
        feed = self.runtime.feed
        assert feed is not None
        await self.call(events.check_types, types)
        if request.subscription_id:
            await self.call(
                events.check_watchable, self.deps.store, principal, request.subscription_id
            )
        # The replay reaches the store's head, not only the feed's: a write
        # that committed a moment ago may not have reached the feed yet.
        high = await self.call(events.check_resume, request.after_sequence)
        watched = events.Watched(principal, frozenset(types), request.subscription_id)
        view = app_of(principal)
        loop = asyncio.get_running_loop()
        interval = self.runtime.config.heartbeat_interval
        with feed.slot(principal.key_id, watched.matches) as stream:
            stream.cursor = request.after_sequence
            last_sent = loop.time()
            caught_up_once = False
            while not feed.closed:
                stream.check()  # its key may have been revoked since it opened
                shared = None if high > feed.newest else feed.after(stream.cursor, SHARED_PAGE)
                if shared is None:
                    # Behind the window (or the feed not yet at the replay's
                    # end): the store, from this stream's own cursor.
                    high = max(high, feed.newest)
                    if high > stream.cursor:
                        rows = await self.call(
                            events.read_after,
                            principal,
                            stream.cursor,
                            high,
                            types,
                            request.subscription_id,
                            WATCH_PAGE,
                        )
                        for row in rows:
                            stream.check()
                            yield watch_message(row, view)
                            stream.cursor = row.sequence
                            last_sent = loop.time()
                        if len(rows) == WATCH_PAGE:
                            continue
                        stream.cursor = high  # everything up to high that we may see was sent
                else:
                    entries, upto, more = shared
                    for entry in entries:
                        if watched.matches(entry.row):
                            stream.check()
                            yield feed.message(entry, view, shared_message)
                            last_sent = loop.time()
                    stream.cursor = upto
                    if more:
                        continue
                if not caught_up_once or loop.time() - last_sent >= interval:
                    # The first one marks the end of the replay.
                    caught_up_once = True
                    yield pb.WatchEventsResponse(
                        heartbeat=pb.Heartbeat(
                            newest_sequence=stream.cursor,
                            sent_at=timestamp(self.deps.clock.now()),
                        )
                    )
                    last_sent = loop.time()
                await feed.sleep(stream, max(interval - (loop.time() - last_sent), 0.01))


def watch_message(row: Event, view: str | None) -> pb.WatchEventsResponse:
    """A stream's message of ``row`` in ``view`` (``event_views.app_of``)."""
    return pb.WatchEventsResponse(event=event_pb(seen_as(row, view)))


def shared_message(logged: events.LoggedEvent, view: str | None) -> pb.WatchEventsResponse:
    """The message of an event of the feed's window in ``view``: the feed
    keeps one per event and view for every stream that sends it."""
    return watch_message(logged.as_event(), view)
