"""The money rules of docs/rules.md "Billing rules", over the wire: grace
deadlines per invoice, zero invoices settled at once, credit balances,
credit from a voided first invoice, refunds that count, capped retries,
first invoices that expire, dunning that no cancel, uncancel or plan change
escapes, back-to-back periods after a pause, plan levels that take over when
they start, trials kept across plan changes, activation for added apps,
fees on revenue and the 10^12 limit.

Every case measures from the shared test clock and moves it only forward."""

from __future__ import annotations

import math
from datetime import timedelta
from fractions import Fraction
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from bento.v1 import (
    catalog_pb2,
    common_pb2,
    entitlement_pb2,
    entitlement_pb2_grpc,
    enums_pb2,
    invoice_pb2,
    subscription_pb2,
    tenant_pb2,
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
from tests.support import (
    Caller,
    RunningServer,
    assert_fails,
    make_key,
    make_tenancy,
    phases,
    plan_request,
    product_request,
    unique,
)
from tests.test_activation import buy, exchange, make_bundle, update_item
from tests.test_billing_clock import advance_to, current_invoice
from tests.test_billing_consistency import events_of
from tests.test_payments import list_payments
from tests.test_subscription_lifecycle import (
    cancel,
    paid_subscription,
    pause,
    renew,
    resume,
    update,
)

E = enums_pb2
S = subscription_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
SUCCEEDED = E.PAYMENT_RECORD_STATUS_SUCCEEDED
FAILED = E.PAYMENT_RECORD_STATUS_FAILED
MINUTE = 60
HOUR = 3_600
DAY = 86_400
LIMIT = 10**12
# Statuses that run a subscription (hold access when paid up).
RUNNING = (
    E.SUBSCRIPTION_STATUS_ACTIVE,
    E.SUBSCRIPTION_STATUS_TRIALING,
    E.SUBSCRIPTION_STATUS_PAST_DUE,
)


# --- helpers ------------------------------------------------------------------


def weekly() -> common_pb2.BillingFrequency:
    return common_pb2.BillingFrequency(unit=E.BILLING_UNIT_WEEK, value=1)


def yearly() -> common_pb2.BillingFrequency:
    return common_pb2.BillingFrequency(unit=E.BILLING_UNIT_YEAR, value=1)


def shifted(instant: timestamp_pb2.Timestamp, seconds: int) -> timestamp_pb2.Timestamp:
    """``instant`` moved by whole ``seconds``, exactly (nanos kept)."""
    return timestamp_pb2.Timestamp(seconds=instant.seconds + seconds, nanos=instant.nanos)


def nanos(instant: timestamp_pb2.Timestamp) -> int:
    return instant.seconds * 1_000_000_000 + instant.nanos


def span(start: timestamp_pb2.Timestamp, end: timestamp_pb2.Timestamp) -> timedelta:
    return end.ToDatetime() - start.ToDatetime()


def prorated(
    amount: int,
    start: timestamp_pb2.Timestamp,
    end: timestamp_pb2.Timestamp,
    at: timestamp_pb2.Timestamp,
) -> int:
    """round_half_up(amount * unused / length) for a change at ``at``."""
    exact = Fraction(amount * (nanos(end) - nanos(at)), nanos(end) - nanos(start))
    return math.floor(exact + Fraction(1, 2))


def check_access(
    caller: Caller, session_id: str, product_id: str
) -> entitlement_pb2.CheckAccessResponse:
    stub = entitlement_pb2_grpc.EntitlementServiceStub(caller.channel)
    return caller(
        stub.CheckAccess,
        entitlement_pb2.CheckAccessRequest(session_id=session_id, product_id=product_id),
    )


def taxed(
    caller: Caller, plan_id: str, behavior: int, **fields: Any
) -> S.CreateSubscriptionResponse:
    """A subscription taxed at 8.75% sales tax, ``behavior`` inclusive or exclusive."""
    return subscribe(
        caller,
        plan_id,
        tax_rate=0.0875,
        tax_type=E.TAX_TYPE_SALES_TAX,
        tax_behavior=behavior,
        **fields,
    )


def renewed(shop: Shop, subscription_id: str) -> tuple[S.Subscription, invoice_pb2.Invoice]:
    """Moves the clock to the next billing date: the subscription and its new invoice."""
    sub = get_subscription(shop.platform, subscription_id)
    advance_to(shop.admin, sub.billing.next_billing_date)
    return get_subscription(shop.platform, subscription_id), current_invoice(
        shop.platform, subscription_id
    )


def status_reason(sub: S.Subscription) -> tuple[int, int]:
    return sub.status, sub.cancellation.reason


def code_in(url: common_pb2.ActivationUrl) -> str:
    return url.activation_url.partition("code=")[2]


# --- 1. grace deadlines are per invoice and never move ------------------------------


def test_renewals_never_move_the_grace_deadline_of_an_unpaid_invoice(
    server: RunningServer,
) -> None:
    """An unpaid renewal lapses at its own period start + grace days, however many renewals follow."""
    shop = make_shop(
        server, billing_frequency=weekly(), grace_period_days=10, prices={"US": phases((999, None))}
    )
    p = shop.platform
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id

    second, cycle_2 = renewed(shop, sid)
    assert cycle_2.plan.billing_cycle == 2
    assert cycle_2.status == E.INVOICE_STATUS_OPEN
    deadline = shifted(cycle_2.period.start, 10 * DAY)
    assert second.billing.grace_period_end == deadline

    # Day 14: cycle 3 is issued before cycle 2's deadline (day 17); it moves nothing.
    third, cycle_3 = renewed(shop, sid)
    assert cycle_3.plan.billing_cycle == 3
    assert cycle_3.status == E.INVOICE_STATUS_OPEN
    assert third.status in RUNNING
    assert third.billing.grace_period_end == deadline, "a renewal moved the debt's deadline"
    for invoice in (cycle_2, get_invoice(p, sid, cycle_2.invoice_id)):
        assert invoice.period.grace_period_end == deadline

    advance_to(shop.admin, deadline, extra_seconds=-HOUR)
    assert check_access(p, sub.session_id, shop.product_id).allowed

    advance_to(shop.admin, deadline, extra_seconds=1)
    lapsed = get_subscription(p, sid)
    assert status_reason(lapsed) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        E.END_REASON_GRACE_PERIOD_LAPSED,
    )
    assert not check_access(p, sub.session_id, shop.product_id).allowed
    for invoice_id in (cycle_2.invoice_id, cycle_3.invoice_id):
        void = get_invoice(p, sid, invoice_id)
        assert (void.status, void.amounts.amount_due) == (E.INVOICE_STATUS_VOID, 0)


