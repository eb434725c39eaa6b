"""The money rules of docs/rules.md "Billing rules", in process: grace
deadlines per invoice, zero invoices settled at once, credit balances,
credit from a voided first invoice, refunds that count, capped retries,
first invoices that expire, dunning that no cancel, uncancel or plan change
escapes, back-to-back periods after a pause, plan levels that take over when
they start, trials kept across plan changes, and what is owed back when a
subscription ends.

What the wire adds (activation codes for added apps, fees as the API shows
them, the 10^12 limit on requests) stays in tests/test_billing_rules.py."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from fractions import Fraction

import pytest

from bento_server.billing import money
from bento_server.billing.statuses import (
    EndReason,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from bento_server.errors import FailedPrecondition
from bento_server.store.models import Invoice, Subscription
from tests.helpers.in_process import Bento, Shop, frequency, phases, unique

S = SubscriptionStatus
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Statuses that run a subscription (hold access when paid up).
RUNNING = (S.ACTIVE, S.TRIALING, S.PAST_DUE)


# --- helpers ------------------------------------------------------------------


def amount_due(invoice: Invoice) -> int:
    """What the invoice owes, as the API shows it."""
    return money.amount_due(invoice.status, invoice.total_amount, invoice.amount_paid)


def micros(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=instant.tzinfo)) // timedelta(microseconds=1)


def prorated(amount: int, start: datetime, end: datetime, at: datetime) -> int:
    """round_half_up(amount * unused / length) for a change at ``at``."""
    exact = Fraction(amount * (micros(end) - micros(at)), micros(end) - micros(start))
    return math.floor(exact + Fraction(1, 2))


def taxed(bento: Bento, shop: Shop, plan_id: str, behavior: str) -> tuple[Subscription, Invoice]:
    """A subscription taxed at 8.75% sales tax, ``behavior`` inclusive or exclusive."""
    created = bento.subscribe(
        shop.platform, plan_id, tax_rate=0.0875, tax_type="sales_tax", tax_behavior=behavior
    )
    assert created.invoice is not None
    return created.subscription, created.invoice


def renewed(bento: Bento, shop: Shop, subscription_id: str) -> tuple[Subscription, Invoice]:
    """Moves the clock to the next billing date: the subscription and its new invoice."""
    sub = bento.subscription(shop.platform, subscription_id)
    bento.advance_to(sub.next_billing_date)
    return (
        bento.subscription(shop.platform, subscription_id),
        bento.current_invoice(shop.platform, subscription_id),
    )


def status_reason(sub: Subscription) -> tuple[str, str | None]:
    return sub.status, sub.end_reason


def allowed(bento: Bento, shop: Shop, session_id: str) -> bool:
    return bento.check_access(shop.platform, session_id, shop.product_id).allowed


# --- 1. grace deadlines are per invoice and never move ------------------------------


def test_renewals_never_move_the_grace_deadline_of_an_unpaid_invoice(bento: Bento) -> None:
    """An unpaid renewal lapses at its own period start + grace days, however many renewals follow."""
    shop = bento.shop(
        billing_frequency=frequency("week"),
        grace_period_days=10,
        prices={"US": phases((999, None))},
    )
    p = shop.platform
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id

    second, cycle_2 = renewed(bento, shop, sid)
    assert cycle_2.billing_cycle == 2
    assert cycle_2.status == InvoiceStatus.OPEN
    deadline = cycle_2.period_start + 10 * DAY
    assert second.grace_period_end == deadline

    # Day 14: cycle 3 is issued before cycle 2's deadline (day 17); it moves nothing.
    third, cycle_3 = renewed(bento, shop, sid)
    assert cycle_3.billing_cycle == 3
    assert cycle_3.status == InvoiceStatus.OPEN
    assert third.status in RUNNING
    assert third.grace_period_end == deadline, "a renewal moved the debt's deadline"
    for invoice in (cycle_2, bento.invoice(p, sid, cycle_2.id)):
        assert invoice.grace_period_end == deadline

    bento.advance_to(deadline, -HOUR)
    assert allowed(bento, shop, sub.session_id)

    bento.advance_to(deadline, timedelta(seconds=1))
    lapsed = bento.subscription(p, sid)
    assert status_reason(lapsed) == (S.CANCELED, EndReason.GRACE_PERIOD_LAPSED)
    assert not allowed(bento, shop, sub.session_id)
    for invoice_id in (cycle_2.id, cycle_3.id):
        void = bento.invoice(p, sid, invoice_id)
        assert (void.status, amount_due(void)) == (InvoiceStatus.VOID, 0)


# --- 2. no grace days: one retry delay, no free period ---------------------------------


def test_without_grace_days_an_unpaid_renewal_ends_one_retry_delay_after_the_period_start(
    bento: Bento,
) -> None:
    """With 0 grace days an unpaid renewal keeps access for 60 minutes, then the subscription lapses."""
    shop = bento.shop(
        billing_frequency=frequency("week"),
        grace_period_days=0,
        prices={"US": phases((999, None))},
    )
    p = shop.platform
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id

    running, invoice = renewed(bento, shop, sid)
    assert invoice.billing_cycle == 2
    assert invoice.retries_delay_minutes == 60
    deadline = invoice.period_start + 60 * MINUTE
    assert (running.status, running.payment_status) == (S.ACTIVE, PaymentStatus.UNPAID)

    bento.advance_to(invoice.period_start, 30 * MINUTE)
    assert allowed(bento, shop, sub.session_id)

    bento.advance_to(invoice.period_start, 61 * MINUTE)
    lapsed = bento.subscription(p, sid)
    assert status_reason(lapsed) == (S.CANCELED, EndReason.GRACE_PERIOD_LAPSED), (
        "still running more than one retry delay after an unpaid renewal with 0 grace days"
    )
    assert not allowed(bento, shop, sub.session_id)
    assert bento.invoice(p, sid, invoice.id).status == InvoiceStatus.VOID
    assert running.grace_period_end == deadline


# --- 3. a zero invoice is settled at once ------------------------------------------------


def test_a_free_first_phase_starts_the_subscription_at_once(bento: Bento) -> None:
    """A first invoice of 0 is settled at issue: active with access, then renews into the paid phase."""
    shop = bento.shop(
        billing_frequency=frequency("week"), prices={"US": phases((0, 1), (999, None))}
    )
    p = shop.platform
    created = bento.subscribe(p, shop.plan_id)
    sub, first = created.subscription, created.invoice
    assert first is not None
    sid = sub.id

    assert first.total_amount == 0
    assert (first.status, first.payment_status) == (
        InvoiceStatus.PAID,
        PaymentStatus.NO_PAYMENT_REQUIRED,
    ), "a zero first invoice is left open"
    assert amount_due(first) == 0
    assert sub.status == S.ACTIVE, "stuck pending on a zero invoice"
    assert sub.payment_status in (PaymentStatus.PAID, PaymentStatus.NO_PAYMENT_REQUIRED)
    assert bento.subscription(p, sid).status == S.ACTIVE
    assert allowed(bento, shop, sub.session_id)

    after, second = renewed(bento, shop, sid)
    assert second.billing_cycle == 2
    assert (second.subtotal, second.total_amount, amount_due(second)) == (999, 999, 999)
    assert (second.status, second.payment_status) == (InvoiceStatus.OPEN, PaymentStatus.UNPAID)
    assert (after.status, after.payment_status) == (S.ACTIVE, PaymentStatus.UNPAID)


# --- 4. credit the new invoice cannot use is kept ----------------------------------------


def test_credit_a_cheaper_plan_cannot_use_is_kept_as_balance_and_applied_later(
    bento: Bento,
) -> None:
    """A change from a paid yearly plan to a cheap monthly one keeps the unused credit and spends it on renewals."""
    shop = bento.shop(billing_frequency=frequency("year"), prices={"US": phases((36000, None))})
    p = shop.platform
    monthly = shop.plan(prices={"US": phases((500, None))})
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id

    bento.advance(DAY.total_seconds())
    at = bento.now()
    changed = bento.change_plan(p, sid, monthly)
    credit = prorated(36000, sub.period_start, sub.period_end, at)
    invoice, moved = changed.invoice, changed.subscription
    assert invoice is not None
    assert (invoice.subtotal, invoice.proration_credit, invoice.total_amount) == (500, 500, 0)
    assert (invoice.status, invoice.payment_status) == (
        InvoiceStatus.PAID,
        PaymentStatus.NO_PAYMENT_REQUIRED,
    )
    assert invoice.proration_credit + moved.credit_balance == credit, (
        f"credit {credit} of the unused year: "
        f"{credit - invoice.proration_credit - moved.credit_balance} vanished"
    )
    assert moved.credit_balance == credit - 500
    assert bento.subscription(p, sid).credit_balance == moved.credit_balance

    later, renewal = renewed(bento, shop, sid)
    assert renewal.plan_id == monthly
    assert (
        renewal.subtotal,
        renewal.credit_applied,
        renewal.total_amount,
        amount_due(renewal),
    ) == (500, 500, 0, 0)
    assert renewal.status == InvoiceStatus.PAID
    assert later.credit_balance == moved.credit_balance - 500
    assert later.status == S.ACTIVE


# --- 5. a plan change of a pending subscription keeps what was paid ---------------------


def test_a_plan_change_on_a_partly_paid_first_invoice_keeps_the_money(bento: Bento) -> None:
    """What was collected on a voided first invoice becomes credit on the new plan: nothing lost."""
    shop = bento.shop(prices={"US": phases((1699, None))})
    p = shop.platform
    other = shop.plan(prices={"US": phases((1699, None))})
    sub, old = taxed(bento, shop, shop.plan_id, "exclusive")
    sid = sub.id
    assert old.total_amount == 1848
    bento.pay(p, sid, old.id, 1000)
    assert bento.subscription(p, sid).status == S.PENDING

    changed = bento.change_plan(p, sid, other)
    void = bento.invoice(p, sid, old.id)
    assert (void.status, amount_due(void)) == (InvoiceStatus.VOID, 0)
    invoice, moved = changed.invoice, changed.subscription
    assert invoice is not None
    assert invoice.plan_id == other
    kept = invoice.proration_credit + invoice.credit_applied + moved.credit_balance
    assert kept == 1000, f"1000 collected on the voided invoice, {kept} carried to the new plan"


# --- 6. refunds lower what was paid --------------------------------------------------------


def test_refunds_count_against_amount_paid_and_are_bounded_by_their_payment(
    bento: Bento,
) -> None:
    """A refund on an open invoice is owed again, and no refund exceeds what is left of its payment."""
    shop = bento.shop(prices={"US": phases((1699, None))})
    p = shop.platform
    sub, invoice = taxed(bento, shop, shop.plan_id, "exclusive")
    sid, iid = sub.id, invoice.id
    assert invoice.total_amount == 1848

    first = bento.pay(p, sid, iid, 1000).payment
    assert first is not None
    back = bento.pay(p, sid, iid, -400, original_payment_id=first.id).payment
    assert back is not None
    assert (back.amount, back.status, back.original_payment_id) == (-400, "succeeded", first.id)
    second = bento.pay(p, sid, iid, 848).payment
    assert second is not None

    still = bento.invoice(p, sid, iid)
    assert still.status == InvoiceStatus.OPEN, "a refunded 400 was counted as paid"
    assert (still.amount_paid, still.amount_refunded, amount_due(still)) == (1448, 400, 400)
    assert bento.subscription(p, sid).status == S.PENDING

    bento.pay(p, sid, iid, 400)
    paid = bento.invoice(p, sid, iid)
    assert (paid.status, paid.amount_paid, amount_due(paid)) == (InvoiceStatus.PAID, 1848, 0)
    assert bento.subscription(p, sid).status == S.ACTIVE

    with pytest.raises(FailedPrecondition) as refused:
        bento.pay(p, sid, iid, -1000, original_payment_id=second.id)
    assert refused.value.reason == "refund_exceeds_paid"
    assert bento.invoice(p, sid, iid).__data__ == paid.__data__


# --- 7. retries stop at the maximum -------------------------------------------------------


def test_failed_renewal_payments_stop_counting_at_the_retry_maximum(bento: Bento) -> None:
    """Five failures on a renewal count three retries, schedule none after the third, and leave it unpaid."""
    shop = bento.shop(billing_frequency=frequency("week"), prices={"US": phases((999, None))})
    p = shop.platform
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id
    _, invoice = renewed(bento, shop, sid)
    assert (invoice.billing_cycle, invoice.retries_max) == (2, 3)

    expected = [
        (1, S.PAST_DUE),
        (2, S.PAST_DUE),
        (3, S.UNPAID),
        (3, S.UNPAID),
        (3, S.UNPAID),
    ]
    for attempt, (count, status) in enumerate(expected, start=1):
        bento.advance((10 * MINUTE).total_seconds())
        bento.pay(p, sid, invoice.id, 999, "failed", error_code="card_declined")
        got = bento.invoice(p, sid, invoice.id)
        assert (got.retries_count, got.retries_max) == (count, 3), f"after failure {attempt}"
        if count < got.retries_max:
            assert got.retries_next_date - got.retries_last_date == timedelta(minutes=60)
        else:
            assert got.retries_next_date is None, f"a retry scheduled after failure {attempt}"
        assert bento.subscription(p, sid).status == status, f"after failure {attempt}"

    refused = bento.check_access(p, sub.session_id, shop.product_id)
    assert not refused.allowed
    assert refused.reason == "unpaid"


# --- 8. a first invoice never paid expires ---------------------------------------------------


def test_a_first_invoice_never_paid_expires_after_max_of_grace_and_one_day(bento: Bento) -> None:
    """A pending subscription ends incomplete_expired max(grace days, 1) days after creation, its invoice void."""
    shop = bento.shop(grace_period_days=0)
    p = shop.platform
    three_days = shop.plan(grace_period_days=3)
    no_grace = bento.subscribe(p, shop.plan_id)
    with_grace = bento.subscribe(p, three_days)
    assert no_grace.invoice is not None and with_grace.invoice is not None
    quick, patient = no_grace.subscription, with_grace.subscription
    # Part of the patient one's invoice is paid: nothing is served, so it is owed back.
    bento.pay(p, patient.id, with_grace.invoice.id, 300)

    bento.advance_to(quick.created_at, DAY - MINUTE)
    assert bento.subscription(p, quick.id).status == S.PENDING

    bento.advance_to(quick.created_at, DAY + timedelta(seconds=1))
    expired = bento.subscription(p, quick.id)
    assert status_reason(expired) == (S.CANCELED, EndReason.INCOMPLETE_EXPIRED), (
        "a never-paid subscription is still pending a day after creation"
    )
    void = bento.invoice(p, quick.id, no_grace.invoice.id)
    assert (void.status, amount_due(void)) == (InvoiceStatus.VOID, 0)
    assert no_grace.invoice.grace_period_end == quick.created_at + DAY

    bento.advance_to(patient.created_at, 2 * DAY)
    assert bento.subscription(p, patient.id).status == S.PENDING

    bento.advance_to(patient.created_at, 3 * DAY + timedelta(seconds=1))
    expired = bento.subscription(p, patient.id)
    assert status_reason(expired) == (S.CANCELED, EndReason.INCOMPLETE_EXPIRED)
    void = bento.invoice(p, patient.id, with_grace.invoice.id)
    assert (void.status, amount_due(void)) == (InvoiceStatus.VOID, 0)
    assert expired.refund_due == 300


# --- 9. no escape from dunning -----------------------------------------------------------------


def test_a_past_due_subscription_canceled_at_period_end_loses_access_at_its_grace_deadline(
    bento: Bento,
) -> None:
    """Canceling a past-due subscription at period end keeps access only until its unpaid invoice's deadline."""
    shop = bento.shop(
        billing_frequency=frequency("week"),
        grace_period_days=3,
        prices={"US": phases((999, None))},
    )
    p = shop.platform
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id
    _, invoice = renewed(bento, shop, sid)
    bento.pay(p, sid, invoice.id, 999, "failed")
    assert bento.subscription(p, sid).status == S.PAST_DUE
    deadline = invoice.period_start + 3 * DAY

    canceled = bento.cancel(p, sid)
    assert canceled.status == S.CANCELED
    assert canceled.ended_at == invoice.period_end
    assert canceled.grace_period_end == deadline

    bento.advance_to(deadline, -HOUR)
    assert allowed(bento, shop, sub.session_id)

    bento.advance_to(deadline, timedelta(seconds=1))
    assert not allowed(bento, shop, sub.session_id), (
        "access kept until the period end past the unpaid invoice's deadline"
    )
    void = bento.invoice(p, sid, invoice.id)
    assert (void.status, amount_due(void)) == (InvoiceStatus.VOID, 0)


