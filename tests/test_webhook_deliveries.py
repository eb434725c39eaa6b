"""Webhook deliveries over the wire, to real HTTP receivers on 127.0.0.1:
what each endpoint is sent (its owner's view of the log, signed by the
Standard Webhooks scheme), retries on the test clock, replays, secret
rotation, the failing endpoint that is disabled and sends its backlog once
enabled again, the delivery RPCs' scoping, a crash in the middle of a burst,
and two replicas sharing the work.

Servers here run with --webhooks-allow-private, on databases of their own:
the session's shared server refuses private addresses.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf import field_mask_pb2, json_format
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bento.v1 import event_pb2, event_pb2_grpc, webhook_pb2, webhook_pb2_grpc
from tests.billing_support import advance, make_shop, now, pay, subscribe
from tests.helpers.metrics import scrape
from tests.helpers.paging import every
from tests.support import (
    Caller,
    RunningServer,
    assert_fails,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    handed_out,
    make_tenancy,
    start_server,
    unique,
)
from tests.test_activation import buy, get_session, make_bundle

pb = webhook_pb2
NOT_FOUND = grpc.StatusCode.NOT_FOUND
ALLOW_PRIVATE = ("--webhooks-allow-private",)
T = TypeVar("T")


# --- a receiver --------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every POST, answering each
    path the statuses queued for it in turn, then 200."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)
    # Seconds to wait before answering, by path.
    delays: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def answer(self, path: str, *statuses: int) -> None:
        with self.lock:
            self.answers.setdefault(path, []).extend(statuses)


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                queued = receiver.answers.get(self.path)
                status = queued.pop(0) if queued else 200
                delay = receiver.delays.get(self.path, 0.0)
            time.sleep(delay)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # Several endpoints' sends come at once: a backlog of 5 would turn
        # some away, and each would wait for its retry.
        request_queue_size = 128
        daemon_threads = True

    http = Server(("127.0.0.1", 0), Handler)
    receiver = Receiver(http)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    return receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = start_receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(scope="module")
def hook_server(
    backend_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A test-clock server sending webhooks to private addresses, on a
    database of its own, shared by this module's tests."""
    if backend_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('hooks') / 'hooks.db'}"
    else:
        url = create_postgres_database(backend_url, "bento_hooks")
    running = start_server(url, tmp_path_factory.mktemp("hooks"), extra=ALLOW_PRIVATE)
    try:
        yield running
    finally:
        running.stop()
        if not backend_url.startswith("sqlite"):
            drop_postgres_database(backend_url, url)


# --- calling WebhookService ----------------------------------------------------------


def hooks(caller: Caller) -> webhook_pb2_grpc.WebhookServiceStub:
    return webhook_pb2_grpc.WebhookServiceStub(caller.channel)


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    secret: str
    path: str


def create(caller: Caller, receiver: Receiver, *types: str, tenant_id: str = "") -> Endpoint:
    path = "/" + unique("hook")
    created = caller(
        hooks(caller).CreateWebhookEndpoint,
        pb.CreateWebhookEndpointRequest(
            url=receiver.url(path), event_types=list(types), tenant_id=tenant_id
        ),
    )
    return Endpoint(created.endpoint.endpoint_id, handed_out(created.secret), path)


def deliveries(caller: Caller, **filters: Any) -> list[pb.WebhookDelivery]:
    request = pb.ListWebhookDeliveriesRequest(page_size=100, **filters)
    return every(partial(caller, hooks(caller).ListWebhookDeliveries), request, "deliveries")


def listed_events(caller: Caller, after: int = 0) -> list[event_pb2.Event]:
    """Every event ``caller`` may read after ``after``, as ListEvents answers."""
    stub = event_pb2_grpc.EventServiceStub(caller.channel)
    request = event_pb2.ListEventsRequest(after_sequence=after, page_size=100)
    return every(partial(caller, stub.ListEvents), request, "events")


