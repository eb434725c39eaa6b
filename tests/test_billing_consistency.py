"""Nothing twice, nothing lost: concurrent payments, and one event per change
in commit order."""

from __future__ import annotations

import threading
from functools import partial

import grpc

from bento.v1 import enums_pb2, event_pb2, event_pb2_grpc, payment_pb2, subscription_pb2
from tests.billing_support import advance, make_shop, pay, subscribe
from tests.helpers.paging import every
from tests.support import Caller, RunningServer, assert_fails, failure

E = enums_pb2


def events_of(caller: Caller, subscription_id: str) -> list[event_pb2.Event]:
    stub = event_pb2_grpc.EventServiceStub(caller.channel)
    request = event_pb2.ListEventsRequest(subscription_id=subscription_id, page_size=100)
    return every(partial(caller, stub.ListEvents), request, "events")


def test_twenty_concurrent_payments_pay_an_invoice_once(server: RunningServer) -> None:
    shop = make_shop(server)
    created = subscribe(shop.platform, shop.plan_id)
    sub_id, invoice_id = created.subscription.subscription_id, created.invoice.invoice_id
    total = created.invoice.amounts.total_amount
    credential = shop.platform.credential
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        caller = server.caller(credential)
        barrier.wait()
        try:
            pay(caller, sub_id, invoice_id, total)
            outcome = "paid"
        except grpc.RpcError:
            got = failure(lambda: pay(caller, sub_id, invoice_id, total))
            outcome = got.reason
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("paid") == 1, outcomes
    assert set(outcomes) <= {"paid", "invoice_already_paid", "concurrent_modification"}, outcomes
    payments = shop.platform(
        shop.platform.payments.ListPayments,
        payment_pb2.ListPaymentsRequest(subscription_id=sub_id, invoice_id=invoice_id),
    ).payments
    assert len(payments) == 1
    types = [e.type for e in events_of(shop.platform, sub_id)]
    assert types.count("payment.succeeded") == 1
    assert types.count("invoice.paid") == 1
    assert types.count("subscription.activated") == 1
    assert types.count("activation.session.created") == 1


def test_every_change_has_exactly_one_event_in_commit_order(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub_id, invoice = created.subscription.subscription_id, created.invoice
    pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount, E.PAYMENT_RECORD_STATUS_FAILED)
    pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount)
    p(
        p.subscriptions.PauseSubscription,
        subscription_pb2.PauseSubscriptionRequest(subscription_id=sub_id),
    )
    advance(shop.admin, 3600)
    p(
        p.subscriptions.ResumeSubscription,
        subscription_pb2.ResumeSubscriptionRequest(subscription_id=sub_id),
    )
    p(
        p.subscriptions.UpdateSubscription,
        subscription_pb2.UpdateSubscriptionRequest(
            subscription_id=sub_id, payment_method_id="pm_9"
        ),
    )
    p(
        p.subscriptions.CancelSubscription,
        subscription_pb2.CancelSubscriptionRequest(subscription_id=sub_id),
    )
    p(
        p.subscriptions.RenewSubscription,
        subscription_pb2.RenewSubscriptionRequest(subscription_id=sub_id, uncancel=True),
    )
    p(
        p.subscriptions.CancelSubscription,
        subscription_pb2.CancelSubscriptionRequest(subscription_id=sub_id, cancel_now=True),
    )

    events = events_of(p, sub_id)
    assert [e.type for e in events] == [
        "subscription.created",
        "invoice.created",
        "payment.failed",
        "payment.succeeded",
        "invoice.paid",
        "subscription.activated",
        "activation.session.created",
        "subscription.paused",
        "subscription.resumed",
        "subscription.updated",
        "subscription.canceled",
        "subscription.updated",
        "subscription.canceled",
    ]
    sequences = [e.sequence for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert all(e.platform_id and e.subscription_id == sub_id for e in events)
    assert events[0].data["subscription"]["status"] == "pending"
    assert events[-1].data["subscription"]["status"] == "canceled"
    assert shop.tenancy.app_id in events[0].app_ids
    paid = next(e for e in events if e.type == "payment.succeeded")
    assert paid.invoice_id == invoice.invoice_id and paid.payment_id.startswith("PAY")


def test_a_refused_change_writes_no_event(server: RunningServer) -> None:
    shop = make_shop(server)
    created = subscribe(shop.platform, shop.plan_id)
    sub_id = created.subscription.subscription_id
    before = events_of(shop.platform, sub_id)
    failure(
        lambda: shop.platform(
            shop.platform.subscriptions.PauseSubscription,
            subscription_pb2.PauseSubscriptionRequest(subscription_id=sub_id),
        )
    )
    assert events_of(shop.platform, sub_id) == before


def test_events_are_scoped_to_the_caller(server: RunningServer) -> None:
    shop = make_shop(server)
    created = subscribe(shop.platform, shop.plan_id)
    sub_id = created.subscription.subscription_id
    # A subscription whose events the caller may not see is NOT_FOUND, as
    # GetSubscription says: an empty list would look like a quiet one.
    for stranger in (shop.tenancy.other_platform, shop.tenancy.other_publisher):
        assert_fails(
            lambda: events_of(stranger, sub_id),
            grpc.StatusCode.NOT_FOUND,
            "subscription_not_found",
        )
    publisher_view = events_of(shop.tenancy.publisher, sub_id)
    assert [e.type for e in publisher_view] == ["subscription.created"]
    assert len(events_of(shop.admin, sub_id)) == 2