def test_uncancel_and_plan_change_keep_the_grace_deadline_and_the_debt(bento: Bento) -> None:
    """Neither an uncancel nor a plan change moves the grace deadline or voids the unpaid invoice."""
    shop = bento.shop(
        billing_frequency=frequency("week"),
        grace_period_days=3,
        prices={"US": phases((999, None))},
    )
    p = shop.platform
    other = shop.plan(
        billing_frequency=frequency("week"),
        grace_period_days=3,
        prices={"US": phases((1299, None))},
    )
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id
    _, invoice = renewed(bento, shop, sid)
    bento.pay(p, sid, invoice.id, 999, "failed")
    owing = bento.subscription(p, sid)
    assert owing.status == S.PAST_DUE
    deadline = invoice.period_start + 3 * DAY
    assert owing.grace_period_end == deadline

    bento.advance(HOUR.total_seconds())
    bento.cancel(p, sid)
    back = bento.renew(p, sid, uncancel=True).subscription
    assert back.status == S.PAST_DUE
    assert back.grace_period_end == deadline, "uncancel moved the grace deadline"
    assert bento.invoice(p, sid, invoice.id).status == InvoiceStatus.OPEN

    bento.advance(HOUR.total_seconds())
    changed = bento.change_plan(p, sid, other)
    assert changed.subscription.plan_id == other
    assert changed.subscription.grace_period_end == deadline, (
        "the plan change moved the grace deadline"
    )
    debt = bento.invoice(p, sid, invoice.id)
    assert debt.status == InvoiceStatus.OPEN, "the plan change voided the unpaid invoice"
    assert amount_due(debt) > 0
    assert bento.subscription(p, sid).grace_period_end == deadline

    bento.advance_to(deadline, timedelta(seconds=1))
    lapsed = bento.subscription(p, sid)
    assert status_reason(lapsed) == (S.CANCELED, EndReason.GRACE_PERIOD_LAPSED)
    assert not allowed(bento, shop, sub.session_id)


