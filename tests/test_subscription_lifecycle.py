"""The life of a subscription over the wire: cancel and uncancel, pause and
resume, status changes, renewals, listing, tenancy, creation refusals, free
trials, plan changes with proration credit, and Subgate's plan tiers."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2, timestamp_pb2

from bento.v1 import (
    catalog_pb2,
    common_pb2,
    enums_pb2,
    event_pb2,
    event_pb2_grpc,
    invoice_pb2,
    payment_pb2,
    subscription_pb2,
)
from tests.billing_support import (
    Shop,
    advance,
    get_invoice,
    get_subscription,
    list_invoices,
    make_shop,
    now,
    pay,
    subscribe,
)
from tests.helpers.paging import every, pages
from tests.helpers.rpcs import rpcs_of
from tests.support import Caller, RunningServer, assert_fails, phases, plan_request, unique

E = enums_pb2
S = subscription_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DAY = 86_400
# The default plan_request: 999 for three monthly cycles, then 1699.
FIRST_PRICE = 999


# --- helpers ------------------------------------------------------------------


def dt(ts: timestamp_pb2.Timestamp) -> datetime:
    """A Timestamp as a naive UTC datetime, for differences."""
    return ts.ToDatetime()


def update(caller: Caller, subscription_id: str, **fields: Any) -> S.UpdateSubscriptionResponse:
    return caller(
        caller.subscriptions.UpdateSubscription,
        S.UpdateSubscriptionRequest(subscription_id=subscription_id, **fields),
    )


def cancel(caller: Caller, subscription_id: str, cancel_now: bool = False) -> S.Subscription:
    return caller(
        caller.subscriptions.CancelSubscription,
        S.CancelSubscriptionRequest(subscription_id=subscription_id, cancel_now=cancel_now),
    ).subscription


def pause(caller: Caller, subscription_id: str) -> S.Subscription:
    return caller(
        caller.subscriptions.PauseSubscription,
        S.PauseSubscriptionRequest(subscription_id=subscription_id),
    ).subscription


def resume(caller: Caller, subscription_id: str) -> S.Subscription:
    return caller(
        caller.subscriptions.ResumeSubscription,
        S.ResumeSubscriptionRequest(subscription_id=subscription_id),
    ).subscription


def renew(
    caller: Caller, subscription_id: str, cycles: int = 0, uncancel: bool = False
) -> S.RenewSubscriptionResponse:
    return caller(
        caller.subscriptions.RenewSubscription,
        S.RenewSubscriptionRequest(
            subscription_id=subscription_id, cycles=cycles, uncancel=uncancel
        ),
    )


def paid_subscription(
    shop: Shop, plan_id: str | None = None, session_id: str | None = None, **fields: Any
) -> tuple[S.Subscription, invoice_pb2.Invoice]:
    """A subscription whose first invoice is paid in full: active and paid."""
    p = shop.platform
    created = subscribe(p, plan_id or shop.plan_id, session_id=session_id, **fields)
    sub, invoice = created.subscription, created.invoice
    pay(p, sub.subscription_id, invoice.invoice_id, invoice.amounts.total_amount)
    active = get_subscription(p, sub.subscription_id)
    assert (active.status, active.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
    )
    return active, get_invoice(p, sub.subscription_id, invoice.invoice_id)


def list_subscriptions(caller: Caller, **filters: Any) -> list[str]:
    """Every subscription ID the caller lists with ``filters``, paging to the end."""
    request = S.ListSubscriptionsRequest(page_size=100, **filters)
    listing = partial(caller, caller.subscriptions.ListSubscriptions)
    return [s.subscription_id for s in every(listing, request, "subscriptions")]


def update_plan_status(caller: Caller, plan_id: str, status: int) -> None:
    caller(
        caller.catalog.UpdatePlan,
        catalog_pb2.UpdatePlanRequest(
            plan=catalog_pb2.Plan(plan_id=plan_id, status=status),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        ),
    )


def every_30_days() -> common_pb2.BillingFrequency:
    return common_pb2.BillingFrequency(unit=E.BILLING_UNIT_DAY, value=30)


# --- cancel at period end, uncancel ------------------------------------------------


def test_cancel_at_period_end_keeps_access_until_the_period_ends(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    at = now(shop.admin)
    canceled = cancel(p, sub.subscription_id)
    assert canceled.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.cancellation.cancel_at_period_end is True
    assert canceled.cancellation.canceled_at == at
    assert canceled.cancellation.ended_at == sub.period.end
    # The period is untouched; no further invoices.
    assert canceled.period == sub.period
    assert get_subscription(p, sub.subscription_id) == canceled
    assert len(list_invoices(p, sub.subscription_id)) == 1


def test_uncancel_through_renew_restores_the_subscription(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    cancel(p, sub.subscription_id)
    advance(shop.admin, DAY)
    renewed = renew(p, sub.subscription_id, uncancel=True)
    assert renewed.invoices == [], "uncancel alone issues no invoice"
    back = renewed.subscription
    assert (back.status, back.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
    )
    assert back.cancellation == S.Cancellation()
    assert not back.cancellation.HasField("canceled_at")
    assert not back.cancellation.HasField("ended_at")
    assert back.period == sub.period
    assert back.billing.next_billing_date == sub.period.end
    assert get_subscription(p, sub.subscription_id) == back


def test_uncancel_through_update_restores_the_subscription(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    canceled = update(p, sub.subscription_id, cancel_at_period_end=True).subscription
    assert canceled.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.cancellation.cancel_at_period_end is True
    assert canceled.cancellation.ended_at == sub.period.end
    back = update(p, sub.subscription_id, cancel_at_period_end=False).subscription
    assert back.status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert back.cancellation == S.Cancellation()
    assert back.billing.next_billing_date == sub.period.end
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_ACTIVE


def test_uncancel_after_the_period_ended_is_refused(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    canceled = cancel(p, sub.subscription_id)
    ended_at = dt(canceled.cancellation.ended_at)
    moved = advance(shop.admin, int((ended_at - dt(now(shop.admin))).total_seconds()) + 1)
    assert dt(moved) > ended_at
    assert_fails(
        lambda: renew(p, sub.subscription_id, uncancel=True),
        PRECONDITION,
        "invalid_status_transition",
    )
    assert_fails(
        lambda: update(p, sub.subscription_id, cancel_at_period_end=False),
        PRECONDITION,
        "invalid_status_transition",
    )
    still = get_subscription(p, sub.subscription_id)
    assert still.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert still.cancellation.ended_at == canceled.cancellation.ended_at


# --- cancel now ---------------------------------------------------------------------


def test_cancel_now_ends_at_once_and_voids_the_open_invoice(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub, invoice = created.subscription, created.invoice
    advance(shop.admin, 3600)
    at = now(shop.admin)
    canceled = cancel(p, sub.subscription_id, cancel_now=True)
    assert canceled.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.cancellation.cancel_at_period_end is False
    assert canceled.cancellation.canceled_at == at
    assert canceled.cancellation.ended_at == at
    void = get_invoice(p, sub.subscription_id, invoice.invoice_id)
    assert void.status == E.INVOICE_STATUS_VOID
    assert_fails(
        lambda: pay(p, sub.subscription_id, invoice.invoice_id, invoice.amounts.total_amount),
        PRECONDITION,
        "invoice_void",
    )
    assert_fails(
        lambda: cancel(p, sub.subscription_id, cancel_now=True),
        PRECONDITION,
        "invalid_status_transition",
    )
    assert_fails(lambda: cancel(p, sub.subscription_id), PRECONDITION, "invalid_status_transition")
    assert get_subscription(p, sub.subscription_id) == canceled


def test_cancel_now_of_a_paid_subscription_keeps_its_paid_invoice(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = paid_subscription(shop)
    at = now(shop.admin)
    canceled = cancel(p, sub.subscription_id, cancel_now=True)
    assert canceled.cancellation.ended_at == at
    assert dt(canceled.cancellation.ended_at) < dt(sub.period.end)
    assert get_invoice(p, sub.subscription_id, invoice.invoice_id).status == E.INVOICE_STATUS_PAID


def test_cancel_now_after_cancel_at_period_end_ends_it_now(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    first = cancel(p, sub.subscription_id)
    advance(shop.admin, DAY)
    at = now(shop.admin)
    ended = cancel(p, sub.subscription_id, cancel_now=True)
    assert ended.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert ended.cancellation.ended_at == at
    assert ended.cancellation.cancel_at_period_end is False
    assert ended.cancellation.canceled_at == first.cancellation.canceled_at


def test_a_pending_subscription_canceled_at_period_end_ends_now(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub = created.subscription
    at = now(shop.admin)
    canceled = cancel(p, sub.subscription_id)
    assert canceled.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.cancellation.cancel_at_period_end is False
    assert canceled.cancellation.canceled_at == at
    assert canceled.cancellation.ended_at == at
    assert (
        get_invoice(p, sub.subscription_id, created.invoice.invoice_id).status
        == E.INVOICE_STATUS_VOID
    )


def test_a_plan_that_cannot_cancel_refuses_cancellation(server: RunningServer) -> None:
    shop = make_shop(server, can_cancel=False)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    for cancel_now in (False, True):
        assert_fails(
            lambda: cancel(p, sub.subscription_id, cancel_now=cancel_now),
            PRECONDITION,
            "cancel_not_allowed",
        )
    assert_fails(
        lambda: update(p, sub.subscription_id, cancel_at_period_end=True),
        PRECONDITION,
        "cancel_not_allowed",
    )
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_ACTIVE


# --- pause, resume ------------------------------------------------------------------


def test_pause_is_refused_where_the_plan_does_not_allow_it(server: RunningServer) -> None:
    shop = make_shop(server)  # can_pause defaults to false
    p = shop.platform
    sub, _ = paid_subscription(shop)
    assert_fails(lambda: pause(p, sub.subscription_id), PRECONDITION, "pause_not_allowed")
    assert_fails(
        lambda: update(p, sub.subscription_id, status=E.SUBSCRIPTION_STATUS_PAUSED),
        PRECONDITION,
        "pause_not_allowed",
    )
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_ACTIVE


def test_resume_shifts_the_period_by_the_paused_time(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    at = now(shop.admin)
    paused = pause(p, sub.subscription_id)
    assert paused.status == E.SUBSCRIPTION_STATUS_PAUSED
    assert paused.paused_at == at
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_PAUSED

    advance(shop.admin, 10 * DAY)
    resumed = resume(p, sub.subscription_id)
    ten_days = timedelta(days=10)
    assert (resumed.status, resumed.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
    )
    assert not resumed.HasField("paused_at")
    # The period that was paused keeps its start and ends later by the pause.
    assert resumed.period.start == sub.period.start
    assert dt(resumed.period.end) - dt(sub.period.end) == ten_days
    assert dt(resumed.billing.next_billing_date) - dt(sub.billing.next_billing_date) == ten_days
    assert resumed.billing.next_billing_date == resumed.period.end
    # Nothing is owed, so no deadline; a debt's deadline would not move either.
    assert resumed.billing.grace_period_end == sub.billing.grace_period_end
    assert get_subscription(p, sub.subscription_id) == resumed


def test_resume_of_a_subscription_that_is_not_paused_is_refused(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    assert_fails(lambda: resume(p, sub.subscription_id), PRECONDITION, "invalid_status_transition")
    pending = subscribe(p, shop.plan(can_pause=True))
    assert_fails(
        lambda: resume(p, pending.subscription.subscription_id),
        PRECONDITION,
        "invalid_status_transition",
    )


def test_canceling_a_paused_subscription_ends_it_now(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    pause(p, sub.subscription_id)
    advance(shop.admin, DAY)
    at = now(shop.admin)
    canceled = cancel(p, sub.subscription_id)
    assert canceled.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.cancellation.cancel_at_period_end is False
    assert (canceled.cancellation.canceled_at, canceled.cancellation.ended_at) == (at, at)
    assert_fails(lambda: resume(p, sub.subscription_id), PRECONDITION, "invalid_status_transition")
    assert_fails(lambda: pause(p, sub.subscription_id), PRECONDITION, "invalid_status_transition")


def test_only_running_subscriptions_pause(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    pending = subscribe(p, shop.plan_id).subscription
    assert_fails(
        lambda: pause(p, pending.subscription_id), PRECONDITION, "invalid_status_transition"
    )
    unpaid, _ = paid_subscription(shop, shop.plan(can_pause=True))
    update(p, unpaid.subscription_id, status=E.SUBSCRIPTION_STATUS_UNPAID)
    assert_fails(
        lambda: pause(p, unpaid.subscription_id), PRECONDITION, "invalid_status_transition"
    )
    trialing = subscribe(p, shop.plan(can_pause=True, free_trial_days=7)).subscription
    assert pause(p, trialing.subscription_id).status == E.SUBSCRIPTION_STATUS_PAUSED
    assert resume(p, trialing.subscription_id).status == E.SUBSCRIPTION_STATUS_TRIALING


def test_pausing_a_paused_subscription_is_refused(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    pause(p, sub.subscription_id)
    assert_fails(lambda: pause(p, sub.subscription_id), PRECONDITION, "invalid_status_transition")


# --- UpdateSubscription -----------------------------------------------------------------


def test_update_needs_at_least_one_field(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub = subscribe(p, shop.plan_id).subscription
    assert_fails(lambda: update(p, sub.subscription_id), INVALID, "invalid_argument")
    assert get_subscription(p, sub.subscription_id) == sub


def test_update_round_trips_its_fields(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    metadata = struct_pb2.Struct()
    metadata.update({"crm_id": "c-42", "flags": {"beta": True}, "tags": ["a", "b"]})
    updated = update(
        p,
        sub.subscription_id,
        payment_method_id="pm_card_visa",
        activation_url="https://publisher.example/activate",
        activation_token="tok_123",
        tax_rate=0.2,
        tax_type=E.TAX_TYPE_VAT,
        tax_jurisdiction="DE-Berlin",
        tax_behavior=E.TAX_BEHAVIOR_INCLUSIVE,
        tax_note="VAT included",
        metadata=metadata,
    )
    assert updated.HasField("invoice") is False, "no plan change, no invoice"
    got = updated.subscription
    assert got.activation == S.SubscriptionActivation(
        url="https://publisher.example/activate",
        token="tok_123",
        # Paid: the session its payment opened, which an update leaves alone.
        activation_session_id=sub.activation.activation_session_id,
    )
    assert got.activation.activation_session_id.startswith("AS")
    assert got.tax == common_pb2.Tax(
        rate=0.2,
        type=E.TAX_TYPE_VAT,
        jurisdiction="DE-Berlin",
        behavior=E.TAX_BEHAVIOR_INCLUSIVE,
        note="VAT included",
    )
    assert got.metadata == metadata
    assert (got.status, got.period, got.plan_id) == (sub.status, sub.period, sub.plan_id)
    assert get_subscription(p, sub.subscription_id) == got

    # The new tax applies to invoices issued from now on: 999 with 20%
    # inclusive is 833 (832.5 rounded half up) plus 166 tax.
    issued = renew(p, sub.subscription_id, cycles=1).invoices
    assert len(issued) == 1
    a = issued[0].amounts
    assert (a.subtotal, a.tax_amount, a.total_amount) == (FIRST_PRICE, 166, FIRST_PRICE)
    assert issued[0].tax == got.tax

    # Metadata is replaced as a whole.
    other = struct_pb2.Struct()
    other.update({"only": "this"})
    assert update(p, sub.subscription_id, metadata=other).subscription.metadata == other


def updated_events(caller: Caller, subscription_id: str) -> list[list[str]]:
    """The ``changed`` lists of a subscription's ``subscription.updated`` events."""
    stub = event_pb2_grpc.EventServiceStub(caller.channel)
    listed = caller(
        stub.ListEvents,
        event_pb2.ListEventsRequest(
            subscription_id=subscription_id, types=["subscription.updated"], page_size=100
        ),
    ).events
    return [list(e.data["changed"]) for e in listed if "changed" in e.data]