def head(admin: Caller) -> int:
    events = listed_events(admin)
    return events[-1].sequence if events else 0


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    """``probe()``'s first true answer, looked at every 50 ms."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what or probe}")
        time.sleep(0.05)


def arrived(receiver: Receiver, path: str, count: int, timeout: float = 30.0) -> list[Received]:
    """The first ``count`` POSTs to ``path``, once they came."""

    def enough() -> list[list[Received]] | None:
        found = receiver.at(path)
        return [found] if len(found) >= count else None

    (got,) = eventually(enough, timeout, f"{count} POSTs to {path}")
    return got[:count]


def verified(secret: str, got: Received) -> dict[str, Any]:
    return Webhook(secret).verify(got.body, got.headers)  # type: ignore[no-any-return]


def as_json(event: event_pb2.Event) -> dict[str, Any]:
    """An event as ListEvents answered it, in the protobuf JSON mapping."""
    return json.loads(json_format.MessageToJson(event))  # type: ignore[no-any-return]


# --- what an endpoint is sent -----------------------------------------------------------


def test_a_publisher_receives_its_activation_session_signed(
    hook_server: RunningServer, receiver: Receiver
) -> None:
    bundle = make_bundle(hook_server)
    t = bundle.tenancy
    endpoint = create(t.publisher, receiver, "activation.session.created")
    paid = buy(bundle)

    (got,) = arrived(receiver, endpoint.path, 1)
    body = verified(endpoint.secret, got)
    assert body["type"] == "activation.session.created"
    own = [i for i in get_session(bundle.admin, paid.session_id).activation_items]
    jti = {i.app_id: i.jti for i in own}[t.app_id]
    items = body["data"]["activation_session"]["items"]
    assert [(i["app_id"], i["jti"]) for i in items] == [(t.app_id, jti)]
    # The typed payload in the API's JSON, held to the same view.
    typed = body["activationSession"]
    assert typed["activationSessionId"] == paid.session_id
    assert [(i["appId"], i["jti"]) for i in typed["activationItems"]] == [(t.app_id, jti)]
    assert typed["activationItems"][0]["status"] == "ACTIVATION_ITEM_STATUS_PENDING"
    # Exactly what the publisher reads through ListEvents: the same fields.
    (listed,) = [e for e in listed_events(t.publisher) if e.event_id == body["eventId"]]
    assert body == as_json(listed)
    assert int(body["sequence"]) == listed.sequence

    assert got.headers["webhook-id"] == f"msg_{listed.event_id}_{endpoint.endpoint_id}"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert got.headers["webhook-signature"].startswith("v1,")
    assert " " not in got.headers["webhook-signature"]
    assert got.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(got.body.replace("activation", "activatiOn"), got.headers)

    (delivery,) = eventually(
        lambda: [
            d
            for d in deliveries(t.publisher, endpoint_id=endpoint.endpoint_id)
            if d.state == pb.WEBHOOK_DELIVERY_STATE_DELIVERED
        ]
    )
    assert (delivery.event_id, delivery.sequence, delivery.event_type, delivery.attempts) == (
        listed.event_id,
        listed.sequence,
        "activation.session.created",
        1,
    )
    assert delivery.last_status_code == 200 and delivery.HasField("delivered_at")


def test_an_endpoint_is_sent_what_its_owner_may_read(
    hook_server: RunningServer, receiver: Receiver
) -> None:
    bundle = make_bundle(hook_server)
    t = bundle.tenancy
    admin = bundle.admin
    start = head(admin)
    owners = {
        "platform": (t.platform, create(t.platform, receiver)),
        "publisher": (t.publisher, create(t.publisher, receiver)),
        "other publisher": (t.other_publisher, create(t.other_publisher, receiver)),
        # Made by an admin for the platform: the platform's view.
        "for the platform": (
            t.platform,
            create(admin, receiver, tenant_id=t.platform_id),
        ),
        "other platform": (t.other_platform, create(t.other_platform, receiver)),
        "subscriptions only": (
            t.platform,
            create(t.platform, receiver, "subscription.created", "subscription.activated"),
        ),
    }
    buy(bundle)
    buy(bundle)

    for name, (owner, endpoint) in owners.items():
        types = {"subscriptions only": {"subscription.created", "subscription.activated"}}
        owed = [
            as_json(e)
            for e in listed_events(owner, start)
            if name not in types or e.type in types[name]
        ]
        got = arrived(receiver, endpoint.path, len(owed))
        for one in got:
            verified(endpoint.secret, one)
        assert sorted((r.event for r in got), key=lambda e: int(e["sequence"])) == owed, name
        if name == "other platform":
            assert owed == []
        if name == "publisher":
            assert {e["type"].split(".")[0] for e in owed} == {"subscription", "activation"}
            assert all("invoice" not in e.get("data", {}) for e in owed)
    # Nothing more comes.
    time.sleep(1.0)
    for name, (owner, endpoint) in owners.items():
        assert len(receiver.at(endpoint.path)) == len(
            [d for d in deliveries(owner, endpoint_id=endpoint.endpoint_id)]
        ), name


def test_a_failing_receiver_gets_the_event_on_a_later_attempt(
    hook_server: RunningServer, receiver: Receiver
) -> None:
    shop = make_shop(hook_server)
    platform = shop.platform
    endpoint = create(platform, receiver, "subscription.created")
    receiver.answer(endpoint.path, 500, 500)
    sub = subscribe(platform, shop.plan_id).subscription

    (first,) = arrived(receiver, endpoint.path, 1)
    (pending,) = eventually(
        lambda: [d for d in deliveries(platform, endpoint_id=endpoint.endpoint_id) if d.attempts]
    )
    assert pending.state == pb.WEBHOOK_DELIVERY_STATE_PENDING
    assert (pending.last_status_code, pending.last_error) == (500, "answered HTTP 500")
    # The first retry is due within a minute.
    wait = pending.next_attempt_at.ToDatetime() - pending.first_attempt_at.ToDatetime()
    assert 0 < wait.total_seconds() <= 60
    time.sleep(0.5)
    assert len(receiver.at(endpoint.path)) == 1  # not before it is due

    advance(shop.admin, 60)
    arrived(receiver, endpoint.path, 2)
    advance(shop.admin, 180)
    got = arrived(receiver, endpoint.path, 3)

    assert {r.headers["webhook-id"] for r in got} == {first.headers["webhook-id"]}
    assert {r.body for r in got} == {first.body}
    assert verified(endpoint.secret, got[-1])["subscriptionId"] == sub.subscription_id
    (done,) = eventually(
        lambda: [
            d
            for d in deliveries(platform, endpoint_id=endpoint.endpoint_id)
            if d.state == pb.WEBHOOK_DELIVERY_STATE_DELIVERED
        ]
    )
    assert (done.attempts, done.last_status_code, done.last_error) == (3, 200, "")
    assert done.first_attempt_at == pending.first_attempt_at


def test_replay_sends_again_what_followed_the_cursor(
    hook_server: RunningServer, receiver: Receiver
) -> None:
    shop = make_shop(hook_server)
    platform = shop.platform
    endpoint = create(platform, receiver)
    for _ in range(2):
        created = subscribe(platform, shop.plan_id)
        pay(
            platform,
            created.subscription.subscription_id,
            created.invoice.invoice_id,
            created.invoice.amounts.total_amount,
        )
    # A new platform's events all came after its endpoint was made.
    owed = listed_events(platform)
    first = arrived(receiver, endpoint.path, len(owed))
    cursor = sorted(int(r.event["sequence"]) for r in first)[2]

    replayed = platform(
        hooks(platform).ReplayWebhookEvents,
        pb.ReplayWebhookEventsRequest(endpoint_id=endpoint.endpoint_id, after_sequence=cursor),
    )
    again = [e for e in owed if e.sequence > cursor]
    assert (replayed.scheduled, replayed.pruned_through) == (len(again), 0)
    got = arrived(receiver, endpoint.path, len(first) + len(again))[len(first) :]
    assert sorted((r.event for r in got), key=lambda e: int(e["sequence"])) == [
        as_json(e) for e in again
    ]
    time.sleep(0.5)
    assert len(receiver.at(endpoint.path)) == len(first) + len(again)


def test_rotation_signs_with_both_secrets_for_a_day(
    hook_server: RunningServer, receiver: Receiver
) -> None:
    shop = make_shop(hook_server)
    platform = shop.platform
    endpoint = create(platform, receiver, "subscription.created")
    subscribe(platform, shop.plan_id)
    (before,) = arrived(receiver, endpoint.path, 1)
    verified(endpoint.secret, before)

    rotated = platform(
        hooks(platform).RotateWebhookSecret,
        pb.RotateWebhookSecretRequest(endpoint_id=endpoint.endpoint_id),
    )
    new = handed_out(rotated.secret)
    subscribe(platform, shop.plan_id)
    during = arrived(receiver, endpoint.path, 2)[1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verified(endpoint.secret, during)
    verified(new, during)

    advance(shop.admin, 24 * 3600 + 1)
    subscribe(platform, shop.plan_id)
    after = arrived(receiver, endpoint.path, 3)[2]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verified(new, after)
    with pytest.raises(WebhookVerificationError):
        verified(endpoint.secret, after)


def test_an_endpoint_failing_for_three_days_is_disabled_and_sends_its_backlog_once_enabled(
    hook_server: RunningServer, receiver: Receiver
) -> None:
    shop = make_shop(hook_server)
    platform, admin = shop.platform, shop.admin
    failing = create(platform, receiver, "subscription.created")
    watcher = create(platform, receiver, "webhook_endpoint.disabled")
    publisher = shop.tenancy.publisher
    publishers = create(publisher, receiver, "subscription.created")
    receiver.answer(failing.path, *[503] * 100)
    receiver.answer(publishers.path, *[503] * 100)
    subscribe(platform, shop.plan_id)

    def attempts() -> int:
        return sum(d.attempts for d in deliveries(platform, endpoint_id=failing.endpoint_id))

    eventually(lambda: attempts() == 1)
    # The backoff, with room for its jitter, up to 3 days after the first attempt.
    steps = [40, 150, 700, 4000, 24_000, 48_000, 96_000, 96_000, 96_000]
    for n, seconds in enumerate(steps, start=2):
        advance(admin, seconds)
        eventually(lambda n=n: attempts() >= n or None, what=f"attempt {n}")  # type: ignore[misc]
        (d,) = deliveries(platform, endpoint_id=failing.endpoint_id)
        if d.state == pb.WEBHOOK_DELIVERY_STATE_FAILED:
            break
    (gave_up,) = deliveries(platform, endpoint_id=failing.endpoint_id)
    assert gave_up.state == pb.WEBHOOK_DELIVERY_STATE_FAILED
    assert not gave_up.HasField("next_attempt_at")
    assert (gave_up.last_status_code, gave_up.last_error) == (503, "answered HTTP 503")
    # It gave up 3 days after the first attempt, not before.
    clock = now(admin).ToDatetime()
    assert clock - gave_up.first_attempt_at.ToDatetime() >= timedelta(days=3)
    ended = platform(
        hooks(platform).GetWebhookEndpoint,
        pb.GetWebhookEndpointRequest(endpoint_id=failing.endpoint_id),
    ).endpoint
    assert (ended.disabled, ended.disabled_reason) == (True, "failing")

    # Its owner reads the event and its other endpoint is sent it.
    (disabled,) = [e for e in listed_events(platform) if e.type == "webhook_endpoint.disabled"]
    assert disabled.data["webhook_endpoint"]["endpoint_id"] == failing.endpoint_id
    (told,) = arrived(receiver, watcher.path, 1)
    assert verified(watcher.secret, told) == as_json(disabled)
    assert not [
        e for e in listed_events(shop.tenancy.other_platform) if e.event_id == disabled.event_id
    ]
    # The publisher's endpoint, failing alike, is disabled alike: its event is
    # the publisher's alone, and says only which endpoint and why.
    (theirs,) = eventually(
        lambda: [e for e in listed_events(publisher) if e.type == "webhook_endpoint.disabled"],
        what="the publisher's endpoint disabled",
    )
    assert json_format.MessageToDict(theirs.data) == {
        "reason": "failing",
        "webhook_endpoint": {
            "endpoint_id": publishers.endpoint_id,
            "disabled": True,
            "disabled_reason": "failing",
        },
    }
    assert list(theirs.app_ids) == [shop.tenancy.app_id]
    assert theirs.event_id not in {e.event_id for e in listed_events(platform)}

    # While disabled, new events wait; enabling it again sends them.
    sent = len(receiver.at(failing.path))
    subscribe(platform, shop.plan_id)
    time.sleep(1.0)
    assert len(receiver.at(failing.path)) == sent
    with receiver.lock:
        receiver.answers[failing.path] = []
    platform(
        hooks(platform).UpdateWebhookEndpoint,
        pb.UpdateWebhookEndpointRequest(
            endpoint=pb.WebhookEndpoint(endpoint_id=failing.endpoint_id, disabled=False),
            update_mask=field_mask_pb2.FieldMask(paths=["disabled"]),
        ),
    )
    got = arrived(receiver, failing.path, sent + 1)
    newest = verified(failing.secret, got[-1])
    assert newest["type"] == "subscription.created"
    eventually(
        lambda: [
            d
            for d in deliveries(platform, endpoint_id=failing.endpoint_id)
            if d.state == pb.WEBHOOK_DELIVERY_STATE_DELIVERED and d.event_id == newest["eventId"]
        ],
        what="the backlog delivered",
    )


# --- the delivery RPCs --------------------------------------------------------------------


def test_deliveries_are_the_owners_alone(hook_server: RunningServer, receiver: Receiver) -> None:
    t = make_tenancy(hook_server)
    mine = create(t.platform, receiver)
    other = create(t.other_platform, receiver)
    sent = t.platform(
        hooks(t.platform).SendTestWebhook,
        pb.SendTestWebhookRequest(endpoint_id=mine.endpoint_id),
    )
    assert (sent.status_code, sent.error, sent.delivered) == (200, "", True)
    (test,) = arrived(receiver, mine.path, 1)
    body = verified(mine.secret, test)
    assert body["type"] == "webhook.test"
    (recorded,) = deliveries(t.platform, endpoint_id=mine.endpoint_id)
    assert (recorded.event_type, recorded.sequence, recorded.event_id) == (
        "webhook.test",
        0,
        body["eventId"],
    )
    assert recorded.state == pb.WEBHOOK_DELIVERY_STATE_DELIVERED and recorded.attempts == 1

    receiver.answer(other.path, 418)
    refused = t.other_platform(
        hooks(t.other_platform).SendTestWebhook,
        pb.SendTestWebhookRequest(endpoint_id=other.endpoint_id),
    )
    assert (refused.status_code, refused.delivered) == (418, False)
    (theirs,) = deliveries(t.other_platform)
    assert theirs.state == pb.WEBHOOK_DELIVERY_STATE_FAILED

    # Filters, and another tenant's endpoint or delivery.
    assert deliveries(t.platform, state=pb.WEBHOOK_DELIVERY_STATE_FAILED) == []
    assert deliveries(t.platform, event_id=body["eventId"]) == [recorded]
    assert deliveries(t.publisher) == []
    assert recorded in deliveries(t.admin) and theirs in deliveries(t.admin)
    for caller in (t.other_platform, t.publisher):
        stub = hooks(caller)
        assert_fails(
            lambda: caller(
                stub.ListWebhookDeliveries,
                pb.ListWebhookDeliveriesRequest(endpoint_id=mine.endpoint_id),
            ),
            NOT_FOUND,
            "webhook_endpoint_not_found",
        )
        assert_fails(
            lambda: caller(
                stub.RetryWebhookDelivery,
                pb.RetryWebhookDeliveryRequest(delivery_id=recorded.delivery_id),
            ),
            NOT_FOUND,
            "webhook_delivery_not_found",
        )
        assert_fails(
            lambda: caller(
                stub.ReplayWebhookEvents,
                pb.ReplayWebhookEventsRequest(endpoint_id=mine.endpoint_id),
            ),
            NOT_FOUND,
            "webhook_endpoint_not_found",
        )
        assert_fails(
            lambda: caller(
                stub.SendTestWebhook, pb.SendTestWebhookRequest(endpoint_id=mine.endpoint_id)
            ),
            NOT_FOUND,
            "webhook_endpoint_not_found",
        )

    # A retry sends it again now, whatever its state.
    retried = t.platform(
        hooks(t.platform).RetryWebhookDelivery,
        pb.RetryWebhookDeliveryRequest(delivery_id=recorded.delivery_id),
    ).delivery
    assert retried.state == pb.WEBHOOK_DELIVERY_STATE_PENDING
    again = arrived(receiver, mine.path, 2)[1]
    assert again.headers["webhook-id"] == test.headers["webhook-id"]
    verified(mine.secret, again)
    eventually(
        lambda: deliveries(t.platform, endpoint_id=mine.endpoint_id)[0].attempts == 2 or None
    )


def test_a_retry_asked_for_while_an_attempt_is_out_sends_again(
    hook_server: RunningServer, receiver: Receiver
) -> None:
    shop = make_shop(hook_server)
    platform = shop.platform
    endpoint = create(platform, receiver, "subscription.created")
    receiver.delays[endpoint.path] = 1.5
    subscribe(platform, shop.plan_id)
    arrived(receiver, endpoint.path, 1)
    (out,) = deliveries(platform, endpoint_id=endpoint.endpoint_id)
    assert out.state == pb.WEBHOOK_DELIVERY_STATE_PENDING and out.attempts == 0
    receiver.delays[endpoint.path] = 0.0
    platform(
        hooks(platform).RetryWebhookDelivery,
        pb.RetryWebhookDeliveryRequest(delivery_id=out.delivery_id),
    )
    first, second = arrived(receiver, endpoint.path, 2)
    assert first.body == second.body
    eventually(
        lambda: [
            d
            for d in deliveries(platform, endpoint_id=endpoint.endpoint_id)
            if d.state == pb.WEBHOOK_DELIVERY_STATE_DELIVERED and d.attempts == 2
        ],
        what="both attempts recorded",
    )


# --- retention ---------------------------------------------------------------------------


def test_events_pruned_before_they_went_are_skipped_and_counted(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    receiver = start_receiver()
    running = start_server(
        fresh_backend_url, tmp_path, extra=(*ALLOW_PRIVATE, "--event-retention-days", "1")
    )
    try:
        shop = make_shop(running)
        platform, admin = shop.platform, shop.admin
        endpoint = create(platform, receiver, "subscription.created")
        receiver.answer(endpoint.path, 500)
        subscribe(platform, shop.plan_id)
        arrived(receiver, endpoint.path, 1)
        (waiting,) = eventually(
            lambda: [d for d in deliveries(platform) if d.attempts == 1 and d.last_status_code]
        )
        enabled = pb.WebhookEndpoint(endpoint_id=endpoint.endpoint_id, disabled=True)
        toggle = field_mask_pb2.FieldMask(paths=["disabled"])
        stub = hooks(platform)
        platform(
            stub.UpdateWebhookEndpoint,
            pb.UpdateWebhookEndpointRequest(endpoint=enabled, update_mask=toggle),
        )
        unsent = subscribe(platform, shop.plan_id).subscription
        owed = [e for e in listed_events(platform) if e.subscription_id == unsent.subscription_id]

        # Retention prunes both events while the endpoint is disabled.
        advance(admin, 2 * 86_400 + 60)
        enabled.disabled = False
        platform(
            stub.UpdateWebhookEndpoint,
            pb.UpdateWebhookEndpointRequest(endpoint=enabled, update_mask=toggle),
        )
        (skipped,) = eventually(
            lambda: deliveries(platform, state=pb.WEBHOOK_DELIVERY_STATE_SKIPPED),
            what="the delivery of a pruned event skipped",
        )
        assert skipped.delivery_id == waiting.delivery_id
        assert "pruned" in skipped.last_error
        time.sleep(1.0)
        assert len(receiver.at(endpoint.path)) == 1  # nothing pruned is sent, nothing else owed
        assert [d.delivery_id for d in deliveries(platform)] == [waiting.delivery_id]

        replayed = platform(
            stub.ReplayWebhookEvents,
            pb.ReplayWebhookEventsRequest(endpoint_id=endpoint.endpoint_id, after_sequence=0),
        )
        assert replayed.pruned_through >= max(e.sequence for e in owed) > 0
        assert replayed.scheduled == 0
    finally:
        running.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


# --- metrics ------------------------------------------------------------------------------


def test_metrics_count_attempts_by_outcome_and_the_retry_backlog(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    receiver = start_receiver()
    port = free_port()
    running = start_server(
        fresh_backend_url,
        tmp_path,
        extra=(*ALLOW_PRIVATE, "--metrics-address", f"127.0.0.1:{port}"),
    )

    try:
        shop = make_shop(running)
        good = create(shop.platform, receiver, "subscription.created")
        bad = create(shop.platform, receiver, "subscription.created")
        receiver.answer(bad.path, 500)
        subscribe(shop.platform, shop.plan_id)
        arrived(receiver, good.path, 1)
        arrived(receiver, bad.path, 1)
        eventually(
            lambda: (
                'bento_webhook_deliveries_total{outcome="delivered"} 1.0' in scrape(port)
                and 'bento_webhook_deliveries_total{outcome="http_status"} 1.0' in scrape(port)
            ),
            what="attempts counted",
        )
        # Read every few seconds: the failed one waits for its retry.
        eventually(
            lambda: "bento_webhook_retry_backlog 1.0" in scrape(port),
            timeout=15,
            what="the backlog",
        )
        # Only the failing endpoint has an undelivered event, first tried
        # where the test clock stands: an age of 0 until the clock moves.
        ages = [
            line
            for line in scrape(port).splitlines()
            if line.startswith("bento_webhook_oldest_undelivered_seconds{")
        ]
        assert ages == [
            f'bento_webhook_oldest_undelivered_seconds{{endpoint_id="{bad.endpoint_id}"}} 0.0'
        ], ages
    finally:
        running.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


# --- crashes and replicas --------------------------------------------------------------------


def test_a_kill_during_a_burst_loses_no_delivery(fresh_backend_url: str, tmp_path: Path) -> None:
    receiver = start_receiver()
    first = start_server(fresh_backend_url, tmp_path, extra=ALLOW_PRIVATE)
    try:
        shop = make_shop(first)
        endpoint = create(shop.platform, receiver)
        stop = threading.Event()
        # A burst of 500 events (each subscription writes two), cut by the
        # kill once deliveries are flowing.
        left = iter(range(250))

        def burst() -> None:
            while not stop.is_set() and next(left, None) is not None:
                try:
                    subscribe(shop.platform, shop.plan_id)
                except grpc.RpcError:
                    return

        writers = [threading.Thread(target=burst) for _ in range(3)]
        for writer in writers:
            writer.start()
        arrived(receiver, endpoint.path, 40)
        # Killed with writes in flight; its channels stay open until the
        # writers have seen the calls fail (closing them first would hand a
        # writer a closed channel instead of a failed call).
        first.process.kill()
        stop.set()
        for writer in writers:
            writer.join(30)
    finally:
        first.stop(signal.SIGKILL)
    second = start_server(fresh_backend_url, tmp_path, extra=ALLOW_PRIVATE)
    try:
        platform = second.caller(shop.platform.credential)
        owed = {e.event_id for e in listed_events(platform)}
        assert len(owed) >= 40

        def all_there() -> bool:
            got = {r.event["eventId"] for r in receiver.at(endpoint.path)}
            return owed <= got

        # Deliveries the killed server had claimed wait for their lease (30 s).
        eventually(all_there, timeout=120, what="every event after the restart")
        for got in receiver.at(endpoint.path):
            verified(endpoint.secret, got)
    finally:
        second.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


def test_two_replicas_deliver_each_event_once(fresh_backend_url: str, tmp_path: Path) -> None:
    if fresh_backend_url.startswith("sqlite"):
        pytest.skip("replicas share a PostgreSQL database")
    receiver = start_receiver()
    one = start_server(fresh_backend_url, tmp_path, extra=ALLOW_PRIVATE)
    two = start_server(fresh_backend_url, tmp_path, extra=ALLOW_PRIVATE)
    try:
        shop = make_shop(one)
        endpoints = [create(shop.platform, receiver) for _ in range(3)]
        on_two = two.caller(shop.platform.credential)
        for n in range(20):
            subscribe(shop.platform if n % 2 else on_two, shop.plan_id)
        owed = [e.event_id for e in listed_events(shop.platform)]
        for endpoint in endpoints:
            got = arrived(receiver, endpoint.path, len(owed), timeout=60)
            assert sorted(r.event["eventId"] for r in got) == sorted(owed)
        time.sleep(1.0)
        for endpoint in endpoints:
            ids = [r.headers["webhook-id"] for r in receiver.at(endpoint.path)]
            assert len(ids) == len(set(ids)) == len(owed)
            made = deliveries(shop.platform, endpoint_id=endpoint.endpoint_id)
            assert sorted(d.event_id for d in made) == sorted(owed)
            assert {(d.state, d.attempts) for d in made} == {
                (pb.WEBHOOK_DELIVERY_STATE_DELIVERED, 1)
            }
    finally:
        one.stop()
        two.stop()
        receiver.server.shutdown()
        receiver.server.server_close()