# --- 10. periods stay back to back across a pause ------------------------------------------------


def test_after_a_pause_the_next_period_starts_at_the_shifted_period_end(bento: Bento) -> None:
    """A pause of 25 days shifts the period end by 25 days and the next cycle starts exactly there."""
    shop = bento.shop(can_pause=True, prices={"US": phases((999, None))})
    p = shop.platform
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id

    bento.advance((20 * DAY).total_seconds())
    bento.pause(p, sid)
    bento.advance((25 * DAY).total_seconds())
    resumed = bento.resume(p, sid)
    assert resumed.status == S.ACTIVE
    assert resumed.period_end - sub.period_end == timedelta(days=25)
    assert resumed.next_billing_date == resumed.period_end

    after, invoice = renewed(bento, shop, sid)
    assert invoice.billing_cycle == 2
    assert invoice.period_start == resumed.period_end, (
        f"cycle 2 starts {invoice.period_start - resumed.period_end} after the shifted end"
    )
    assert after.period_start == resumed.period_end
    assert (after.period_start, after.period_end) == (invoice.period_start, invoice.period_end)


# --- 11. plan levels take over when they start ----------------------------------------------------


def test_a_pending_higher_tier_leaves_the_holder_running_until_it_is_paid(bento: Bento) -> None:
    """On a single-active platform a higher tier pauses the holder only once it is paid."""
    shop = bento.shop(single_active=True)
    p = shop.platform
    session = unique("session")
    low, _ = bento.paid_subscription(shop, session_id=session)
    high = bento.subscribe(p, shop.plan(tier=2), session_id=session)
    hid = high.subscription.id
    assert high.subscription.status == S.PENDING

    holder = bento.subscription(p, low.id)
    assert holder.status == S.ACTIVE, "an unpaid higher tier paused the holder"
    granted = bento.check_access(p, session, shop.product_id)
    assert (granted.allowed, granted.subscription_id) == (True, low.id)

    bento.pay_first(p, high)
    assert bento.subscription(p, hid).status == S.ACTIVE
    assert bento.subscription(p, low.id).status == S.PAUSED
    granted = bento.check_access(p, session, shop.product_id)
    assert (granted.allowed, granted.subscription_id) == (True, hid)