# --- 2. no grace days: one retry delay, no free period ---------------------------------


def test_without_grace_days_an_unpaid_renewal_ends_one_retry_delay_after_the_period_start(
    server: RunningServer,
) -> None:
    """With 0 grace days an unpaid renewal keeps access for 60 minutes, then the subscription lapses."""
    shop = make_shop(
        server, billing_frequency=weekly(), grace_period_days=0, prices={"US": phases((999, None))}
    )
    p = shop.platform
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id

    running, invoice = renewed(shop, sid)
    assert invoice.plan.billing_cycle == 2
    assert invoice.retries.delay_minutes == 60
    deadline = shifted(invoice.period.start, 60 * MINUTE)
    assert (running.status, running.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_UNPAID,
    )

    advance_to(shop.admin, invoice.period.start, extra_seconds=30 * MINUTE)
    assert check_access(p, sub.session_id, shop.product_id).allowed

    advance_to(shop.admin, invoice.period.start, extra_seconds=61 * MINUTE)
    lapsed = get_subscription(p, sid)
    assert status_reason(lapsed) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        E.END_REASON_GRACE_PERIOD_LAPSED,
    ), "still running more than one retry delay after an unpaid renewal with 0 grace days"
    assert not check_access(p, sub.session_id, shop.product_id).allowed
    assert get_invoice(p, sid, invoice.invoice_id).status == E.INVOICE_STATUS_VOID
    assert running.billing.grace_period_end == deadline


# --- 3. a zero invoice is settled at once ------------------------------------------------


def test_a_free_first_phase_starts_the_subscription_at_once(server: RunningServer) -> None:
    """A first invoice of 0 is settled at issue: active with access, then renews into the paid phase."""
    shop = make_shop(server, billing_frequency=weekly(), prices={"US": phases((0, 1), (999, None))})
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub, first = created.subscription, created.invoice
    sid = sub.subscription_id

    assert first.amounts.total_amount == 0
    assert (first.status, first.payment_status) == (
        E.INVOICE_STATUS_PAID,
        E.PAYMENT_STATUS_NO_PAYMENT_REQUIRED,
    ), "a zero first invoice is left open"
    assert first.amounts.amount_due == 0
    assert sub.status == E.SUBSCRIPTION_STATUS_ACTIVE, "stuck pending on a zero invoice"
    assert sub.payment_status in (E.PAYMENT_STATUS_PAID, E.PAYMENT_STATUS_NO_PAYMENT_REQUIRED)
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert check_access(p, sub.session_id, shop.product_id).allowed

    after, second = renewed(shop, sid)
    assert second.plan.billing_cycle == 2
    assert (second.amounts.subtotal, second.amounts.total_amount, second.amounts.amount_due) == (
        999,
        999,
        999,
    )
    assert (second.status, second.payment_status) == (
        E.INVOICE_STATUS_OPEN,
        E.PAYMENT_STATUS_UNPAID,
    )
    assert (after.status, after.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_UNPAID,
    )


# --- 4. credit the new invoice cannot use is kept ----------------------------------------


