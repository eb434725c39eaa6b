"""What each role sees of an event, over the wire.

One scenario on a bundle of two publishers' apps writes every event type
there is. The admin and the platform see each event whole. Each publisher
sees only the subscription and activation events, and of each only the IDs,
its own app and an allow-listed part of ``data``: never the user's session,
the platform, invoices, payments, money, or the other app's items; in
ListEvents and WatchEvents alike. And both calls refuse a subscription filter
the caller may not see, and a cursor beyond the head of the log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2, timestamp_pb2

from bento.v1 import enums_pb2, event_pb2, event_pb2_grpc, tenant_pb2
from bento_server.billing.statuses import EventType
from tests.billing_support import (
    advance,
    get_subscription,
    list_invoices,
    make_shop,
    pay,
    subscribe,
)
from tests.helpers.paging import every
from tests.support import (
    Caller,
    RunningServer,
    assert_fails,
    make_key,
    phases,
    plan_request,
    unique,
)
from tests.test_activation import (
    Bundle,
    code_of,
    exchange,
    get_session,
    make_bundle,
    regenerate,
    session_created,
    update_item,
)
from tests.test_billing_clock import advance_to, current_invoice
from tests.test_billing_consistency import events_of
from tests.test_entitlements import record, usage
from tests.test_event_stream import Watcher
from tests.test_payments import list_payments, update_invoice
from tests.test_subscription_lifecycle import cancel, pause, resume, update

E = enums_pb2
DAY = 86_400
NOT_FOUND = grpc.StatusCode.NOT_FOUND
OUT_OF_RANGE = grpc.StatusCode.OUT_OF_RANGE
UNKNOWN_SUBSCRIPTION = "SUB0000000000000000042"

# --- the rule, written out here (not taken from the server), so that a server
# change that lets more through to publishers fails this test ------------------

# The types a publisher sees: never invoice, payment or usage events.
PUBLISHER_TYPES = frozenset(t for t in EventType if t.startswith(("subscription.", "activation.")))
# The keys of a publisher's `data`: the snapshots it may see, and words about
# the change that hold no money and no other party's data.
PUBLISHER_DATA_KEYS = frozenset(
    {
        "subscription",
        "activation_session",
        "activation_item",
        "status",
        "reason",
        "change",
        "cancel_now",
        "session_status",
        "from_plan_id",
    }
)
# Of the subscription snapshot: its status, activation status and session,
# period, trial and cancellation. Not its session, platform, payment status
# or cycles.
PUBLISHER_SUBSCRIPTION_KEYS = frozenset(
    {
        "subscription_id",
        "plan_id",
        "status",
        "activation_status",
        "activation_session_id",
        "period_start",
        "period_end",
        "trial_end",
        "cancel_at_period_end",
        "canceled_at",
        "ended_at",
        "end_reason",
    }
)
PUBLISHER_SESSION_KEYS = frozenset({"activation_session_id", "status", "items"})
# Of an activation item, its own app's only.
PUBLISHER_ITEM_KEYS = frozenset(
    {"app_id", "product_id", "status", "jti", "user_id", "error_reason"}
)


# --- reading the log ----------------------------------------------------------------------


def list_events(caller: Caller, **request: Any) -> list[event_pb2.Event]:
    """Every event ListEvents gives ``caller`` for ``request``, paging to the end."""
    stub = event_pb2_grpc.EventServiceStub(caller.channel)
    listing = event_pb2.ListEventsRequest(page_size=100, **request)
    return every(partial(caller, stub.ListEvents), listing, "events")


def events_of_all(caller: Caller, subscription_ids: list[str]) -> list[event_pb2.Event]:
    """The events of several subscriptions as ``caller`` lists them, in log order."""
    found = [e for sub_id in subscription_ids for e in events_of(caller, sub_id)]
    return sorted(found, key=lambda e: e.sequence)


def streamed(caller: Caller, after_sequence: int) -> list[event_pb2.Event]:
    """What WatchEvents replays to ``caller`` after ``after_sequence``, up to
    the heartbeat that marks the end of the replay."""
    watcher = Watcher(caller, after_sequence=after_sequence)
    try:
        return watcher.events_until_heartbeat()
    finally:
        watcher.close()


def as_dict(message: Any) -> Any:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def strings_in(value: Any) -> Iterator[str]:
    """Every key and string value inside ``value`` (dicts and lists, recursively)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