def test_two_tiers_paid_one_after_the_other_never_run_together(bento: Bento) -> None:
    """Two pending tiers paid in either order leave only the higher one running."""
    shop = bento.shop(single_active=True)
    p = shop.platform
    high_plan = shop.plan(tier=2)
    for order in ("low_first", "high_first"):
        session = unique("session")
        low = bento.subscribe(p, shop.plan_id, session_id=session)
        high = bento.subscribe(p, high_plan, session_id=session)
        lid, hid = low.subscription.id, high.subscription.id
        paying = [low, high] if order == "low_first" else [high, low]
        for outcome in paying:
            bento.pay_first(p, outcome)
            statuses = {s: bento.subscription(p, s).status for s in (lid, hid)}
            running = [s for s, status in statuses.items() if status in RUNNING]
            assert len(running) <= 1, (order, statuses)
        assert bento.subscription(p, hid).status == S.ACTIVE, order
        assert bento.subscription(p, lid).status == S.PAUSED, order
        granted = bento.check_access(p, session, shop.product_id)
        assert (granted.allowed, granted.subscription_id) == (True, hid), order


def test_a_lower_tier_paid_during_a_higher_trial_waits_paused(bento: Bento) -> None:
    """Paying a pending tier-1 while a tier-2 trial runs leaves tier-1 paused, not beside the trial."""
    shop = bento.shop(single_active=True)
    p = shop.platform
    session = unique("session")
    low = bento.subscribe(p, shop.plan_id, session_id=session)
    trial = bento.subscribe(p, shop.plan(tier=2, free_trial_days=7), session_id=session)
    lid, tid = low.subscription.id, trial.subscription.id
    assert trial.subscription.status == S.TRIALING

    bento.pay_first(p, low)
    assert bento.subscription(p, lid).status == S.PAUSED, (
        "the paid lower tier runs beside the higher trial"
    )
    assert bento.subscription(p, tid).status == S.TRIALING
    granted = bento.check_access(p, session, shop.product_id)
    assert (granted.allowed, granted.subscription_id) == (True, tid)