def test_credit_a_cheaper_plan_cannot_use_is_kept_as_balance_and_applied_later(
    server: RunningServer,
) -> None:
    """A change from a paid yearly plan to a cheap monthly one keeps the unused credit and spends it on renewals."""
    shop = make_shop(server, billing_frequency=yearly(), prices={"US": phases((36000, None))})
    p = shop.platform
    monthly = shop.plan(prices={"US": phases((500, None))})
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id

    advance(shop.admin, DAY)
    at = now(shop.admin)
    changed = update(p, sid, plan_id=monthly)
    credit = prorated(36000, sub.period.start, sub.period.end, at)
    invoice, moved = changed.invoice, changed.subscription
    a = invoice.amounts
    assert (a.subtotal, a.proration_credit, a.total_amount) == (500, 500, 0)
    assert (invoice.status, invoice.payment_status) == (
        E.INVOICE_STATUS_PAID,
        E.PAYMENT_STATUS_NO_PAYMENT_REQUIRED,
    )
    assert a.proration_credit + moved.credit_balance == credit, (
        f"credit {credit} of the unused year: {credit - a.proration_credit - moved.credit_balance}"
        " vanished"
    )
    assert moved.credit_balance == credit - 500
    assert get_subscription(p, sid).credit_balance == moved.credit_balance

    later, renewal = renewed(shop, sid)
    assert renewal.plan.plan_id == monthly
    r = renewal.amounts
    assert (r.subtotal, r.credit_applied, r.total_amount, r.amount_due) == (500, 500, 0, 0)
    assert renewal.status == E.INVOICE_STATUS_PAID
    assert later.credit_balance == moved.credit_balance - 500
    assert later.status == E.SUBSCRIPTION_STATUS_ACTIVE


# --- 5. a plan change of a pending subscription keeps what was paid ---------------------


def test_a_plan_change_on_a_partly_paid_first_invoice_keeps_the_money(
    server: RunningServer,
) -> None:
    """What was collected on a voided first invoice becomes credit on the new plan: nothing lost."""
    shop = make_shop(server, prices={"US": phases((1699, None))})
    p = shop.platform
    other = shop.plan(prices={"US": phases((1699, None))})
    created = taxed(p, shop.plan_id, E.TAX_BEHAVIOR_EXCLUSIVE)
    sid, old = created.subscription.subscription_id, created.invoice
    assert old.amounts.total_amount == 1848
    pay(p, sid, old.invoice_id, 1000)
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_PENDING

    changed = update(p, sid, plan_id=other)
    void = get_invoice(p, sid, old.invoice_id)
    assert (void.status, void.amounts.amount_due) == (E.INVOICE_STATUS_VOID, 0)
    invoice, moved = changed.invoice, changed.subscription
    assert invoice.plan.plan_id == other
    kept = invoice.amounts.proration_credit + invoice.amounts.credit_applied + moved.credit_balance
    assert kept == 1000, f"1000 collected on the voided invoice, {kept} carried to the new plan"


# --- 6. refunds lower what was paid --------------------------------------------------------


def test_refunds_count_against_amount_paid_and_are_bounded_by_their_payment(
    server: RunningServer,
) -> None:
    """A refund on an open invoice is owed again, and no refund exceeds what is left of its payment."""
    shop = make_shop(server, prices={"US": phases((1699, None))})
    p = shop.platform
    created = taxed(p, shop.plan_id, E.TAX_BEHAVIOR_EXCLUSIVE)
    sid, iid = created.subscription.subscription_id, created.invoice.invoice_id
    assert created.invoice.amounts.total_amount == 1848

    first = pay(p, sid, iid, 1000).payment
    back = pay(p, sid, iid, -400, original_payment_id=first.payment_id).payment
    assert (back.amount, back.status, back.original_payment_id) == (
        -400,
        SUCCEEDED,
        first.payment_id,
    )
    second = pay(p, sid, iid, 848).payment

    still = get_invoice(p, sid, iid)
    assert still.status == E.INVOICE_STATUS_OPEN, "a refunded 400 was counted as paid"
    a = still.amounts
    assert (a.amount_paid, a.amount_refunded, a.amount_due) == (1448, 400, 400)
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_PENDING

    pay(p, sid, iid, 400)
    paid = get_invoice(p, sid, iid)
    assert (paid.status, paid.amounts.amount_paid, paid.amounts.amount_due) == (
        E.INVOICE_STATUS_PAID,
        1848,
        0,
    )
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_ACTIVE

    assert_fails(
        lambda: pay(p, sid, iid, -1000, original_payment_id=second.payment_id),
        PRECONDITION,
        "refund_exceeds_paid",
    )
    assert get_invoice(p, sid, iid).amounts == paid.amounts


# --- 7. retries stop at the maximum -------------------------------------------------------


