"""Crash safety: what a server acknowledged survives SIGKILL, nothing is half
written, and retries with the same idempotency keys happen exactly once.

The store checker (``tests.consistency``) is proved here too: a store after
every kind of change passes it, and a store with one thing broken fails it,
naming the thing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bento.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    entitlement_pb2,
    entitlement_pb2_grpc,
    enums_pb2,
    event_pb2,
    event_pb2_grpc,
    invoice_pb2,
    subscription_pb2,
    tenant_pb2,
)
from tests.billing_support import Shop, advance, make_shop, pay, subscribe
from tests.consistency import assert_consistent
from tests.support import (
    Caller,
    RunningServer,
    make_key,
    phases,
    start_server,
    unique,
)

E = enums_pb2
DAY = 86_400


# --- calls the flows share --------------------------------------------------------


def _subscriptions(caller: Caller, method: str, **fields: Any) -> Any:
    """Calls a SubscriptionService method (or ListInvoices) by name."""
    if method == "ListInvoices":
        return caller(caller.invoices.ListInvoices, invoice_pb2.ListInvoicesRequest(**fields))
    request_type = getattr(subscription_pb2, f"{method}Request")
    return caller(getattr(caller.subscriptions, method), request_type(**fields))


def _code(url: str) -> str:
    return url.rpartition("code=")[2]


def _exchange_and_confirm(shop: Shop, paid: Any) -> None:
    publisher = shop.tenancy.publisher
    stub = activation_pb2_grpc.ActivationServiceStub(publisher.channel)
    for issued in paid.activation_urls:
        exchanged = publisher(
            stub.ExchangeActivationCode,
            activation_pb2.ExchangeActivationCodeRequest(
                activation_code=_code(issued.activation_url)
            ),
        )
        publisher(
            stub.UpdateActivationItem,
            activation_pb2.UpdateActivationItemRequest(
                activation_session_id=exchanged.activation_session_id,
                item_id=exchanged.app_id,
                status=E.ACTIVATION_ITEM_STATUS_ACTIVATED,
                user_id="user-1",
            ),
        )


def _record_usage(caller: Caller, subscription_id: str, quantity: int) -> Any:
    stub = entitlement_pb2_grpc.EntitlementServiceStub(caller.channel)
    return caller(
        stub.RecordUsage,
        entitlement_pb2.RecordUsageRequest(
            subscription_id=subscription_id, feature_code="downloads", quantity=quantity
        ),
    )


# --- the checker ---------------------------------------------------------------------


def _every_kind_of_change(server: RunningServer, check: Callable[[], None]) -> Shop:
    """Drives a store through every change the billing API makes, calling
    ``check`` before and after the clock moves (its sweep writes newer events
    for every subscription)."""
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    cheaper = shop.plan(prices={"US": phases((499, None))}, can_pause=True)
    dearer = shop.plan(prices={"US": phases((1999, None))}, can_pause=True)
    trial = shop.plan(free_trial_days=7)

    # Paid, activated, used, paused and resumed, paid ahead, refunded, canceled at period end.
    created = subscribe(p, shop.plan_id, tax_rate=0.0875, tax_behavior=E.TAX_BEHAVIOR_EXCLUSIVE)
    first = created.subscription.subscription_id
    paid = pay(p, first, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    _exchange_and_confirm(shop, paid)
    _record_usage(p, first, 2)
    _subscriptions(p, "PauseSubscription", subscription_id=first)
    advance(shop.admin, 3600)
    _subscriptions(p, "ResumeSubscription", subscription_id=first)
    ahead = _subscriptions(p, "RenewSubscription", subscription_id=first, cycles=1).invoices[0]
    pay(p, first, ahead.invoice_id, ahead.amounts.total_amount)
    pay(
        p,
        first,
        created.invoice.invoice_id,
        -300,
        E.PAYMENT_RECORD_STATUS_SUCCEEDED,
        original_payment_id=paid.payment.payment_id,
        refund_reason="goodwill",
    )
    _subscriptions(p, "CancelSubscription", subscription_id=first)

    # A failed first payment: still pending.
    created = subscribe(p, shop.plan_id)
    pay(
        p,
        created.subscription.subscription_id,
        created.invoice.invoice_id,
        created.invoice.amounts.total_amount,
        E.PAYMENT_RECORD_STATUS_FAILED,
    )

    # Paid, then a dearer plan (a prorated invoice left open) and a cheaper
    # one (the credit pays the whole invoice).
    for plan_id in (dearer, cheaper):
        created = subscribe(p, shop.plan_id)
        sub_id = created.subscription.subscription_id
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        _subscriptions(p, "UpdateSubscription", subscription_id=sub_id, plan_id=plan_id)

    # A trial; an invoice marked paid by hand; a cancel now.
    subscribe(p, trial)
    created = subscribe(p, shop.plan_id)
    p(
        p.invoices.UpdateInvoice,
        invoice_pb2.UpdateInvoiceRequest(
            subscription_id=created.subscription.subscription_id,
            invoice_id=created.invoice.invoice_id,
            payment_status=E.PAYMENT_STATUS_PAID,
        ),
    )
    created = subscribe(p, shop.plan_id)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    _subscriptions(p, "CancelSubscription", subscription_id=sub_id, cancel_now=True)

    # Paid ahead, as its last change.
    created = subscribe(p, shop.plan_id)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    ahead = _subscriptions(p, "RenewSubscription", subscription_id=sub_id, cycles=1).invoices[0]
    pay(p, sub_id, ahead.invoice_id, ahead.amounts.total_amount)

    # Renewed by the clock: a failed renewal (past due) that lapses after
    # grace, and a renewal paid after a cancel at period end.
    renewing = []
    for _ in range(2):
        created = subscribe(p, shop.plan_id)
        sub_id = created.subscription.subscription_id
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        renewing.append(sub_id)
    check()
    advance(shop.admin, 32 * DAY)
    lapsing, late = (
        (sub_id, _subscriptions(p, "ListInvoices", subscription_id=sub_id).invoices[0])
        for sub_id in renewing
    )
    pay(p, lapsing[0], lapsing[1].invoice_id, 1699, E.PAYMENT_RECORD_STATUS_FAILED)
    _subscriptions(p, "CancelSubscription", subscription_id=late[0])
    pay(p, late[0], late[1].invoice_id, late[1].amounts.total_amount)
    check()
    advance(shop.admin, 10 * DAY)

    # One active subscription per user: a higher tier pauses the lower one.
    single = shop.admin(
        shop.admin.tenant.CreatePlatform,
        tenant_pb2.CreatePlatformRequest(
            name=unique("single"), fee_rate=0.1, single_active_subscription=True
        ),
    ).platform
    sp = server.caller(make_key(shop.admin, E.ROLE_PLATFORM, single.platform_id))
    low = sp(sp.catalog.CreatePlan, _plan(shop, tier=1)).plan.plan_id
    high = sp(sp.catalog.CreatePlan, _plan(shop, tier=2)).plan.plan_id
    created = subscribe(sp, low, session_id="one-user")
    pay(
        sp,
        created.subscription.subscription_id,
        created.invoice.invoice_id,
        created.invoice.amounts.total_amount,
    )
    subscribe(sp, high, session_id="one-user")
    check()
    return shop


def _plan(shop: Shop, **overrides: Any) -> Any:
    from tests.support import plan_request

    return plan_request([shop.product_id], **overrides)


def test_a_store_after_every_kind_of_change_is_consistent(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    server = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        _every_kind_of_change(server, lambda: assert_consistent(fresh_backend_url))
    finally:
        server.stop()


def _events(caller: Caller, after_sequence: int = 0) -> list[event_pb2.Event]:
    stub = event_pb2_grpc.EventServiceStub(caller.channel)
    found: list[event_pb2.Event] = []
    token = ""
    while True:
        page = caller(
            stub.ListEvents,
            event_pb2.ListEventsRequest(
                after_sequence=after_sequence, page_size=100, page_token=token
            ),
        )
        found.extend(page.events)
        token = page.next_page_token
        if not token:
            return found


def test_events_after_retention_emptied_the_log_number_on_from_the_pruned_ones(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    server = start_server(
        fresh_backend_url, tmp_path, test_clock=True, extra=("--event-retention-days", "1")
    )
    try:
        shop = make_shop(server)
        subscribe(shop.platform, shop.plan_id)
        seen = _events(shop.admin)[-1].sequence
        advance(shop.admin, 2 * DAY)  # the sweep prunes every event
        assert _events(shop.admin) == []
        new = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        # A watcher that saw `seen` resumes from it and misses nothing.
        resumed = _events(shop.admin, after_sequence=seen)
        assert [e.type for e in resumed] == ["subscription.created", "invoice.created"]
        assert {e.subscription_id for e in resumed} == {new}
        assert all(e.sequence > seen for e in resumed)
        assert_consistent(fresh_backend_url)
    finally:
        server.stop()