# --- 12. trials ---------------------------------------------------------------------------------


def test_a_plan_change_during_a_trial_keeps_the_trial(bento: Bento) -> None:
    """A plan change on day 2 of a 14-day trial keeps the trial and charges the new plan when it ends."""
    shop = bento.shop(free_trial_days=14, prices={"US": phases((999, None))})
    p = shop.platform
    other = shop.plan(prices={"US": phases((1699, None))})
    sub = bento.subscribe(p, shop.plan_id).subscription
    sid = sub.id
    assert sub.status == S.TRIALING

    bento.advance(DAY.total_seconds())
    changed = bento.change_plan(p, sid, other)
    moved = changed.subscription
    assert moved.plan_id == other
    assert moved.status == S.TRIALING, "the plan change ended the trial"
    assert moved.trial_end == sub.trial_end
    charged = [i for i in bento.invoices(p, sid) if i.total_amount > 0]
    assert charged == [], "a charged invoice was issued during the trial"
    # (no invoice at all, or one of 0: the wire shows both as a total of 0)
    assert changed.invoice is None or changed.invoice.total_amount == 0
    assert bento.subscription(p, sid).__data__ == moved.__data__

    bento.advance_to(sub.trial_end, MINUTE)
    first_charge = bento.current_invoice(p, sid)
    assert first_charge.billing_cycle == 1
    assert (first_charge.plan_id, first_charge.subtotal) == (other, 1699)
    assert first_charge.period_start == sub.trial_end


