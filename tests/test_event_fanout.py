"""The shared fan-out of WatchEvents: the feed reads each new batch of events
once, builds each event's message once per view, and hands it to every
stream whose filter matches; a stream reads the store only while it is
behind the feed's window, which is bounded in bytes.

Over the wire: many watchers of every role and filter get exactly what
ListEvents gives them, in order, after a burst of concurrent writes; a
watcher from an old cursor catches up; stalled watchers cost no memory and
lose nothing; a publisher never gets another app's items. In process: the
in-memory filter agrees with the SQL one, a stream behind the window reads
the store and then only the window, and the window drops what retention
pruned and what its bound leaves out.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from bento.v1 import enums_pb2, event_pb2, event_pb2_grpc
from bento_server import ids
from bento_server.clock import SystemClock
from bento_server.config import ServerConfig
from bento_server.infra.feed import EventFeed
from bento_server.runtime import Runtime
from bento_server.services.event import EventService
from bento_server.services.interceptor import current_principal
from bento_server.store.database import Store, connect
from bento_server.store.migrations import migrate
from bento_server.store.models import Event, EventLogState
from bento_server.usecases import events
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, Deps, Principal
from tests.billing_support import make_shop, pay, subscribe
from tests.support import Caller, RunningServer, start_server
from tests.test_activation import buy, exchange, make_bundle, update_item
from tests.test_billing_consistency import events_of
from tests.test_event_stream import Watcher, _rss_kib, _touch
from tests.test_event_views import (
    PUBLISHER_DATA_KEYS,
    PUBLISHER_ITEM_KEYS,
    PUBLISHER_SESSION_KEYS,
    PUBLISHER_SUBSCRIPTION_KEYS,
    list_events,
)
from tests.test_subscription_lifecycle import cancel

E = enums_pb2


@pytest.fixture
def busy(fresh_backend_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own: one-second heartbeats, room for many streams per key."""
    running = start_server(
        fresh_backend_url,
        tmp_path,
        test_clock=True,
        extra=("--heartbeat-interval", "1", "--max-streams-per-caller", "64"),
    )
    yield running
    running.stop()


def _head(admin: Caller) -> int:
    """The newest sequence, as an idle stream's first heartbeat says."""
    watcher = Watcher(admin, types=["usage.reset"])
    try:
        while True:
            message = watcher.next()
            if message.HasField("heartbeat"):
                return message.heartbeat.newest_sequence
    finally:
        watcher.close()


def _until(watcher: Watcher, head: int, timeout: float = 30.0) -> list[event_pb2.Event]:
    """The events ``watcher`` sends until a heartbeat says it has sent
    everything up to ``head`` it would send."""
    found: list[event_pb2.Event] = []
    deadline = time.monotonic() + timeout
    while True:
        message = watcher.next(timeout=max(deadline - time.monotonic(), 0.01))
        if message.HasField("event"):
            found.append(message.event)
        elif message.heartbeat.newest_sequence >= head:
            return found