def test_failed_renewal_payments_stop_counting_at_the_retry_maximum(
    server: RunningServer,
) -> None:
    """Five failures on a renewal count three retries, schedule none after the third, and leave it unpaid."""
    shop = make_shop(server, billing_frequency=weekly(), prices={"US": phases((999, None))})
    p = shop.platform
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id
    _, invoice = renewed(shop, sid)
    assert (invoice.plan.billing_cycle, invoice.retries.max) == (2, 3)

    expected = [
        (1, E.SUBSCRIPTION_STATUS_PAST_DUE),
        (2, E.SUBSCRIPTION_STATUS_PAST_DUE),
        (3, E.SUBSCRIPTION_STATUS_UNPAID),
        (3, E.SUBSCRIPTION_STATUS_UNPAID),
        (3, E.SUBSCRIPTION_STATUS_UNPAID),
    ]
    for attempt, (count, status) in enumerate(expected, start=1):
        advance(shop.admin, 10 * MINUTE)
        pay(p, sid, invoice.invoice_id, 999, FAILED, error_code="card_declined")
        got = get_invoice(p, sid, invoice.invoice_id)
        retries = got.retries
        assert (retries.count, retries.max) == (count, 3), f"after failure {attempt}"
        if count < retries.max:
            assert span(retries.last_date, retries.next_date) == timedelta(minutes=60)
        else:
            assert not retries.HasField("next_date"), f"a retry scheduled after failure {attempt}"
        assert get_subscription(p, sid).status == status, f"after failure {attempt}"

    refused = check_access(p, sub.session_id, shop.product_id)
    assert not refused.allowed
    assert refused.reason == E.ACCESS_REASON_UNPAID


# --- 8. a first invoice never paid expires ---------------------------------------------------


def test_a_first_invoice_never_paid_expires_after_max_of_grace_and_one_day(
    server: RunningServer,
) -> None:
    """A pending subscription ends incomplete_expired max(grace days, 1) days after creation, its invoice void."""
    shop = make_shop(server, grace_period_days=0)
    p = shop.platform
    three_days = shop.plan(grace_period_days=3)
    no_grace = subscribe(p, shop.plan_id)
    with_grace = subscribe(p, three_days)
    quick, patient = no_grace.subscription, with_grace.subscription
    # Part of the patient one's invoice is paid: nothing is served, so it is owed back.
    pay(p, patient.subscription_id, with_grace.invoice.invoice_id, 300)

    advance_to(shop.admin, quick.created_at, extra_seconds=DAY - MINUTE)
    assert get_subscription(p, quick.subscription_id).status == E.SUBSCRIPTION_STATUS_PENDING

    advance_to(shop.admin, quick.created_at, extra_seconds=DAY + 1)
    expired = get_subscription(p, quick.subscription_id)
    assert status_reason(expired) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        E.END_REASON_INCOMPLETE_EXPIRED,
    ), "a never-paid subscription is still pending a day after creation"
    void = get_invoice(p, quick.subscription_id, no_grace.invoice.invoice_id)
    assert (void.status, void.amounts.amount_due) == (E.INVOICE_STATUS_VOID, 0)
    assert no_grace.invoice.period.grace_period_end == shifted(quick.created_at, DAY)

    advance_to(shop.admin, patient.created_at, extra_seconds=2 * DAY)
    assert get_subscription(p, patient.subscription_id).status == E.SUBSCRIPTION_STATUS_PENDING

    advance_to(shop.admin, patient.created_at, extra_seconds=3 * DAY + 1)
    expired = get_subscription(p, patient.subscription_id)
    assert status_reason(expired) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        E.END_REASON_INCOMPLETE_EXPIRED,
    )
    void = get_invoice(p, patient.subscription_id, with_grace.invoice.invoice_id)
    assert (void.status, void.amounts.amount_due) == (E.INVOICE_STATUS_VOID, 0)
    assert expired.refund_due == 300


# --- 9. no escape from dunning -----------------------------------------------------------------


def test_a_past_due_subscription_canceled_at_period_end_loses_access_at_its_grace_deadline(
    server: RunningServer,
) -> None:
    """Canceling a past-due subscription at period end keeps access only until its unpaid invoice's deadline."""
    shop = make_shop(
        server, billing_frequency=weekly(), grace_period_days=3, prices={"US": phases((999, None))}
    )
    p = shop.platform
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id
    _, invoice = renewed(shop, sid)
    pay(p, sid, invoice.invoice_id, 999, FAILED)
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_PAST_DUE
    deadline = shifted(invoice.period.start, 3 * DAY)

    canceled = cancel(p, sid)
    assert canceled.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.cancellation.ended_at == invoice.period.end
    assert canceled.billing.grace_period_end == deadline

    advance_to(shop.admin, deadline, extra_seconds=-HOUR)
    assert check_access(p, sub.session_id, shop.product_id).allowed

    advance_to(shop.admin, deadline, extra_seconds=1)
    late = check_access(p, sub.session_id, shop.product_id)
    assert not late.allowed, "access kept until the period end past the unpaid invoice's deadline"
    void = get_invoice(p, sid, invoice.invoice_id)
    assert (void.status, void.amounts.amount_due) == (E.INVOICE_STATUS_VOID, 0)