# --- refunds due: cancel_now, an ended credit balance, cycles paid ahead ----------------


def test_cancel_now_reports_the_unused_paid_time_as_refund_due(bento: Bento) -> None:
    """The unused part of a paid period is owed back, in the subscription and its event;
    a refund of it pays it out."""
    shop = bento.shop(prices={"US": phases((1699, None))})
    p = shop.platform
    sub, invoice = bento.paid_subscription(shop)
    sid = sub.id
    bento.advance((10 * DAY).total_seconds())
    at = bento.now()
    ended = bento.cancel(p, sid, now=True)
    due = prorated(1699, sub.period_start, sub.period_end, at)
    assert 1000 < due < 1699
    assert (ended.status, ended.refund_due, ended.ended_at) == (S.CANCELED, due, at)
    (canceled,) = [e for e in bento.events(p, sid) if e.type == "subscription.canceled"]
    assert canceled.data["refund_due"] == due

    (payment,) = bento.payments_of(p, sid, invoice.id)
    bento.pay(p, sid, invoice.id, -due, original_payment_id=payment.id)
    assert bento.subscription(p, sid).refund_due == 0
    assert bento.invoice(p, sid, invoice.id).amount_paid == 1699 - due
    # The rest paid for the ten days served: the platform may give it back as a
    # goodwill refund, and not one unit more.
    rest = 1699 - due
    bento.pay(p, sid, invoice.id, -rest, original_payment_id=payment.id)
    with pytest.raises(FailedPrecondition) as refused:
        bento.pay(p, sid, invoice.id, -1, original_payment_id=payment.id)
    assert refused.value.reason == "refund_exceeds_paid"
    assert bento.invoice(p, sid, invoice.id).amount_refunded == 1699