def test_many_watchers_of_every_role_and_filter_get_exactly_their_events_in_order(
    busy: RunningServer,
) -> None:
    bundle = make_bundle(busy)
    t = bundle.tenancy
    first = subscribe(bundle.platform, bundle.plan_id)
    second = subscribe(bundle.platform, bundle.plan_id)
    sub1, sub2 = first.subscription.subscription_id, second.subscription.subscription_id
    start = _head(bundle.admin)
    wanted: list[tuple[Caller, dict[str, Any]]] = [
        (bundle.admin, {}),
        (bundle.admin, {"types": ["subscription.updated"]}),
        (bundle.admin, {"subscription_id": sub1}),
        (bundle.platform, {}),
        (bundle.platform, {"types": ["payment.succeeded", "invoice.paid"]}),
        (bundle.platform, {"subscription_id": sub2, "types": ["subscription.updated"]}),
        (t.other_platform, {}),
        (t.publisher, {}),
        (t.publisher, {"types": ["activation.session.created", "activation.item.updated"]}),
        (t.publisher, {"subscription_id": sub1}),
        (t.other_publisher, {}),
        (t.other_publisher, {"types": ["invoice.paid"]}),  # never a publisher's
    ]
    # Three streams of each: the same view and filter share every message.
    watchers = [
        (caller, request, Watcher(caller, after_sequence=start, **request))
        for caller, request in wanted
        for _ in range(3)
    ]
    try:
        for _, _, watcher in watchers:
            watcher.events_until_heartbeat()
        errors: list[BaseException] = []

        def write(work: Any) -> None:
            try:
                work()
            except BaseException as error:  # asserted below
                errors.append(error)

        def buy_and_use() -> None:
            paid = buy(bundle)
            for n in range(5):
                _touch(bundle.platform, paid.subscription_id, n)
            exchange(t.publisher, paid.codes[t.app_id])
            update_item(t.publisher, paid.session_id, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED)
            cancel(bundle.platform, paid.subscription_id)

        def pay_and_touch(created: Any) -> None:
            sub_id = created.subscription.subscription_id
            invoice = created.invoice
            pay(bundle.platform, sub_id, invoice.invoice_id, invoice.amounts.total_amount)
            for n in range(10):
                _touch(bundle.platform, sub_id, n)

        threads = [
            threading.Thread(target=write, args=(work,))
            for work in (
                buy_and_use,
                buy_and_use,
                lambda: pay_and_touch(first),
                lambda: pay_and_touch(second),
            )
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        head = list_events(bundle.admin, after_sequence=start)[-1].sequence
        expected = [
            list_events(caller, after_sequence=start, **request) for caller, request in wanted
        ]
        for n, (_, request, watcher) in enumerate(watchers):
            got = _until(watcher, head)
            listed = expected[n // 3]
            assert [e.sequence for e in got] == [e.sequence for e in listed], request
            assert got == listed, request  # the same view, field for field
        # Each filter had events to send, but those the rule gives nothing.
        empty = [not listed for listed in expected]
        assert empty == [False] * 6 + [True] + [False] * 4 + [True]
    finally:
        for _, _, watcher in watchers:
            watcher.close()


def test_a_watcher_from_an_old_cursor_catches_up_then_follows(busy: RunningServer) -> None:
    shop = make_shop(busy)
    p = shop.platform
    sub_id = subscribe(p, shop.plan_id).subscription.subscription_id
    for n in range(30):  # written while nobody watches: only the store has them
        _touch(p, sub_id, n)
    live = Watcher(p)  # the feed now keeps a window
    try:
        live.events_until_heartbeat()
        for n in range(30, 60):
            _touch(p, sub_id, n)
        late = Watcher(p, subscription_id=sub_id)  # from the very start
        try:
            replayed = late.events_until_heartbeat()
            for n in range(60, 70):
                _touch(p, sub_id, n)
            followed = late.events(10)
            assert replayed + followed == events_of(p, sub_id)
            assert [e.type for e in followed] == ["subscription.updated"] * 10
        finally:
            late.close()
        assert [e.subscription_id for e in live.events(40)] == [sub_id] * 40
    finally:
        live.close()


def test_stalled_watchers_cost_no_memory_and_lose_nothing(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    running = start_server(fresh_backend_url, tmp_path, test_clock=True)
    stalled = []
    try:
        shop = make_shop(running)
        sub_id = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        # A watcher that reads all along, through a first burst: the window
        # fills with events and their messages, the store's caches warm up.
        reader = Watcher(shop.platform)
        reader.events_until_heartbeat()
        _append_many(fresh_backend_url, sub_id, batches=20, per_batch=500)
        reader.events(10_000, timeout=60)
        # Then five streams open and are never read, through a second burst.
        stub = event_pb2_grpc.EventServiceStub(shop.platform.channel)
        head = _head(shop.admin)
        stalled = [
            stub.WatchEvents(
                event_pb2.WatchEventsRequest(after_sequence=head),
                metadata=shop.platform.metadata(),
                timeout=120,
            )
            for _ in range(5)
        ]
        time.sleep(1.0)
        before = _rss_kib(running.process.pid)
        _append_many(fresh_backend_url, sub_id, batches=20, per_batch=500)
        got = reader.events(10_000, timeout=60)
        time.sleep(1.0)  # the stalled streams try to send
        grown_mib = (_rss_kib(running.process.pid) - before) / 1024
        # Queued for five consumers, 10,000 events of half a kilobyte would
        # be tens of megabytes; the window is bounded and cursors cost nothing.
        assert grown_mib < 10, f"server memory grew {grown_mib:.1f} MiB"
        reader.close()
        # A stalled stream, read now, goes on where it stopped: nothing lost.
        resumed = [m.event for m in _read_until_quiet(stalled[0], 10_000)]
        assert [e.sequence for e in resumed] == [e.sequence for e in got]
    finally:
        for call in stalled:
            call.cancel()
        running.stop()


def _append_many(database_url: str, sub_id: str, batches: int, per_batch: int) -> None:
    """Events through the real outbox, from another process's view."""
    from bento_server.billing.statuses import EventType
    from bento_server.store.models import Subscription

    store = connect(database_url)
    deps = Deps(store=store, clock=SystemClock())
    sub = Subscription.get_by_id(sub_id)
    padding = "x" * 500
    for _ in range(batches):
        with store.write():
            for n in range(per_batch):
                events.append(
                    deps,
                    EventType.SUBSCRIPTION_UPDATED,
                    sub,
                    datetime.now(UTC),
                    data={"n": n, "pad": padding},
                )
    store.close()


def _read_until_quiet(call: Any, count: int) -> list[event_pb2.WatchEventsResponse]:
    """Reads ``call`` until ``count`` events of the burst came (or a minute passed)."""
    found: list[event_pb2.WatchEventsResponse] = []
    done = threading.Event()

    def read() -> None:
        seen = 0
        for message in call:
            if message.HasField("event"):
                found.append(message)
                if message.event.type == "subscription.updated":
                    seen += 1
                    if seen == count:
                        break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(60), f"only {len(found)} events came"
    return found


def test_a_publisher_watcher_never_receives_another_apps_items(busy: RunningServer) -> None:
    bundle = make_bundle(busy)
    t = bundle.tenancy
    start = _head(bundle.admin)
    mine = [Watcher(t.publisher, after_sequence=start) for _ in range(3)]
    theirs = [Watcher(t.other_publisher, after_sequence=start) for _ in range(3)]
    whole = Watcher(bundle.admin, after_sequence=start)
    try:
        for watcher in [*mine, *theirs, whole]:
            watcher.events_until_heartbeat()
        paid = buy(bundle)
        exchange(t.publisher, paid.codes[t.app_id])
        update_item(t.publisher, paid.session_id, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED)
        exchange(t.other_publisher, paid.codes[t.other_app_id])
        update_item(
            t.other_publisher,
            paid.session_id,
            t.other_app_id,
            E.ACTIVATION_ITEM_STATUS_FAILED,
            error_reason="no such user",
        )
        head = list_events(bundle.admin, after_sequence=start)[-1].sequence
        # The admin's copy of the session holds both apps' items: the
        # publishers' copies were built from the same event.
        admin_seen = _until(whole, head)
        (session,) = [e for e in admin_seen if e.type == "activation.session.created"]
        items = json_format.MessageToDict(session.data)["activation_session"]["items"]
        assert {i["app_id"] for i in items} == {t.app_id, t.other_app_id}
        for app_id, publisher, watchers in (
            (t.app_id, t.publisher, mine),
            (t.other_app_id, t.other_publisher, theirs),
        ):
            expected = list_events(publisher, after_sequence=start)
            assert {e.type for e in expected} >= {
                "subscription.created",
                "activation.session.created",
                "activation.item.updated",
            }
            for watcher in watchers:
                got = _until(watcher, head)
                assert got == expected
                for event in got:
                    _assert_only_app(event, app_id)
    finally:
        for watcher in [*mine, *theirs, whole]:
            watcher.close()


def _assert_only_app(event: event_pb2.Event, app_id: str) -> None:
    assert list(event.app_ids) == [app_id], event
    assert not (event.session_id or event.platform_id or event.invoice_id or event.payment_id)
    data = json_format.MessageToDict(event.data)
    assert set(data) <= PUBLISHER_DATA_KEYS, data
    assert set(data.get("subscription", {})) <= PUBLISHER_SUBSCRIPTION_KEYS
    session = data.get("activation_session")
    if session is not None:
        assert set(session) <= PUBLISHER_SESSION_KEYS
        assert {i["app_id"] for i in session["items"]} == {app_id}
        for item in session["items"]:
            assert set(item) <= PUBLISHER_ITEM_KEYS
    item = data.get("activation_item")
    if item is not None:
        assert item["app_id"] == app_id


# --- in process: the filter, the window, the store --------------------------------------


def test_the_in_memory_filter_agrees_with_the_sql_one(
    busy: RunningServer, fresh_backend_url: str
) -> None:
    bundle = make_bundle(busy)
    t = bundle.tenancy
    paid = buy(bundle)
    other = subscribe(bundle.platform, bundle.plan_id).subscription.subscription_id
    _touch(bundle.platform, other, 1)
    exchange(t.publisher, paid.codes[t.app_id])
    update_item(t.publisher, paid.session_id, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED)
    cancel(bundle.platform, paid.subscription_id, cancel_now=True)
    principals = [
        Principal("AK1", ADMIN, None),
        Principal("AK2", PLATFORM, t.platform_id),
        Principal("AK3", PLATFORM, t.other_platform_id),
        Principal("AK4", PUBLISHER, t.app_id),
        Principal("AK5", PUBLISHER, t.other_app_id),
        Principal("AK6", PUBLISHER, "AP0000000000000000404"),
    ]
    store = connect(fresh_backend_url)
    try:
        newest = events.newest_sequence()
        logged = events.read_tail(0, 10_000, 10_000).events
        assert [e.sequence for e in logged] == [
            row.sequence for row in Event.select(Event.sequence).order_by(Event.sequence)
        ]
        filters = [
            ((), ""),
            (("subscription.updated", "activation.item.updated"), ""),
            ((), paid.subscription_id),
            (("subscription.canceled",), other),
        ]
        for principal in principals:
            assert [e.sequence for e in logged if events.sees(principal, e)] == [
                row.sequence for row in events.visible_to(principal).order_by(Event.sequence)
            ], principal
            for types, sub_id in filters:
                watched = events.Watched(principal, frozenset(types), sub_id)
                in_memory = [e.sequence for e in logged if watched.matches(e)]
                in_sql = events.read_after(principal, 0, newest, list(types), sub_id, 10_000)
                assert in_memory == [row.sequence for row in in_sql], (principal, types, sub_id)
        # And a logged event becomes the row it was.
        row = Event.get_by_id(logged[-1].sequence)
        again = logged[-1].as_event()
        assert {f: getattr(again, f) for f in Event._meta.fields} == {
            f: getattr(row, f) for f in Event._meta.fields
        }
    finally:
        store.close()


class _InProcess:
    """A WatchEvents servicer on a store of its own, with its feed, driven
    without gRPC; ``store_reads`` counts the store reads streams make."""

    def __init__(self, store: Store, window_bytes: int) -> None:
        self.store = store
        self.executor = ThreadPoolExecutor(4)
        self.runtime = Runtime(
            deps=Deps(store=store, clock=SystemClock()),
            executor=self.executor,
            config=ServerConfig(heartbeat_interval=0.2),
        )
        self.window_bytes = window_bytes
        self.store_reads = 0

    async def start(self) -> EventFeed:
        loop = asyncio.get_running_loop()
        feed = EventFeed(
            events.read_tail,
            lambda fn: loop.run_in_executor(self.executor, fn),
            poll_interval=0.05,
            max_streams_per_caller=16,
            window_bytes=self.window_bytes,
        )
        await feed.start()
        self.runtime.feed = feed
        return feed

    def write(self, count: int, pad: int = 100) -> None:
        with self.store.write():
            for n in range(count):
                Event.create(
                    event_id=ids.new_id(ids.EVENT),
                    type="subscription.updated",
                    occurred_at=datetime.now(UTC),
                    platform_id="PL1",
                    subscription_id="SUB1",
                    app_ids=["AP1"],
                    data={"n": n, "pad": "x" * pad},
                )

    def watch(self, principal: Principal, after: int = 0) -> AsyncIterator[Any]:
        current_principal.set(principal)
        counted = self

        class Counting(EventService):
            async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
                if fn is events.read_after:
                    counted.store_reads += 1
                return await super().call(fn, *args, **kwargs)

        return Counting(self.runtime).WatchEvents(
            event_pb2.WatchEventsRequest(after_sequence=after),
            None,  # type: ignore[arg-type]
        )


async def _events(stream: AsyncIterator[Any], count: int) -> list[int]:
    found: list[int] = []
    while len(found) < count:
        message = await asyncio.wait_for(stream.__anext__(), 10)
        if message.HasField("event"):
            found.append(message.event.sequence)
    return found


def test_a_stream_behind_the_window_reads_the_store_then_only_the_window(
    fresh_backend_url: str,
) -> None:
    store = connect(fresh_backend_url)
    migrate(store)
    admin = Principal("AK1", ADMIN, None)

    async def scenario() -> None:
        here = _InProcess(store, window_bytes=200_000)
        await asyncio.get_running_loop().run_in_executor(here.executor, here.write, 50)
        feed = await here.start()
        # A stream from the start: the first 50 are only in the store.
        stream = here.watch(admin)
        assert await _events(stream, 50) == list(range(1, 51))
        reads = here.store_reads
        assert reads >= 1
        # Now inside the window: new events come from it, no store read.
        for round_ in range(3):
            await asyncio.get_running_loop().run_in_executor(here.executor, here.write, 5)
            feed.poke()
            first = 51 + 5 * round_
            assert await _events(stream, 5) == list(range(first, first + 5))
        assert here.store_reads == reads
        # A burst far larger than the window while the stream does not
        # read: it falls behind, reads the store, and loses nothing.
        await asyncio.get_running_loop().run_in_executor(here.executor, here.write, 600, 500)
        feed.poke()
        await asyncio.sleep(0.5)
        assert await _events(stream, 600) == list(range(66, 666))
        assert here.store_reads > reads
        reads = here.store_reads
        # And back inside the window afterwards.
        await asyncio.get_running_loop().run_in_executor(here.executor, here.write, 5)
        feed.poke()
        assert await _events(stream, 5) == list(range(666, 671))
        assert here.store_reads == reads
        await stream.aclose()  # type: ignore[attr-defined]
        await feed.close()
        here.executor.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_the_window_drops_what_retention_pruned_and_stays_in_its_bound(
    fresh_backend_url: str,
) -> None:
    store = connect(fresh_backend_url)
    migrate(store)

    async def scenario() -> None:
        here = _InProcess(store, window_bytes=100_000)
        feed = await here.start()
        loop = asyncio.get_running_loop()
        with feed.slot("AK1"):  # someone watches: the feed keeps events
            await loop.run_in_executor(here.executor, here.write, 20)
            feed.poke()
            await feed.wait(19, 5)
            shared = feed.after(0, 100)
            assert shared is not None
            assert [e.sequence for e in shared[0]] == list(range(1, 21))

            # Retention prunes the first ten: the window no longer serves them.
            def prune() -> None:
                with store.write():
                    Event.delete().where(Event.sequence <= 10).execute()
                    EventLogState.update(pruned_through=10).where(EventLogState.id == 1).execute()

            await loop.run_in_executor(here.executor, prune)
            await loop.run_in_executor(here.executor, here.write, 1)
            feed.poke()
            await feed.wait(20, 5)
            await asyncio.sleep(0.1)
            assert feed.after(5, 100) is None  # behind: to the store
            shared = feed.after(10, 100)
            assert shared is not None
            assert [e.sequence for e in shared[0]] == list(range(11, 22))
            # Far more than the bound: only the newest stay.
            await loop.run_in_executor(here.executor, here.write, 300, 2_000)
            feed.poke()
            await feed.wait(320, 5)
            await asyncio.sleep(0.2)
            kept = feed.after(feed.newest - 1, 1)
            assert kept is not None
            assert feed.after(20, 100) is None
            assert feed._bytes <= 100_000 + 10_000
        await feed.close()
        here.executor.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_a_waiting_stream_is_woken_only_for_what_it_would_send() -> None:
    """The feed moves an idle stream's cursor past events it would not
    send (its heartbeats carry the head) and wakes it only for its own."""
    from bento_server.usecases.events import LoggedEvent, Tail

    log: list[LoggedEvent] = []

    def logged(sequence: int, subscription_id: str) -> LoggedEvent:
        return LoggedEvent(
            (
                sequence,
                f"EV{sequence}",
                "subscription.updated",
                datetime.now(UTC) - timedelta(seconds=1),
                "PL1",
                subscription_id,
                None,
                None,
                None,
                None,
                None,
                [],
                "{}",
            )
        )

    def read_tail(after: int, limit: int, widest: int) -> Tail:
        newest = log[-1].sequence if log else 0
        return Tail(newest, 0, after, [e for e in log if e.sequence > after][:limit])

    async def scenario() -> None:
        async def run(fn: Any) -> Any:
            return fn()

        feed = EventFeed(read_tail, run, poll_interval=10, max_streams_per_caller=4)
        await feed.start()
        with feed.slot("AK1", lambda row: row.subscription_id == "SUB2") as stream:
            sleeping = asyncio.create_task(feed.sleep(stream, 10))
            await asyncio.sleep(0)
            log.extend(logged(n, "SUB1") for n in range(1, 4))
            feed.poke()
            await asyncio.sleep(0.05)
            assert not sleeping.done()
            assert stream.cursor == 3  # moved past what it would not send
            log.append(logged(4, "SUB2"))
            feed.poke()
            await asyncio.wait_for(sleeping, 1)
            assert stream.cursor == 3
            shared = feed.after(stream.cursor, 10)
            assert shared is not None
            assert [e.sequence for e in shared[0]] == [4] and shared[1] == 4
        await feed.close()

    asyncio.run(scenario())