def dicts_in(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from dicts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from dicts_in(item)


def is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def assert_allow_listed(event_type: str, data: dict[str, Any]) -> None:
    """Every key of a publisher's ``data``, at every depth, is in the allow-list."""
    where = f"{event_type}: {data}"
    assert set(data) <= PUBLISHER_DATA_KEYS, where
    for key, value in data.items():
        if key == "subscription":
            assert set(value) <= PUBLISHER_SUBSCRIPTION_KEYS, where
            assert all(is_scalar(v) for v in value.values()), where
        elif key == "activation_session":
            assert set(value) <= PUBLISHER_SESSION_KEYS, where
            assert is_scalar(value.get("activation_session_id")), where
            assert is_scalar(value.get("status")), where
            for item in value.get("items", []):
                assert set(item) <= PUBLISHER_ITEM_KEYS, where
                assert all(is_scalar(v) for v in item.values()), where
        elif key == "activation_item":
            assert set(value) <= PUBLISHER_ITEM_KEYS, where
            assert all(is_scalar(v) for v in value.values()), where
        else:
            assert is_scalar(value), where


def publisher_data(data: dict[str, Any], app_id: str) -> dict[str, Any]:
    """The whole event's ``data`` cut down to what the publisher of ``app_id``
    is owed by the rule: the allow-listed keys, and its own app's items."""
    seen: dict[str, Any] = {
        k: v for k, v in data.items() if k in PUBLISHER_DATA_KEYS and is_scalar(v)
    }
    if "subscription" in data:
        seen["subscription"] = {
            k: v for k, v in data["subscription"].items() if k in PUBLISHER_SUBSCRIPTION_KEYS
        }
    if "activation_session" in data:
        session = data["activation_session"]
        seen["activation_session"] = {
            "activation_session_id": session["activation_session_id"],
            "status": session["status"],
            "items": [
                {k: v for k, v in item.items() if k in PUBLISHER_ITEM_KEYS}
                for item in session["items"]
                if item["app_id"] == app_id
            ],
        }
    item = data.get("activation_item")
    if item is not None and item["app_id"] == app_id:
        seen["activation_item"] = {k: v for k, v in item.items() if k in PUBLISHER_ITEM_KEYS}
    return seen


def later(*instants: timestamp_pb2.Timestamp) -> timestamp_pb2.Timestamp:
    return max(instants, key=lambda t: (t.seconds, t.nanos))


# --- the scenario ------------------------------------------------------------------------


@dataclass
class Scene:
    """What the scenario made, and what a publisher must never learn of it."""

    bundle: Bundle  # its platform is the single-active one the scenario sells on
    platform_id: str
    session_id: str
    subscription_id: str  # the user's first subscription, which goes through each step
    higher_id: str  # the same user's higher tier, which pauses it for a while
    payment_method_id: str
    email: str
    user_ids: dict[str, str]  # app_id -> the user ID its publisher confirmed

    @property
    def subscription_ids(self) -> list[str]:
        return [self.subscription_id, self.higher_id]


def play(server: RunningServer) -> Scene:
    """One user's life on a bundle of two apps, writing every event type.

    Which call writes what is noted at each step.
    """
    base = make_bundle(server)  # its two apps' products; its own platform's plan goes unused
    t, admin = base.tenancy, base.admin
    a, b = t.app_id, t.other_app_id
    # A platform with Subgate's plan levels, so that a higher tier pauses a lower one.
    seller = admin(
        admin.tenant.CreatePlatform,
        tenant_pb2.CreatePlatformRequest(
            name=unique("platform"), fee_rate=0.15, single_active_subscription=True
        ),
    ).platform
    p = server.caller(make_key(admin, E.ROLE_PLATFORM, seller.platform_id))
    products = [base.products[app_id].product_id for app_id in (a, b)]

    def plan(**overrides: Any) -> str:
        return p(p.catalog.CreatePlan, plan_request(products, **overrides)).plan.plan_id

    first_plan = plan(can_pause=True)
    moved_plan = plan(can_pause=True, prices={"US": phases((1999, None))})
    higher_plan = plan(tier=2)
    bundle = dataclasses.replace(base, platform=p, plan_id=first_plan)
    session = unique("session")
    payment_method = unique("pm")
    email = f"{unique('user')}@example.com"
    users = {a: unique("user-a"), b: unique("user-b")}

    # subscription.created, invoice.created
    created = subscribe(p, first_plan, session_id=session)
    sub = created.subscription.subscription_id
    first = created.invoice
    total = first.amounts.total_amount
    # invoice.updated: payment details without a payment.
    update_invoice(p, sub, first.invoice_id, payment_method_id=payment_method)
    # payment.recorded: a payment that moves no money yet.
    pay(p, sub, first.invoice_id, total, E.PAYMENT_RECORD_STATUS_PROCESSING)
    # payment.succeeded, invoice.paid, subscription.activated, activation.session.created
    pay(p, sub, first.invoice_id, total)
    activation = session_created(p, sub).activation_session_id

    # activation.codes.regenerated, for both apps.
    codes = {
        u.app_id: code_of(bundle, u)
        for u in regenerate(p, activation, regenerate_all=True, force=True).activation_urls
    }
    # activation.item.updated: exchanged, then confirmed or failed, by each publisher.
    exchange(t.publisher, codes[a])
    update_item(t.publisher, activation, a, E.ACTIVATION_ITEM_STATUS_ACTIVATED, user_id=users[a])
    exchange(t.other_publisher, codes[b])
    update_item(
        t.other_publisher,
        activation,
        b,
        E.ACTIVATION_ITEM_STATUS_FAILED,
        error_reason="account_creation_failed",
    )
    # activation.codes.regenerated for the app that failed, which then succeeds.
    (url,) = regenerate(p, activation, app_ids=[b]).activation_urls
    exchange(t.other_publisher, code_of(bundle, url))
    update_item(
        t.other_publisher, activation, b, E.ACTIVATION_ITEM_STATUS_ACTIVATED, user_id=users[b]
    )

    # payment.refunded
    pay(
        p,
        sub,
        first.invoice_id,
        -100,
        E.PAYMENT_RECORD_STATUS_REFUNDED,
        refund_reason="requested_by_customer",
    )
    # subscription.updated: the user's metadata.
    metadata = struct_pb2.Struct()
    metadata.update({"email": email})
    update(p, sub, metadata=metadata)
    # subscription.paused, subscription.resumed, by hand.
    pause(p, sub)
    advance(admin, 3600)
    resume(p, sub)

    # usage.reset once the quota's window ends; at the period's end the next
    # one starts with an open invoice: invoice.created, subscription.updated.
    record(p, sub, "downloads", 3)
    (downloads,) = usage(p, sub, "downloads")
    due = get_subscription(p, sub).billing.next_billing_date
    advance_to(admin, later(downloads.resets_at, due), extra_seconds=1)
    renewal = current_invoice(p, sub)
    assert renewal.plan.billing_cycle == 2
    owed = renewal.amounts.total_amount
    # payment.failed, subscription.past_due
    pay(p, sub, renewal.invoice_id, owed, E.PAYMENT_RECORD_STATUS_FAILED, error_code="declined")
    # payment.succeeded, invoice.paid, subscription.renewed
    pay(p, sub, renewal.invoice_id, owed)

    # subscription.plan_changed (with its proration credit), invoice.created; then paid.
    changed = update(p, sub, plan_id=moved_plan).invoice
    pay(p, sub, changed.invoice_id, changed.amounts.total_amount)

    # The same user takes a higher tier: once it is paid, the first one is
    # paused for it (subscription.paused, with paused_for).
    higher = subscribe(p, higher_plan, session_id=session)
    higher_id = higher.subscription.subscription_id
    pay(p, higher_id, higher.invoice.invoice_id, higher.invoice.amounts.total_amount)
    # Its codes are never used: activation.item.updated (expired) for both apps.
    advance(admin, 7 * DAY + 60)
    # It ends now (subscription.canceled, with the refund due); the first resumes.
    cancel(p, higher_id, cancel_now=True)

    # subscription.canceled at period end, subscription.updated (uncanceled),
    # subscription.canceled now.
    cancel(p, sub)
    update(p, sub, status=E.SUBSCRIPTION_STATUS_ACTIVE)
    cancel(p, sub, cancel_now=True)

    return Scene(bundle, seller.platform_id, session, sub, higher_id, payment_method, email, users)


# --- the views ----------------------------------------------------------------------------


def test_each_role_sees_each_event_type_as_the_view_rule_says(server: RunningServer) -> None:
    scene = play(server)
    b = scene.bundle
    t, admin, platform = b.tenancy, b.admin, b.platform
    subs = scene.subscription_ids
    whole = events_of_all(admin, subs)
    start = whole[0].sequence - 1

    # The scenario wrote every event type of a subscription there is. An
    # endpoint's own events (webhook_endpoint.disabled, after 3 days of
    # failures) concern no subscription; tests/test_webhook_deliveries.py
    # checks who sees them.
    endpoint_types = {t for t in EventType if t.startswith("webhook_endpoint.")}
    assert {e.type for e in whole} == set(EventType) - endpoint_types

    # The platform sees each event whole: as the admin does.
    assert events_of_all(platform, subs) == whole
    assert {(e.session_id, e.platform_id) for e in whole} == {(scene.session_id, scene.platform_id)}
    for event in whole:
        assert event.data["subscription"]["session_id"] == scene.session_id
        assert event.data["subscription"]["platform_id"] == scene.platform_id
        if event.type.startswith("invoice."):
            assert event.invoice_id
            assert event.data["invoice"]["invoice_id"] == event.invoice_id
            assert "total_amount" in event.data["invoice"]
        if event.type.startswith("payment."):
            assert event.payment_id
            assert event.data["payment"]["payment_id"] == event.payment_id
            assert "amount" in event.data["payment"]
        if event.type == "activation.session.created":
            items = event.data["activation_session"]["items"]
            assert {i["app_id"] for i in items} == set(b.apps)
        assert_typed_payload(event)
    # Once activation opened, the subscription's events name its session.
    assert any(e.subscription.activation.activation_session_id for e in whole)
    (plan_changed,) = [e for e in whole if e.type == "subscription.plan_changed"]
    assert plan_changed.data["proration_credit"] > 0
    assert any(e.invoice_id for e in whole if e.type == "subscription.activated")
    assert [e.data["paused_for"] for e in whole if "paused_for" in e.data] == [scene.higher_id]
    assert any(e.data["refund_due"] > 0 for e in whole if "refund_due" in e.data)
    assert streamed(platform, start) == whole

    # What no publisher may learn.
    invoices = [i.invoice_id for sub_id in subs for i in list_invoices(platform, sub_id)]
    payments = [
        payment.payment_id
        for sub_id in subs
        for invoice in list_invoices(platform, sub_id)
        for payment in list_payments(platform, sub_id, invoice.invoice_id)
    ]
    assert {e.invoice_id for e in whole if e.invoice_id} <= set(invoices)
    assert {e.payment_id for e in whole if e.payment_id} <= set(payments)
    secret = {
        scene.session_id,
        scene.platform_id,
        scene.payment_method_id,
        scene.email,
        *invoices,
        *payments,
    }
    sessions = {e.activation_session_id for e in whole if e.activation_session_id}
    jtis: dict[str, set[str]] = {app_id: set() for app_id in b.apps}
    for event in whole:
        for found in dicts_in(as_dict(event.data)):
            if found.get("jti"):
                jtis[found["app_id"]].add(found["jti"])
    for session_id in sessions:
        for item in get_session(admin, session_id).activation_items:
            jtis[item.app_id].add(item.jti)

    scene_types = {e.type for e in whole}
    for own, other in ((t.app_id, t.other_app_id), (t.other_app_id, t.app_id)):
        publisher = b.publisher_of(own)
        hidden = secret | {other, b.products[other].product_id, scene.user_ids[other]}
        hidden |= jtis[other]
        seen = events_of_all(publisher, subs)

        # Every subscription event of its plans, and the activation events of its app.
        owed = [
            e
            for e in whole
            if e.type.startswith("subscription.")
            or (e.type.startswith("activation.") and own in e.app_ids)
        ]
        assert [e.event_id for e in seen] == [e.event_id for e in owed]
        assert {e.type for e in seen} == {
            kind for kind in scene_types if not kind.startswith(("invoice.", "payment.", "usage."))
        }
        assert {e.type for e in seen} == PUBLISHER_TYPES  # at least one of each

        for copy, original in zip(seen, owed, strict=True):
            assert (
                copy.sequence,
                copy.event_id,
                copy.type,
                copy.occurred_at,
                copy.subscription_id,
                copy.plan_id,
                copy.activation_session_id,
            ) == (
                original.sequence,
                original.event_id,
                original.type,
                original.occurred_at,
                original.subscription_id,
                original.plan_id,
                original.activation_session_id,
            )
            assert (copy.session_id, copy.platform_id, copy.invoice_id, copy.payment_id) == (
                "",
                "",
                "",
                "",
            ), copy
            assert list(copy.app_ids) == [own], copy
            data = as_dict(copy.data)
            assert_allow_listed(copy.type, data)
            assert data == publisher_data(as_dict(original.data), own), copy.type
            assert_typed_payload(copy)
            if copy.HasField("subscription"):
                # The typed payload shows no more than the view's data.
                assert copy.subscription.session_id == copy.subscription.platform_id == ""
                assert copy.subscription.payment_status == 0
                assert not copy.subscription.billing.cycle_count
            leaks = [s for s in strings_in(as_dict(copy)) if any(h in s for h in hidden)]
            assert leaks == [], (copy.type, leaks)
            if copy.type == "activation.session.created":
                (item,) = data["activation_session"]["items"]
                assert item["app_id"] == own
                assert item["jti"].startswith("at_")
                assert item["jti"] in jtis[own]

        # WatchEvents hands out exactly the same copies.
        assert streamed(publisher, start) == seen


def assert_typed_payload(event: event_pb2.Event) -> None:
    """An event's payload is the message of what it is about, and says what
    its ``data`` says, in the API's own types (enumerations by name, instants
    as Timestamps, money as integers)."""
    data = as_dict(event.data)
    kind = event.type.partition(".")[0]
    case = event.WhichOneof("payload")
    if kind == "subscription":
        assert case == "subscription", event.type
        snapshot, typed = data["subscription"], event.subscription
        assert typed.subscription_id == event.subscription_id == snapshot["subscription_id"]
        assert E.SubscriptionStatus.Name(typed.status) == (
            f"SUBSCRIPTION_STATUS_{snapshot['status'].upper()}"
        )
        assert typed.period.end.ToJsonString() == snapshot["period_end"]
        assert typed.activation.activation_session_id == (snapshot["activation_session_id"] or "")
        assert E.ActivationStatus.Name(typed.activation_status).endswith(
            snapshot["activation_status"].upper()
        )
    elif kind == "invoice":
        assert case == "invoice", event.type
        assert typed_money(event.invoice.amounts.total_amount, data["invoice"]["total_amount"])
        assert event.invoice.invoice_id == event.invoice_id
        assert E.InvoiceStatus.Name(event.invoice.status) == (
            f"INVOICE_STATUS_{data['invoice']['status'].upper()}"
        )
    elif kind == "payment":
        assert case == "payment", event.type
        assert event.payment.payment_id == event.payment_id
        assert typed_money(event.payment.amount, data["payment"]["amount"])
    elif kind == "activation":
        assert case in ("activation_session", "activation_item"), event.type
        if case == "activation_item":
            assert event.activation_item.jti == data["activation_item"]["jti"]
        else:
            session = event.activation_session
            assert session.activation_session_id == event.activation_session_id
            items = data["activation_session"]["items"]
            assert [i.app_id for i in session.activation_items] == [i["app_id"] for i in items]
    elif kind == "usage":
        assert case == "usage", event.type
        assert event.usage.feature_code == data["feature_code"]
        assert event.usage.used == 0 and event.usage.limit == data["limit"] > 0
    else:
        raise AssertionError(f"no payload expected for {event.type}")


def typed_money(typed: int, in_data: float) -> bool:
    return typed == int(in_data)


# --- filters and cursors ------------------------------------------------------------------


def test_a_subscription_filter_must_name_one_the_caller_may_see(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    bundled = subscribe(p, b.plan_id).subscription.subscription_id
    single = p(p.catalog.CreatePlan, plan_request([b.products[t.app_id].product_id])).plan.plan_id
    alone = subscribe(p, single).subscription.subscription_id

    refused = [
        (t.other_publisher, alone),  # its app is not in the plan
        (t.other_platform, bundled),
        (t.other_platform, alone),
        *((caller, UNKNOWN_SUBSCRIPTION) for caller in (b.admin, p, t.publisher)),
    ]
    for caller, sub_id in refused:
        assert_fails(
            lambda: list_events(caller, subscription_id=sub_id),
            NOT_FOUND,
            "subscription_not_found",
        )
        assert_fails(
            Watcher(caller, subscription_id=sub_id).next, NOT_FOUND, "subscription_not_found"
        )

    accepted = [
        (b.admin, bundled),
        (p, bundled),
        (p, alone),
        (t.publisher, bundled),
        (t.publisher, alone),
        (t.other_publisher, bundled),
    ]
    for caller, sub_id in accepted:
        listed = list_events(caller, subscription_id=sub_id)
        assert [e.type for e in listed][:1] == ["subscription.created"]
        assert {e.subscription_id for e in listed} == {sub_id}
        watcher = Watcher(caller, subscription_id=sub_id)
        try:
            assert watcher.events_until_heartbeat() == listed
        finally:
            watcher.close()


def test_a_cursor_beyond_the_head_is_out_of_range(server: RunningServer) -> None:
    shop = make_shop(server)
    sub_id = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
    head = events_of(shop.admin, sub_id)[-1].sequence  # the newest event of the log
    for caller in (shop.admin, shop.platform, shop.tenancy.publisher):
        for ahead in (head + 1, head + 1_000_000):
            assert_fails(
                lambda: list_events(caller, after_sequence=ahead),
                OUT_OF_RANGE,
                "cursor_ahead_of_log",
            )
            assert_fails(
                Watcher(caller, after_sequence=ahead).next, OUT_OF_RANGE, "cursor_ahead_of_log"
            )
        # At the head is no cursor from elsewhere: nothing to list, and the
        # stream starts with a heartbeat naming the head.
        assert list_events(caller, after_sequence=head) == []
        watcher = Watcher(caller, after_sequence=head)
        try:
            first = watcher.next()
            assert first.HasField("heartbeat"), first
            assert first.heartbeat.newest_sequence == head
        finally:
            watcher.close()