def test_an_ended_subscription_owes_back_its_credit_balance(bento: Bento) -> None:
    """Credit a cheaper plan could not use moves to refund_due when the subscription ends."""
    shop = bento.shop(billing_frequency=frequency("year"), prices={"US": phases((36000, None))})
    p = shop.platform
    monthly = shop.plan(prices={"US": phases((500, None))})
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id
    bento.advance(DAY.total_seconds())
    moved = bento.change_plan(p, sid, monthly).subscription
    assert moved.credit_balance > 30000
    bento.advance(DAY.total_seconds())
    at = bento.now()
    ended = bento.cancel(p, sid, now=True)
    # The month was paid by credit: its unused part comes back as well.
    unused_month = prorated(500, moved.period_start, moved.period_end, at)
    assert 0 < unused_month < 500
    assert ended.credit_balance == 0
    assert ended.refund_due == moved.credit_balance + unused_month


def test_cycles_paid_ahead_and_never_served_are_owed_back(bento: Bento) -> None:
    """A cancel at period end forgoes the cycle paid ahead: all it collected is refund due."""
    shop = bento.shop(prices={"US": phases((1699, None))})
    p = shop.platform
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id
    (ahead,) = bento.renew(p, sid, cycles=1).invoices
    bento.pay(p, sid, ahead.id, ahead.total_amount)
    canceled = bento.cancel(p, sid)
    assert canceled.ended_at == sub.period_end
    bento.advance_to(sub.period_end, timedelta(seconds=60))
    ended = bento.subscription(p, sid)
    assert (ended.status, ended.refund_due) == (S.CANCELED, 1699)
    forgone = bento.invoice(p, sid, ahead.id)
    assert (forgone.status, amount_due(forgone)) == (InvoiceStatus.VOID, 0)
    assert [i.billing_cycle for i in bento.invoices(p, sid)] == [2, 1]