def test_uncancel_and_plan_change_keep_the_grace_deadline_and_the_debt(
    server: RunningServer,
) -> None:
    """Neither an uncancel nor a plan change moves the grace deadline or voids the unpaid invoice."""
    shop = make_shop(
        server, billing_frequency=weekly(), grace_period_days=3, prices={"US": phases((999, None))}
    )
    p = shop.platform
    other = shop.plan(
        billing_frequency=weekly(), grace_period_days=3, prices={"US": phases((1299, None))}
    )
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id
    _, invoice = renewed(shop, sid)
    pay(p, sid, invoice.invoice_id, 999, FAILED)
    owing = get_subscription(p, sid)
    assert owing.status == E.SUBSCRIPTION_STATUS_PAST_DUE
    deadline = shifted(invoice.period.start, 3 * DAY)
    assert owing.billing.grace_period_end == deadline

    advance(shop.admin, HOUR)
    cancel(p, sid)
    back = renew(p, sid, uncancel=True).subscription
    assert back.status == E.SUBSCRIPTION_STATUS_PAST_DUE
    assert back.billing.grace_period_end == deadline, "uncancel moved the grace deadline"
    assert get_invoice(p, sid, invoice.invoice_id).status == E.INVOICE_STATUS_OPEN

    advance(shop.admin, HOUR)
    changed = update(p, sid, plan_id=other)
    assert changed.subscription.plan_id == other
    assert changed.subscription.billing.grace_period_end == deadline, (
        "the plan change moved the grace deadline"
    )
    debt = get_invoice(p, sid, invoice.invoice_id)
    assert debt.status == E.INVOICE_STATUS_OPEN, "the plan change voided the unpaid invoice"
    assert debt.amounts.amount_due > 0
    assert get_subscription(p, sid).billing.grace_period_end == deadline

    advance_to(shop.admin, deadline, extra_seconds=1)
    lapsed = get_subscription(p, sid)
    assert status_reason(lapsed) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        E.END_REASON_GRACE_PERIOD_LAPSED,
    )
    assert not check_access(p, sub.session_id, shop.product_id).allowed


# --- 10. periods stay back to back across a pause ------------------------------------------------


def test_after_a_pause_the_next_period_starts_at_the_shifted_period_end(
    server: RunningServer,
) -> None:
    """A pause of 25 days shifts the period end by 25 days and the next cycle starts exactly there."""
    shop = make_shop(server, can_pause=True, prices={"US": phases((999, None))})
    p = shop.platform
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id

    advance(shop.admin, 20 * DAY)
    pause(p, sid)
    advance(shop.admin, 25 * DAY)
    resumed = resume(p, sid)
    assert resumed.status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert span(sub.period.end, resumed.period.end) == timedelta(days=25)
    assert resumed.billing.next_billing_date == resumed.period.end

    after, invoice = renewed(shop, sid)
    assert invoice.plan.billing_cycle == 2
    assert invoice.period.start == resumed.period.end, (
        f"cycle 2 starts {span(resumed.period.end, invoice.period.start)} after the shifted end"
    )
    assert after.period.start == resumed.period.end
    assert after.period == S.Period(start=invoice.period.start, end=invoice.period.end)


# --- 11. plan levels take over when they start ----------------------------------------------------


def test_a_pending_higher_tier_leaves_the_holder_running_until_it_is_paid(
    server: RunningServer,
) -> None:
    """On a single-active platform a higher tier pauses the holder only once it is paid."""
    shop = make_shop(server, single_active=True)
    p = shop.platform
    session = unique("session")
    low, _ = paid_subscription(shop, session_id=session)
    high = subscribe(p, shop.plan(tier=2), session_id=session)
    hid = high.subscription.subscription_id
    assert high.subscription.status == E.SUBSCRIPTION_STATUS_PENDING

    holder = get_subscription(p, low.subscription_id)
    assert holder.status == E.SUBSCRIPTION_STATUS_ACTIVE, "an unpaid higher tier paused the holder"
    granted = check_access(p, session, shop.product_id)
    assert (granted.allowed, granted.subscription_id) == (True, low.subscription_id)

    pay(p, hid, high.invoice.invoice_id, high.invoice.amounts.total_amount)
    assert get_subscription(p, hid).status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert get_subscription(p, low.subscription_id).status == E.SUBSCRIPTION_STATUS_PAUSED
    granted = check_access(p, session, shop.product_id)
    assert (granted.allowed, granted.subscription_id) == (True, hid)


