"""WatchEvents and the event log: replay then live, resume, scoping,
heartbeats, bounded cost, several servers, retention."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2

from bento.v1 import enums_pb2, event_pb2, event_pb2_grpc, subscription_pb2
from tests.billing_support import advance, make_shop, pay, subscribe
from tests.support import Caller, RunningServer, assert_fails, failure, start_server
from tests.test_billing_consistency import events_of

E = enums_pb2


class Watcher:
    """Reads a WatchEvents stream on a thread into a queue."""

    def __init__(self, caller: Caller, **request: object) -> None:
        stub = event_pb2_grpc.EventServiceStub(caller.channel)
        # A deadline, so that a stream that never ends cannot hang the suite.
        self.call = stub.WatchEvents(
            event_pb2.WatchEventsRequest(**request), metadata=caller.metadata(), timeout=120
        )
        self.messages: queue.Queue[event_pb2.WatchEventsResponse | BaseException] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self.messages.put(message)
        except grpc.RpcError as error:
            self.messages.put(error)

    def next(self, timeout: float = 10.0) -> event_pb2.WatchEventsResponse:
        message = self.messages.get(timeout=timeout)
        if isinstance(message, BaseException):
            raise message
        return message

    def events_until_heartbeat(self, timeout: float = 10.0) -> list[event_pb2.Event]:
        found = []
        while True:
            message = self.next(timeout)
            if message.HasField("heartbeat"):
                return found
            found.append(message.event)

    def events(self, count: int, timeout: float = 10.0) -> list[event_pb2.Event]:
        found: list[event_pb2.Event] = []
        while len(found) < count:
            message = self.next(timeout)
            if message.HasField("event"):
                found.append(message.event)
        return found

    def close(self) -> None:
        self.call.cancel()


def _touch(caller: Caller, subscription_id: str, n: int) -> None:
    metadata = struct_pb2.Struct()
    metadata.update({"n": n})
    caller(
        caller.subscriptions.UpdateSubscription,
        subscription_pb2.UpdateSubscriptionRequest(
            subscription_id=subscription_id, metadata=metadata
        ),
    )


def test_replay_then_live_in_order(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub_id = created.subscription.subscription_id
    watcher = Watcher(p, subscription_id=sub_id)
    try:
        replayed = watcher.events_until_heartbeat()
        assert [e.type for e in replayed] == ["subscription.created", "invoice.created"]
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        live = watcher.events(4)
        assert [e.type for e in live] == [
            "payment.succeeded",
            "invoice.paid",
            "subscription.activated",
            "activation.session.created",
        ]
        sequences = [e.sequence for e in replayed + live]
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
        assert [e.sequence for e in events_of(p, sub_id)] == sequences
    finally:
        watcher.close()


def test_resume_after_disconnect_loses_and_repeats_nothing(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub_id = subscribe(p, shop.plan_id).subscription.subscription_id
    first = Watcher(p, subscription_id=sub_id)
    seen = first.events_until_heartbeat()
    _touch(p, sub_id, 1)
    seen += first.events(1)
    first.close()
    for n in range(2, 6):  # written while nobody watches
        _touch(p, sub_id, n)
    second = Watcher(p, subscription_id=sub_id, after_sequence=seen[-1].sequence)
    try:
        seen += second.events_until_heartbeat()
        _touch(p, sub_id, 6)
        seen += second.events(1)
    finally:
        second.close()
    assert [e.sequence for e in seen] == [e.sequence for e in events_of(p, sub_id)]
    assert [e.data["changed"] for e in seen if e.type == "subscription.updated"] == [
        ["metadata"]
    ] * 6


def test_streams_are_scoped_and_filtered(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub_id = created.subscription.subscription_id
    # Start from just before this subscription: the log is shared by the session.
    start = events_of(shop.admin, sub_id)[0].sequence - 1
    others = Watcher(shop.tenancy.other_platform, after_sequence=start)
    publisher = Watcher(shop.tenancy.publisher, after_sequence=start)
    payments_only = Watcher(p, after_sequence=start, types=["payment.succeeded"])
    try:
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        assert [e.type for e in payments_only.events(1)] == ["payment.succeeded"]
        publisher_seen = publisher.events(3)
        assert [e.type for e in publisher_seen] == [
            "subscription.created",
            "subscription.activated",
            "activation.session.created",
        ]
        assert all(shop.tenancy.app_id in e.app_ids for e in publisher_seen)
        assert all(e.subscription_id != sub_id for e in others.events_until_heartbeat())
    finally:
        for watcher in (others, publisher, payments_only):
            watcher.close()


def test_unknown_types_and_negative_cursors_are_refused(server: RunningServer) -> None:
    admin = server.admin()
    for request, field in (
        ({"types": ["subscription.exploded"]}, "types"),
        ({"after_sequence": -1}, "after_sequence"),
    ):
        watcher = Watcher(admin, **request)
        got = failure(watcher.next)
        assert (got.code, got.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument")
        assert field in got.fields


@pytest.fixture
def lively(fresh_backend_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own: one-second heartbeats, two streams per key, one day of events."""
    running = start_server(
        fresh_backend_url,
        tmp_path,
        test_clock=True,
        extra=(
            "--heartbeat-interval",
            "1",
            "--max-streams-per-caller",
            "2",
            "--event-retention-days",
            "1",
        ),
    )
    yield running
    running.stop()