def test_a_lapse_owes_back_what_was_paid_for_time_past_the_deadline(bento: Bento) -> None:
    """Part of a renewal paid, the rest never: access ends at the deadline, and the
    part paid for the days after it is owed back."""
    shop = bento.shop(prices={"US": phases((1699, None))}, grace_period_days=3)
    p = shop.platform
    sub, _ = bento.paid_subscription(shop)
    sid = sub.id
    later, renewal = renewed(bento, shop, sid)
    bento.pay(p, sid, renewal.id, 1000)
    deadline = renewal.grace_period_end
    assert deadline == renewal.period_start + 3 * DAY
    bento.advance_to(deadline, timedelta(seconds=60))
    ended = bento.subscription(p, sid)
    assert status_reason(ended) == (S.CANCELED, EndReason.GRACE_PERIOD_LAPSED)
    assert ended.ended_at == deadline
    assert ended.refund_due == prorated(1000, later.period_start, later.period_end, deadline)
    void = bento.invoice(p, sid, renewal.id)
    assert (void.status, void.amount_paid, void.period_end) == (
        InvoiceStatus.VOID,
        1000,
        deadline,
    )


# --- 13. fees on revenue -------------------------------------------------------------------------------


def test_tax_fee_and_subtotal_excluding_tax_of_the_seed_example(bento: Bento) -> None:
    """1699 at 8.75%: inclusive tax 137 fee 234, exclusive tax 149 total 1848 fee 255 (51 at 3%)."""
    shop = bento.shop(prices={"US": phases((1699, None))})

    def amounts(invoice: Invoice) -> tuple[int, int, int, int]:
        return (
            invoice.tax_amount,
            invoice.total_amount,
            invoice.total_amount - invoice.tax_amount,
            invoice.platform_fee_amount,
        )

    _, inclusive = taxed(bento, shop, shop.plan_id, "inclusive")
    assert amounts(inclusive) == (137, 1699, 1562, 234)
    _, exclusive = taxed(bento, shop, shop.plan_id, "exclusive")
    assert amounts(exclusive) == (149, 1848, 1699, 255)

    low_fee = bento.platform(fee_rate=0.03)
    cheap = Shop(bento, low_fee, shop.publisher, shop.product_id)
    cheap.plan_id = cheap.plan(prices={"US": phases((1699, None))})
    _, at_three = taxed(bento, cheap, cheap.plan_id, "exclusive")
    assert at_three.platform_fee_rate == 0.03
    assert amounts(at_three) == (149, 1848, 1699, 51)