def test_two_tiers_paid_one_after_the_other_never_run_together(server: RunningServer) -> None:
    """Two pending tiers paid in either order leave only the higher one running."""
    shop = make_shop(server, single_active=True)
    p = shop.platform
    high_plan = shop.plan(tier=2)
    for order in ("low_first", "high_first"):
        session = unique("session")
        low = subscribe(p, shop.plan_id, session_id=session)
        high = subscribe(p, high_plan, session_id=session)
        lid, hid = low.subscription.subscription_id, high.subscription.subscription_id
        payments = [(lid, low.invoice), (hid, high.invoice)]
        if order == "high_first":
            payments.reverse()
        for sid, invoice in payments:
            pay(p, sid, invoice.invoice_id, invoice.amounts.total_amount)
            statuses = {s: get_subscription(p, s).status for s in (lid, hid)}
            running = [s for s, status in statuses.items() if status in RUNNING]
            assert len(running) <= 1, (order, statuses)
        assert get_subscription(p, hid).status == E.SUBSCRIPTION_STATUS_ACTIVE, order
        assert get_subscription(p, lid).status == E.SUBSCRIPTION_STATUS_PAUSED, order
        granted = check_access(p, session, shop.product_id)
        assert (granted.allowed, granted.subscription_id) == (True, hid), order


def test_a_lower_tier_paid_during_a_higher_trial_waits_paused(server: RunningServer) -> None:
    """Paying a pending tier-1 while a tier-2 trial runs leaves tier-1 paused, not beside the trial."""
    shop = make_shop(server, single_active=True)
    p = shop.platform
    session = unique("session")
    low = subscribe(p, shop.plan_id, session_id=session)
    trial = subscribe(p, shop.plan(tier=2, free_trial_days=7), session_id=session)
    lid, tid = low.subscription.subscription_id, trial.subscription.subscription_id
    assert trial.subscription.status == E.SUBSCRIPTION_STATUS_TRIALING

    pay(p, lid, low.invoice.invoice_id, low.invoice.amounts.total_amount)
    assert get_subscription(p, lid).status == E.SUBSCRIPTION_STATUS_PAUSED, (
        "the paid lower tier runs beside the higher trial"
    )
    assert get_subscription(p, tid).status == E.SUBSCRIPTION_STATUS_TRIALING
    granted = check_access(p, session, shop.product_id)
    assert (granted.allowed, granted.subscription_id) == (True, tid)


# --- 12. trials and activation ---------------------------------------------------------------------


def test_a_plan_change_during_a_trial_keeps_the_trial(server: RunningServer) -> None:
    """A plan change on day 2 of a 14-day trial keeps the trial and charges the new plan when it ends."""
    shop = make_shop(server, free_trial_days=14, prices={"US": phases((999, None))})
    p = shop.platform
    other = shop.plan(prices={"US": phases((1699, None))})
    created = subscribe(p, shop.plan_id)
    sub = created.subscription
    sid = sub.subscription_id
    assert sub.status == E.SUBSCRIPTION_STATUS_TRIALING

    advance(shop.admin, DAY)
    changed = update(p, sid, plan_id=other)
    moved = changed.subscription
    assert moved.plan_id == other
    assert moved.status == E.SUBSCRIPTION_STATUS_TRIALING, "the plan change ended the trial"
    assert moved.trial.end_date == sub.trial.end_date
    charged = [i for i in list_invoices(p, sid) if i.amounts.total_amount > 0]
    assert charged == [], "a charged invoice was issued during the trial"
    assert changed.invoice.amounts.total_amount == 0
    assert get_subscription(p, sid) == moved

    advance_to(shop.admin, sub.trial.end_date, extra_seconds=MINUTE)
    first_charge = current_invoice(p, sid)
    assert first_charge.plan.billing_cycle == 1
    assert (first_charge.plan.plan_id, first_charge.amounts.subtotal) == (other, 1699)
    assert first_charge.period.start == sub.trial.end_date