def test_update_payment_method_alone(server: RunningServer) -> None:
    # The Subscription message has no payment_method_id to read back; the
    # update shows in its event.
    shop = make_shop(server)
    p = shop.platform
    sub = subscribe(p, shop.plan_id).subscription
    updated = update(p, sub.subscription_id, payment_method_id="pm_1").subscription
    assert updated.status == E.SUBSCRIPTION_STATUS_PENDING
    assert (updated.period, updated.tax, updated.metadata) == (sub.period, sub.tax, sub.metadata)
    assert updated_events(p, sub.subscription_id) == [["payment_method_id"]]
    # The same value again changes nothing.
    update(p, sub.subscription_id, payment_method_id="pm_1")
    assert updated_events(p, sub.subscription_id) == [["payment_method_id"]]
    update(p, sub.subscription_id, payment_method_id="pm_2", activation_token="t")
    assert updated_events(p, sub.subscription_id)[-1] == ["activation_token", "payment_method_id"]


def test_status_changes_along_allowed_transitions(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    past_due = update(p, sub.subscription_id, status=E.SUBSCRIPTION_STATUS_PAST_DUE).subscription
    assert past_due.status == E.SUBSCRIPTION_STATUS_PAST_DUE
    unpaid = update(p, sub.subscription_id, status=E.SUBSCRIPTION_STATUS_UNPAID).subscription
    assert unpaid.status == E.SUBSCRIPTION_STATUS_UNPAID
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_UNPAID
    # unpaid -> active is for a payment to do, not the platform.
    assert_fails(
        lambda: update(p, sub.subscription_id, status=E.SUBSCRIPTION_STATUS_ACTIVE),
        PRECONDITION,
        "invalid_status_transition",
    )
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_UNPAID

    other, _ = paid_subscription(shop, shop.plan(can_pause=True))
    at = now(shop.admin)
    paused = update(p, other.subscription_id, status=E.SUBSCRIPTION_STATUS_PAUSED).subscription
    assert (paused.status, paused.paused_at) == (E.SUBSCRIPTION_STATUS_PAUSED, at)
    advance(shop.admin, 2 * DAY)
    active = update(p, other.subscription_id, status=E.SUBSCRIPTION_STATUS_ACTIVE).subscription
    assert active.status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert dt(active.period.end) - dt(other.period.end) == timedelta(days=2)


def test_refused_status_transitions(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    pending = subscribe(p, shop.plan_id).subscription
    for target in (E.SUBSCRIPTION_STATUS_ACTIVE, E.SUBSCRIPTION_STATUS_PAST_DUE):
        assert_fails(
            lambda: update(p, pending.subscription_id, status=target),
            PRECONDITION,
            "invalid_status_transition",
        )
    assert get_subscription(p, pending.subscription_id) == pending

    ended, _ = paid_subscription(shop, shop.plan())
    cancel(p, ended.subscription_id, cancel_now=True)
    assert_fails(
        lambda: update(p, ended.subscription_id, status=E.SUBSCRIPTION_STATUS_ACTIVE),
        PRECONDITION,
        "invalid_status_transition",
    )
    assert get_subscription(p, ended.subscription_id).status == E.SUBSCRIPTION_STATUS_CANCELED

    trialing = subscribe(p, shop.plan(free_trial_days=7)).subscription
    assert trialing.status == E.SUBSCRIPTION_STATUS_TRIALING
    assert_fails(
        lambda: update(p, trialing.subscription_id, status=E.SUBSCRIPTION_STATUS_UNPAID),
        PRECONDITION,
        "invalid_status_transition",
    )
    assert get_subscription(p, trialing.subscription_id).status == E.SUBSCRIPTION_STATUS_TRIALING


def test_unknown_status_is_an_invalid_argument(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub = subscribe(p, shop.plan_id).subscription
    for number in (99, E.SUBSCRIPTION_STATUS_UNSPECIFIED):
        assert_fails(
            lambda: update(p, sub.subscription_id, status=number),
            INVALID,
            "invalid_argument",
            "status",
        )
    assert get_subscription(p, sub.subscription_id) == sub


def test_update_status_canceled_cancels_at_period_end(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    at = now(shop.admin)
    canceled = update(p, sub.subscription_id, status=E.SUBSCRIPTION_STATUS_CANCELED).subscription
    assert canceled.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.cancellation.canceled_at == at
    assert canceled.cancellation.cancel_at_period_end is True
    assert canceled.cancellation.ended_at == sub.period.end
    # `active` from a cancel at period end uncancels.
    back = update(p, sub.subscription_id, status=E.SUBSCRIPTION_STATUS_ACTIVE).subscription
    assert back.status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert back.cancellation == S.Cancellation()


# --- RenewSubscription ------------------------------------------------------------------


def test_renew_issues_the_next_cycles_priced_by_phase(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, first = paid_subscription(shop)
    renewed = renew(p, sub.subscription_id, cycles=2)
    second, third = renewed.invoices
    assert [i.plan.billing_cycle for i in renewed.invoices] == [2, 3]
    for invoice in renewed.invoices:
        assert (invoice.status, invoice.payment_status) == (
            E.INVOICE_STATUS_OPEN,
            E.PAYMENT_STATUS_UNPAID,
        )
        assert invoice.amounts.subtotal == FIRST_PRICE
        assert invoice.amounts.total_amount == FIRST_PRICE
        assert invoice.amounts.amount_due == FIRST_PRICE
        assert invoice.plan.phase_order == 1
        assert invoice.plan.phase_id == first.plan.phase_id
        assert invoice.plan.plan_id == shop.plan_id
    # Consecutive periods: each starts where the one before ends.
    assert first.period.end == sub.period.end
    assert second.period.start == first.period.end
    assert third.period.start == second.period.end
    assert dt(second.period.end) > dt(second.period.start)
    assert dt(third.period.end) > dt(third.period.start)

    # Past three cycles of 999 the plan's second phase prices 1699.
    fourth = renew(p, sub.subscription_id, cycles=1).invoices[0]
    assert fourth.plan.billing_cycle == 4
    assert fourth.period.start == third.period.end
    assert (fourth.amounts.subtotal, fourth.plan.phase_order) == (1699, 2)
    assert fourth.plan.phase_id != first.plan.phase_id
    listed = list_invoices(p, sub.subscription_id)
    assert [i.plan.billing_cycle for i in listed] == [4, 3, 2, 1], "newest first"


def test_renew_bills_ahead_without_moving_the_period(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    renewed = renew(p, sub.subscription_id, cycles=2).subscription
    assert renewed.period == sub.period
    assert renewed.billing.next_billing_date == sub.billing.next_billing_date
    assert renewed.billing.cycle_count == 1
    assert (renewed.status, renewed.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
    )
    assert get_subscription(p, sub.subscription_id) == renewed


def test_renewing_a_pending_subscription_is_refused(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub = subscribe(p, shop.plan_id).subscription
    for cycles in (0, 1, 2):
        assert_fails(
            lambda: renew(p, sub.subscription_id, cycles=cycles),
            PRECONDITION,
            "invalid_status_transition",
        )
    assert len(list_invoices(p, sub.subscription_id)) == 1


def test_renew_refusals_and_uncancel_with_cycles(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    for cycles in (13, -1):
        assert_fails(
            lambda: renew(p, sub.subscription_id, cycles=cycles),
            INVALID,
            "invalid_argument",
            "cycles",
        )
    cancel(p, sub.subscription_id)
    # A canceled subscription renews only with uncancel.
    assert_fails(
        lambda: renew(p, sub.subscription_id, cycles=1), PRECONDITION, "invalid_status_transition"
    )
    assert len(list_invoices(p, sub.subscription_id)) == 1
    renewed = renew(p, sub.subscription_id, cycles=1, uncancel=True)
    assert renewed.subscription.status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert renewed.subscription.cancellation == S.Cancellation()
    assert [i.plan.billing_cycle for i in renewed.invoices] == [2]
    # Nothing left to uncancel.
    assert_fails(
        lambda: renew(p, sub.subscription_id, uncancel=True),
        PRECONDITION,
        "invalid_status_transition",
    )


# --- ListSubscriptions, tenancy ---------------------------------------------------------


def test_list_subscriptions_filters_orders_and_pages(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    session = unique("session")
    first = subscribe(p, shop.plan_id, session_id=session).subscription
    second, _ = paid_subscription(shop, shop.plan(), session_id=session)
    third = subscribe(p, shop.plan(), session_id=session).subscription
    stranger = subscribe(p, shop.plan_id).subscription
    mine = [third.subscription_id, second.subscription_id, first.subscription_id]

    assert list_subscriptions(p, session_id=session) == mine, "newest first"
    assert list_subscriptions(p, status=E.SUBSCRIPTION_STATUS_ACTIVE) == [second.subscription_id]
    assert list_subscriptions(p, status=E.SUBSCRIPTION_STATUS_PENDING) == [
        stranger.subscription_id,
        third.subscription_id,
        first.subscription_id,
    ]
    assert list_subscriptions(p, session_id=session, status=E.SUBSCRIPTION_STATUS_PENDING) == [
        third.subscription_id,
        first.subscription_id,
    ]
    assert list_subscriptions(p, status=E.SUBSCRIPTION_STATUS_CANCELED) == []
    assert list_subscriptions(p) == [stranger.subscription_id, *mine]

    request = S.ListSubscriptionsRequest(session_id=session, page_size=1)
    paged = [
        [s.subscription_id for s in page.subscriptions]
        for page in pages(partial(p, p.subscriptions.ListSubscriptions), request)
    ]
    assert paged == [[x] for x in mine]
    assert list_subscriptions(shop.tenancy.other_platform) == []
    assert_fails(lambda: list_subscriptions(p, status=99), INVALID, "invalid_argument", "status")


def test_another_platform_sees_nothing(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub, invoice = created.subscription, created.invoice
    sid = sub.subscription_id
    other = shop.tenancy.other_platform
    calls = [
        lambda: get_subscription(other, sid),
        lambda: update(other, sid, payment_method_id="pm_x"),
        lambda: cancel(other, sid),
        lambda: cancel(other, sid, cancel_now=True),
        lambda: pause(other, sid),
        lambda: resume(other, sid),
        lambda: renew(other, sid, uncancel=True),
        lambda: list_invoices(other, sid),
        lambda: pay(other, sid, invoice.invoice_id, 10),
    ]
    for call in calls:
        assert_fails(call, NOT_FOUND, "subscription_not_found")
    assert_fails(
        lambda: get_invoice(other, sid, invoice.invoice_id), NOT_FOUND, "invoice_not_found"
    )
    assert_fails(
        lambda: other(
            other.invoices.UpdateInvoice,
            invoice_pb2.UpdateInvoiceRequest(
                subscription_id=sid,
                invoice_id=invoice.invoice_id,
                payment_status=E.PAYMENT_STATUS_PAID,
            ),
        ),
        NOT_FOUND,
        "subscription_not_found",
    )
    assert get_subscription(p, sid) == sub
    assert get_invoice(p, sid, invoice.invoice_id) == invoice
    # The admin sees every platform's subscriptions.
    assert get_subscription(shop.admin, sid) == sub


def test_publisher_keys_may_not_call_billing_rpcs(server: RunningServer) -> None:
    shop = make_shop(server)
    sub = subscribe(shop.platform, shop.plan_id)
    publisher = shop.tenancy.publisher
    billing = [
        rpc for module in (subscription_pb2, invoice_pb2, payment_pb2) for rpc in rpcs_of(module)
    ]
    assert {rpc.service for rpc in billing} == {
        "bento.v1.SubscriptionService",
        "bento.v1.InvoiceService",
        "bento.v1.PaymentService",
    }
    called = 0
    for rpc in billing:
        request = rpc.request_class()
        for field, value in (
            ("subscription_id", sub.subscription.subscription_id),
            ("invoice_id", sub.invoice.invoice_id),
        ):
            if field in rpc.input.fields_by_name:
                setattr(request, field, value)
        method = getattr(rpc.stub(publisher.channel), rpc.name)
        assert_fails(
            lambda: publisher(method, request),
            grpc.StatusCode.PERMISSION_DENIED,
            "permission_denied",
        )
        called += 1
    assert called >= 18, "12 subscription, 3 invoice and 3 payment RPCs at least"
    assert get_subscription(shop.platform, sub.subscription.subscription_id) == sub.subscription


# --- CreateSubscription refusals ---------------------------------------------------------


def test_create_refusals(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    session = unique("session")

    assert_fails(lambda: subscribe(p, "no-such-plan"), NOT_FOUND, "plan_not_found")

    other = shop.tenancy.other_platform
    foreign = other(other.catalog.CreatePlan, plan_request([shop.product_id])).plan.plan_id
    assert_fails(lambda: subscribe(p, foreign), NOT_FOUND, "plan_not_found")

    inactive = shop.plan()
    update_plan_status(p, inactive, E.PLAN_STATUS_INACTIVE)
    assert_fails(lambda: subscribe(p, inactive), PRECONDITION, "plan_not_active")
    deprecated = shop.plan()
    update_plan_status(p, deprecated, E.PLAN_STATUS_DEPRECATED)
    assert_fails(lambda: subscribe(p, deprecated), PRECONDITION, "plan_not_active")

    assert_fails(
        lambda: subscribe(p, shop.plan_id, region="DE"), INVALID, "invalid_argument", "region"
    )
    for rate in (1.5, -0.1, float("nan")):
        assert_fails(
            lambda: subscribe(p, shop.plan_id, tax_rate=rate),
            INVALID,
            "invalid_argument",
            "tax_rate",
        )
    for empty in ("", "   "):
        assert_fails(
            lambda: p(
                p.subscriptions.CreateSubscription,
                S.CreateSubscriptionRequest(session_id=empty, plan_id=shop.plan_id),
            ),
            INVALID,
            "invalid_argument",
            "session_id",
        )

    held = subscribe(p, shop.plan_id, session_id=session).subscription
    assert_fails(
        lambda: subscribe(p, shop.plan_id, session_id=session),
        grpc.StatusCode.ALREADY_EXISTS,
        "already_subscribed",
    )
    # Another plan is fine, and so is the same plan once the first one ended.
    subscribe(p, shop.plan(), session_id=session)
    cancel(p, held.subscription_id, cancel_now=True)
    again = subscribe(p, shop.plan_id, session_id=session).subscription
    assert again.status == E.SUBSCRIPTION_STATUS_PENDING
    assert list_subscriptions(p, session_id=session)[0] == again.subscription_id


def test_a_paused_subscription_still_holds_its_plan(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    session = unique("session")
    sub, _ = paid_subscription(shop, session_id=session)
    pause(p, sub.subscription_id)
    assert_fails(
        lambda: subscribe(p, shop.plan_id, session_id=session),
        grpc.StatusCode.ALREADY_EXISTS,
        "already_subscribed",
    )


# --- trial ------------------------------------------------------------------------------


def test_a_free_trial(server: RunningServer) -> None:
    shop = make_shop(server, free_trial_days=7)
    p = shop.platform
    at = now(shop.admin)
    created = subscribe(p, shop.plan_id)
    sub, invoice = created.subscription, created.invoice
    assert (sub.status, sub.payment_status) == (
        E.SUBSCRIPTION_STATUS_TRIALING,
        E.PAYMENT_STATUS_NO_PAYMENT_REQUIRED,
    )
    assert sub.created_at == at
    assert sub.trial.days == 7
    assert dt(sub.trial.end_date) - dt(sub.created_at) == timedelta(days=7)
    assert (sub.period.start, sub.period.end) == (at, sub.trial.end_date)
    assert sub.billing.next_billing_date == sub.trial.end_date
    assert sub.billing.cycle_count == 0
    assert invoice.plan.billing_cycle == 0
    a = invoice.amounts
    assert (a.subtotal, a.tax_amount, a.total_amount, a.amount_due) == (0, 0, 0, 0)
    assert (invoice.status, invoice.payment_status) == (
        E.INVOICE_STATUS_PAID,
        E.PAYMENT_STATUS_NO_PAYMENT_REQUIRED,
    )
    assert (invoice.period.start, invoice.period.end) == (at, sub.trial.end_date)
    assert list_invoices(p, sub.subscription_id) == [invoice]
    assert get_subscription(p, sub.subscription_id) == sub


def test_without_a_trial_there_is_no_trial(server: RunningServer) -> None:
    shop = make_shop(server)
    sub = subscribe(shop.platform, shop.plan_id).subscription
    assert sub.trial.days == 0
    assert not sub.trial.HasField("end_date")


# --- plan change --------------------------------------------------------------------------


def test_plan_change_credits_the_unused_time(server: RunningServer) -> None:
    shop = make_shop(server, billing_frequency=every_30_days(), prices={"US": phases((3000, None))})
    p = shop.platform
    sub, old_invoice = paid_subscription(shop)
    assert dt(sub.period.end) - dt(sub.period.start) == timedelta(days=30)
    bigger = shop.plan(billing_frequency=every_30_days(), prices={"US": phases((6000, None))})

    assert_fails(
        lambda: update(p, sub.subscription_id, plan_id=shop.plan_id),
        INVALID,
        "invalid_argument",
        "plan_id",
    )

    foreign = shop.tenancy.other_platform(
        shop.tenancy.other_platform.catalog.CreatePlan, plan_request([shop.product_id])
    ).plan.plan_id
    assert_fails(
        lambda: update(p, sub.subscription_id, plan_id=foreign), NOT_FOUND, "plan_not_found"
    )
    retired = shop.plan(billing_frequency=every_30_days(), prices={"US": phases((6000, None))})
    update_plan_status(p, retired, E.PLAN_STATUS_INACTIVE)
    assert_fails(
        lambda: update(p, sub.subscription_id, plan_id=retired), PRECONDITION, "plan_not_active"
    )
    assert get_subscription(p, sub.subscription_id) == sub

    advance(shop.admin, 15 * DAY)
    at = now(shop.admin)
    changed = update(p, sub.subscription_id, plan_id=bigger)
    invoice = changed.invoice
    assert invoice.plan.plan_id == bigger
    a = invoice.amounts
    assert (a.subtotal, a.proration_credit, a.tax_amount, a.total_amount, a.amount_due) == (
        6000,
        1500,
        0,
        4500,
        4500,
    )
    assert invoice.plan.platform_fee_amount == 675, "the fee is on the revenue, not on credit"
    assert (invoice.status, invoice.payment_status) == (
        E.INVOICE_STATUS_OPEN,
        E.PAYMENT_STATUS_UNPAID,
    )
    assert invoice.period.start == at
    assert dt(invoice.period.end) - dt(at) == timedelta(days=30)

    moved = changed.subscription
    assert moved.plan_id == bigger
    assert moved.proration_credit == 1500
    assert moved.period.start == at
    assert moved.period == S.Period(start=invoice.period.start, end=invoice.period.end)
    assert moved.billing.next_billing_date == moved.period.end
    assert get_subscription(p, sub.subscription_id) == moved

    kept = get_invoice(p, sub.subscription_id, old_invoice.invoice_id)
    assert (kept.status, kept.payment_status) == (E.INVOICE_STATUS_PAID, E.PAYMENT_STATUS_PAID)
    assert kept.amounts == old_invoice.amounts
    assert get_invoice(p, sub.subscription_id, invoice.invoice_id) == invoice


# --- Subgate: one active subscription per user ----------------------------------------------


def test_a_higher_tier_pauses_the_lower_one(server: RunningServer) -> None:
    shop = make_shop(server, single_active=True)
    p = shop.platform
    session = unique("session")
    low, _ = paid_subscription(shop, session_id=session)
    assert low.plan.tier == 1
    high_plan = shop.plan(tier=2)

    high = subscribe(p, high_plan, session_id=session)
    assert high.subscription.status == E.SUBSCRIPTION_STATUS_PENDING
    assert high.subscription.plan.tier == 2
    assert high.invoice.status == E.INVOICE_STATUS_OPEN
    # Until the higher tier starts, the holder keeps running.
    assert get_subscription(p, low.subscription_id).status == E.SUBSCRIPTION_STATUS_ACTIVE

    at = now(shop.admin)
    pay(p, high.subscription.subscription_id, high.invoice.invoice_id, FIRST_PRICE)
    waiting = get_subscription(p, low.subscription_id)
    assert (waiting.status, waiting.paused_at) == (E.SUBSCRIPTION_STATUS_PAUSED, at)
    assert_fails(lambda: resume(p, low.subscription_id), PRECONDITION, "invalid_status_transition")
    advance(shop.admin, 3 * DAY)
    cancel(p, high.subscription.subscription_id, cancel_now=True)
    back = get_subscription(p, low.subscription_id)
    assert (back.status, back.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
    )
    assert not back.HasField("paused_at")
    assert dt(back.period.end) - dt(low.period.end) == timedelta(days=3)


@pytest.mark.parametrize("tier", [1, 2], ids=["lower", "equal"])
def test_an_equal_or_lower_tier_waits_for_the_holder(server: RunningServer, tier: int) -> None:
    shop = make_shop(server, single_active=True, tier=2)
    p = shop.platform
    session = unique("session")
    holder, _ = paid_subscription(shop, session_id=session)

    at = now(shop.admin)
    created = subscribe(p, shop.plan(tier=tier), session_id=session)
    sub, draft = created.subscription, created.invoice
    assert (sub.status, sub.paused_at) == (E.SUBSCRIPTION_STATUS_PAUSED, at)
    assert draft.status == E.INVOICE_STATUS_DRAFT
    assert draft.plan.billing_cycle == 1
    assert get_subscription(p, holder.subscription_id).status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert_fails(
        lambda: pay(p, sub.subscription_id, draft.invoice_id, draft.amounts.total_amount),
        PRECONDITION,
        "invoice_draft",
    )
    for attempt in (
        lambda: resume(p, sub.subscription_id),
        lambda: update(p, sub.subscription_id, status=E.SUBSCRIPTION_STATUS_ACTIVE),
    ):
        assert_fails(attempt, PRECONDITION, "invalid_status_transition")
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_PAUSED

    advance(shop.admin, 2 * DAY)
    later = now(shop.admin)
    cancel(p, holder.subscription_id, cancel_now=True)
    resumed = get_subscription(p, sub.subscription_id)
    assert (resumed.status, resumed.payment_status) == (
        E.SUBSCRIPTION_STATUS_PENDING,
        E.PAYMENT_STATUS_UNPAID,
    )
    assert not resumed.HasField("paused_at")
    assert resumed.period.start == later
    opened = get_invoice(p, sub.subscription_id, draft.invoice_id)
    assert (opened.status, opened.payment_status) == (
        E.INVOICE_STATUS_OPEN,
        E.PAYMENT_STATUS_UNPAID,
    )
    assert opened.period.start == later
    assert opened.period.end == resumed.period.end
    assert opened.amounts == draft.amounts

    pay(p, sub.subscription_id, draft.invoice_id, draft.amounts.total_amount)
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_ACTIVE


def test_without_the_flag_subscriptions_do_not_interfere(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    session = unique("session")
    low, _ = paid_subscription(shop, session_id=session)
    high = subscribe(p, shop.plan(tier=2), session_id=session)
    assert high.subscription.status == E.SUBSCRIPTION_STATUS_PENDING
    assert high.invoice.status == E.INVOICE_STATUS_OPEN
    assert get_subscription(p, low.subscription_id).status == E.SUBSCRIPTION_STATUS_ACTIVE
    lower = subscribe(p, shop.plan(tier=0), session_id=session)
    assert lower.subscription.status == E.SUBSCRIPTION_STATUS_PENDING
    assert lower.invoice.status == E.INVOICE_STATUS_OPEN
    pay(p, high.subscription.subscription_id, high.invoice.invoice_id, FIRST_PRICE)
    statuses = {
        s: get_subscription(p, s).status
        for s in (low.subscription_id, high.subscription.subscription_id)
    }
    assert set(statuses.values()) == {E.SUBSCRIPTION_STATUS_ACTIVE}