def test_idle_streams_get_heartbeats_with_the_newest_sequence(lively: RunningServer) -> None:
    shop = make_shop(lively)
    sub_id = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
    newest = events_of(shop.admin, sub_id)[-1].sequence
    watcher = Watcher(shop.platform, types=["payment.refunded"])
    try:
        beats = []
        started = time.monotonic()
        while len(beats) < 3:
            message = watcher.next(timeout=5)
            assert message.HasField("heartbeat")
            beats.append(message.heartbeat)
        assert time.monotonic() - started < 5
        # A filtered watcher's cursor still moves past what it was not sent.
        assert beats[-1].newest_sequence == newest
    finally:
        watcher.close()


def test_a_caller_has_a_bounded_number_of_streams(lively: RunningServer) -> None:
    shop = make_shop(lively)
    open_streams = [Watcher(shop.platform) for _ in range(2)]
    try:
        for watcher in open_streams:
            watcher.next()
        third = Watcher(shop.platform)
        assert_fails(third.next, grpc.StatusCode.RESOURCE_EXHAUSTED, "too_many_streams")
        # Another key is not counted against this one: its stream opens and
        # reaches the end of its replay.
        other_key = Watcher(shop.admin)
        replayed = other_key.events_until_heartbeat()
        assert {e.platform_id for e in replayed} <= {shop.tenancy.platform_id}
        other_key.close()
    finally:
        for watcher in open_streams:
            watcher.close()