def test_a_paid_change_to_a_plan_with_a_new_app_opens_its_activation(
    server: RunningServer,
) -> None:
    """Paying a change from a single plan to a bundle with a second app issues a code for that app."""
    t = make_tenancy(server)
    p = t.platform
    first = t.publisher(t.publisher.catalog.CreateProduct, product_request()).product
    second = t.other_publisher(t.other_publisher.catalog.CreateProduct, product_request()).product
    single = p(
        p.catalog.CreatePlan,
        plan_request(
            [first.product_id],
            plan_type=E.PLAN_TYPE_SINGLE,
            prices={"US": phases((999, None))},
        ),
    ).plan.plan_id
    bundle = p(
        p.catalog.CreatePlan,
        plan_request([first.product_id, second.product_id], prices={"US": phases((1699, None))}),
    ).plan.plan_id

    created = subscribe(p, single)
    sid = created.subscription.subscription_id
    opened = pay(p, sid, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    assert [u.app_id for u in opened.activation_urls] == [t.app_id]

    advance(t.admin, DAY)
    changed = update(p, sid, plan_id=bundle)
    invoice = changed.invoice
    assert invoice.status == E.INVOICE_STATUS_OPEN
    assert invoice.amounts.total_amount > 0
    paid = pay(p, sid, invoice.invoice_id, invoice.amounts.total_amount)
    urls = list(paid.activation_urls)
    assert [u.app_id for u in urls] == [t.other_app_id], "no activation for the added app"
    bought = exchange(t.other_publisher, code_in(urls[0]))
    assert (bought.subscription_id, bought.app_id, bought.product_id) == (
        sid,
        t.other_app_id,
        second.product_id,
    )


def test_a_pending_subscription_that_changes_plan_then_pays_gets_activation(
    server: RunningServer,
) -> None:
    """A first payment made on the invoice of a pending plan change opens the activation session."""
    shop = make_shop(server)
    p = shop.platform
    other = shop.plan(prices={"US": phases((1699, None))})
    created = subscribe(p, shop.plan_id)
    sid = created.subscription.subscription_id
    changed = update(p, sid, plan_id=other)
    invoice = changed.invoice
    assert invoice.status == E.INVOICE_STATUS_OPEN

    paid = pay(p, sid, invoice.invoice_id, invoice.amounts.total_amount)
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_ACTIVE
    urls = list(paid.activation_urls)
    assert [u.app_id for u in urls] == [shop.tenancy.app_id], "the paid change opened no activation"
    assert code_in(urls[0])


def test_an_exchanged_codes_item_can_be_confirmed_after_seven_days(
    server: RunningServer,
) -> None:
    """An item whose code was exchanged in time can still be confirmed after the code's 7 days."""
    b = make_bundle(server)
    t = b.tenancy
    bought = buy(b)
    exchange(t.publisher, bought.codes[t.app_id])

    advance(b.admin, 7 * DAY + MINUTE)
    confirmed = update_item(
        t.publisher,
        bought.session_id,
        t.app_id,
        E.ACTIVATION_ITEM_STATUS_ACTIVATED,
        user_id="user_late",
    )
    assert confirmed.activation_item.status == E.ACTIVATION_ITEM_STATUS_ACTIVATED
    assert confirmed.activation_item.user_id == "user_late"


# --- 13. fees on revenue -------------------------------------------------------------------------------


def test_tax_fee_and_subtotal_excluding_tax_of_the_seed_example(server: RunningServer) -> None:
    """1699 at 8.75%: inclusive tax 137 fee 234, exclusive tax 149 total 1848 fee 255 (51 at 3%)."""
    shop = make_shop(server, prices={"US": phases((1699, None))})
    p = shop.platform

    def amounts(invoice: invoice_pb2.Invoice) -> tuple[int, int, int, int]:
        a = invoice.amounts
        assert a.subtotal_excluding_tax == a.total_amount - a.tax_amount
        return (
            a.tax_amount,
            a.total_amount,
            a.subtotal_excluding_tax,
            invoice.plan.platform_fee_amount,
        )

    inclusive = taxed(p, shop.plan_id, E.TAX_BEHAVIOR_INCLUSIVE).invoice
    assert amounts(inclusive) == (137, 1699, 1562, 234)
    exclusive = taxed(p, shop.plan_id, E.TAX_BEHAVIOR_EXCLUSIVE).invoice
    assert amounts(exclusive) == (149, 1848, 1699, 255)

    admin = shop.admin
    cheap = admin(
        admin.tenant.CreatePlatform,
        tenant_pb2.CreatePlatformRequest(name=unique("platform"), fee_rate=0.03),
    ).platform
    low_fee = server.caller(make_key(admin, E.ROLE_PLATFORM, cheap.platform_id))
    plan_id = low_fee(
        low_fee.catalog.CreatePlan,
        plan_request([shop.product_id], prices={"US": phases((1699, None))}),
    ).plan.plan_id
    at_three = taxed(low_fee, plan_id, E.TAX_BEHAVIOR_EXCLUSIVE).invoice
    assert at_three.plan.platform_fee_rate == 0.03
    assert amounts(at_three) == (149, 1848, 1699, 51)


# --- 14. limits ------------------------------------------------------------------------------------------


def test_prices_and_payments_above_ten_to_the_twelve_are_invalid(server: RunningServer) -> None:
    """A plan priced 5*10^18 or a payment above 10^12 is refused INVALID_ARGUMENT, never INTERNAL."""
    shop = make_shop(server, prices={"US": phases((1699, None))})
    p = shop.platform

    def create_plan(cents: int) -> catalog_pb2.CreatePlanResponse:
        request = plan_request([shop.product_id], prices={"US": phases((cents, None))})
        return p(p.catalog.CreatePlan, request)

    for cents in (5 * 10**18, LIMIT + 1):
        assert_fails(lambda: create_plan(cents), INVALID, "invalid_argument")
    assert create_plan(LIMIT).plan.plan_id

    created = subscribe(p, shop.plan_id)
    sid, iid = created.subscription.subscription_id, created.invoice.invoice_id
    assert_fails(lambda: pay(p, sid, iid, LIMIT + 1), INVALID, "invalid_argument", "amount")
    assert get_invoice(p, sid, iid).amounts.amount_paid == 0


# --- refunds due: cancel_now, an ended credit balance, cycles paid ahead ----------------


def test_cancel_now_reports_the_unused_paid_time_as_refund_due(server: RunningServer) -> None:
    """The unused part of a paid period is owed back, in the subscription and its event;
    a refund of it pays it out."""
    shop = make_shop(server, prices={"US": phases((1699, None))})
    p = shop.platform
    sub, invoice = paid_subscription(shop)
    sid = sub.subscription_id
    advance(shop.admin, 10 * DAY)
    at = now(shop.admin)
    ended = cancel(p, sid, cancel_now=True)
    due = prorated(1699, sub.period.start, sub.period.end, at)
    assert 1000 < due < 1699
    assert (ended.status, ended.refund_due, ended.cancellation.ended_at) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        due,
        at,
    )
    (canceled,) = [e for e in events_of(p, sid) if e.type == "subscription.canceled"]
    assert canceled.data["refund_due"] == due

    (payment,) = list_payments(p, sid, invoice.invoice_id)
    pay(p, sid, invoice.invoice_id, -due, original_payment_id=payment.payment_id)
    assert get_subscription(p, sid).refund_due == 0
    assert get_invoice(p, sid, invoice.invoice_id).amounts.amount_paid == 1699 - due
    # The rest paid for the ten days served: the platform may give it back as a
    # goodwill refund, and not one unit more.
    rest = 1699 - due
    pay(p, sid, invoice.invoice_id, -rest, original_payment_id=payment.payment_id)
    assert_fails(
        lambda: pay(p, sid, invoice.invoice_id, -1, original_payment_id=payment.payment_id),
        PRECONDITION,
        "refund_exceeds_paid",
    )
    assert get_invoice(p, sid, invoice.invoice_id).amounts.amount_refunded == 1699