def test_a_resume_below_the_pruned_log_is_refused(lively: RunningServer) -> None:
    shop = make_shop(lively)
    old_sub = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
    old = events_of(shop.admin, old_sub)
    advance(shop.admin, 2 * 86_400)  # past the one day kept; the sweep prunes
    new_sub = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
    assert events_of(shop.admin, old_sub) == []
    got = failure(Watcher(shop.platform, after_sequence=old[0].sequence).next)
    assert (got.code, got.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "events_pruned")
    # Where a consumer can resync from: the oldest event still kept.
    kept_by_all = (
        event_pb2_grpc.EventServiceStub(shop.admin.channel)
        .ListEvents(
            event_pb2.ListEventsRequest(page_size=1), metadata=shop.admin.metadata(), timeout=10
        )
        .events
    )
    assert got.metadata["oldest_sequence"] == str(kept_by_all[0].sequence)
    assert kept_by_all[0].sequence > old[-1].sequence
    from_start = Watcher(shop.platform)
    try:
        kept = from_start.events_until_heartbeat()
        assert {e.subscription_id for e in kept} == {new_sub}
    finally:
        from_start.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_stalled_consumers_cost_no_memory_while_10000_events_are_written(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from bento_server.billing.statuses import EventType
    from bento_server.clock import SystemClock
    from bento_server.store.database import connect
    from bento_server.store.models import Subscription
    from bento_server.usecases import events
    from bento_server.usecases.context import Deps

    running = start_server(fresh_backend_url, tmp_path, test_clock=True)
    stalled = []
    try:
        shop = make_shop(running)
        sub_id = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        stub = event_pb2_grpc.EventServiceStub(shop.platform.channel)
        # Five streams that are opened and never read.
        stalled = [
            stub.WatchEvents(
                event_pb2.WatchEventsRequest(), metadata=shop.platform.metadata(), timeout=120
            )
            for _ in range(5)
        ]
        time.sleep(1.0)
        before = _rss_kib(running.process.pid)
        # 10,000 events through the real outbox, from another process's view.
        store = connect(fresh_backend_url)
        deps = Deps(store=store, clock=SystemClock())
        sub = Subscription.get_by_id(sub_id)
        padding = "x" * 500
        for _ in range(20):
            with store.write():
                for n in range(500):
                    events.append(
                        deps,
                        EventType.SUBSCRIPTION_UPDATED,
                        sub,
                        datetime.now(UTC),
                        data={"n": n, "pad": padding},
                    )
        store.close()
        time.sleep(2.0)  # the servers' feed polls, the streams try to send
        grown_mib = (_rss_kib(running.process.pid) - before) / 1024
        # Queued for five consumers, 10,000 events of half a kilobyte would
        # be tens of megabytes; cursors cost nothing.
        assert grown_mib < 20, f"server memory grew {grown_mib:.1f} MiB"
        # And the stalled stream, read now, loses nothing.
        reader = Watcher(shop.platform)
        try:
            got = [
                e
                for e in reader.events_until_heartbeat(timeout=30)
                if e.type == "subscription.updated"
            ]
            assert len(got) == 10_000
            assert [e.sequence for e in got] == sorted(e.sequence for e in got)
        finally:
            reader.close()
    finally:
        for call in stalled:
            call.cancel()
        running.stop()


def test_a_watcher_on_one_server_sees_writes_on_another(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    writer = start_server(fresh_backend_url, tmp_path, test_clock=True)
    watcher_server = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        shop = make_shop(writer)
        sub_id = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        watcher = Watcher(watcher_server.caller(shop.platform.credential), subscription_id=sub_id)
        try:
            watcher.events_until_heartbeat()
            started = time.monotonic()
            for n in range(5):
                _touch(shop.platform, sub_id, n)
            got = watcher.events(5, timeout=5)
            assert time.monotonic() - started < 5
            assert [e.data["changed"] for e in got] == [["metadata"]] * 5
        finally:
            watcher.close()
    finally:
        writer.stop()
        watcher_server.stop()


def test_concurrent_writers_never_make_a_watcher_skip(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """Sequence order is commit order: a watcher that receives sequence N
    never later learns of a smaller one it skipped."""
    first = start_server(fresh_backend_url, tmp_path, test_clock=True)
    second = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        shop = make_shop(first)
        subs = [
            subscribe(shop.platform, shop.plan_id).subscription.subscription_id for _ in range(8)
        ]
        watcher = Watcher(first.caller(shop.platform.credential))
        watcher.events_until_heartbeat()
        errors: list[BaseException] = []

        def write(server: RunningServer, sub_id: str) -> None:
            caller = server.caller(shop.platform.credential)
            try:
                for n in range(15):
                    _touch(caller, sub_id, n)
            except BaseException as error:  # asserted below
                errors.append(error)

        threads = [
            threading.Thread(target=write, args=(first if i % 2 else second, sub_id))
            for i, sub_id in enumerate(subs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        received = watcher.events(8 * 15, timeout=15)
        watcher.close()
        sequences = [e.sequence for e in received]
        assert sequences == sorted(sequences)
        logged = [
            e.sequence
            for sub_id in subs
            for e in events_of(shop.platform, sub_id)
            if e.type == "subscription.updated"
        ]
        assert sorted(logged) == sequences
    finally:
        first.stop()
        second.stop()