def test_an_ended_subscription_owes_back_its_credit_balance(server: RunningServer) -> None:
    """Credit a cheaper plan could not use moves to refund_due when the subscription ends."""
    shop = make_shop(server, billing_frequency=yearly(), prices={"US": phases((36000, None))})
    p = shop.platform
    monthly = shop.plan(prices={"US": phases((500, None))})
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id
    advance(shop.admin, DAY)
    moved = update(p, sid, plan_id=monthly).subscription
    assert moved.credit_balance > 30000
    advance(shop.admin, DAY)
    at = now(shop.admin)
    ended = cancel(p, sid, cancel_now=True)
    # The month was paid by credit: its unused part comes back as well.
    unused_month = prorated(500, moved.period.start, moved.period.end, at)
    assert 0 < unused_month < 500
    assert ended.credit_balance == 0
    assert ended.refund_due == moved.credit_balance + unused_month


def test_cycles_paid_ahead_and_never_served_are_owed_back(server: RunningServer) -> None:
    """A cancel at period end forgoes the cycle paid ahead: all it collected is refund due."""
    shop = make_shop(server, prices={"US": phases((1699, None))})
    p = shop.platform
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id
    (ahead,) = renew(p, sid, cycles=1).invoices
    pay(p, sid, ahead.invoice_id, ahead.amounts.total_amount)
    canceled = cancel(p, sid)
    assert canceled.cancellation.ended_at == sub.period.end
    advance_to(shop.admin, sub.period.end, extra_seconds=60)
    ended = get_subscription(p, sid)
    assert (ended.status, ended.refund_due) == (E.SUBSCRIPTION_STATUS_CANCELED, 1699)
    forgone = get_invoice(p, sid, ahead.invoice_id)
    assert (forgone.status, forgone.amounts.amount_due) == (E.INVOICE_STATUS_VOID, 0)
    assert [i.plan.billing_cycle for i in list_invoices(p, sid)] == [2, 1]


def test_a_lapse_owes_back_what_was_paid_for_time_past_the_deadline(
    server: RunningServer,
) -> None:
    """Part of a renewal paid, the rest never: access ends at the deadline, and the
    part paid for the days after it is owed back."""
    shop = make_shop(server, prices={"US": phases((1699, None))}, grace_period_days=3)
    p = shop.platform
    sub, _ = paid_subscription(shop)
    sid = sub.subscription_id
    later, renewal = renewed(shop, sid)
    pay(p, sid, renewal.invoice_id, 1000)
    deadline = renewal.period.grace_period_end
    assert deadline == shifted(renewal.period.start, 3 * DAY)
    advance_to(shop.admin, deadline, extra_seconds=60)
    ended = get_subscription(p, sid)
    assert status_reason(ended) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        E.END_REASON_GRACE_PERIOD_LAPSED,
    )
    assert ended.cancellation.ended_at == deadline
    assert ended.refund_due == prorated(1000, later.period.start, later.period.end, deadline)
    void = get_invoice(p, sid, renewal.invoice_id)
    assert (void.status, void.amounts.amount_paid, void.period.end) == (
        E.INVOICE_STATUS_VOID,
        1000,
        deadline,
    )
