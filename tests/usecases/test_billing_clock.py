"""The billing clock's rules, in process: renewals, trial ends, grace
lapses, period ends and plans that close, driven by the test clock; a
batch whose one subscription fails; a sweep of many batches. Two servers
racing and what an operator sees of a failure stay over the wire
(tests/test_billing_clock.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import peewee
import pytest

from bento_server.billing.statuses import (
    EndReason,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from bento_server.clock import TestClock
from bento_server.infra import scheduler
from bento_server.store.models import Event, Invoice
from bento_server.usecases import billing_clock
from bento_server.usecases.context import Deps
from tests.helpers.in_process import Bento, frequency, phases
from tests.support import refuse_events

S = SubscriptionStatus
DAY = timedelta(days=1)
_WEEKLY: dict[str, Any] = {"billing_frequency": frequency("week"), "grace_period_days": 15}


def test_a_year_of_renewals_with_a_recovery_and_a_lapse(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    created = bento.subscribe(p, shop.plan_id)  # 999 for 3 cycles, then 1699; 7 grace days
    sub_id = created.subscription.id
    bento.pay_first(p, created)

    for cycle in range(2, 14):  # twelve renewals
        sub = bento.subscription(p, sub_id)
        bento.advance_to(sub.next_billing_date)
        renewed = bento.subscription(p, sub_id)
        invoice = bento.current_invoice(p, sub_id)
        assert invoice.billing_cycle == cycle
        assert invoice.subtotal == (999 if cycle <= 3 else 1699)
        assert invoice.period_start == sub.period_end
        assert renewed.period_start == sub.period_end
        assert (renewed.status, renewed.payment_status) == (S.ACTIVE, PaymentStatus.UNPAID)
        if cycle == 6:
            # A missed payment, recovered inside the grace period.
            bento.pay(p, sub_id, invoice.id, invoice.total_amount, "failed")
            assert bento.subscription(p, sub_id).status == S.PAST_DUE
            bento.advance(3 * DAY.total_seconds())
            assert bento.subscription(p, sub_id).status == S.PAST_DUE
        if cycle == 13:
            break  # this one is never paid
        bento.pay(p, sub_id, invoice.id, invoice.total_amount)
        assert bento.subscription(p, sub_id).status == S.ACTIVE

    unpaid = bento.subscription(p, sub_id)
    deadline = unpaid.grace_period_end
    assert deadline == unpaid.period_start + 7 * DAY
    bento.advance_to(deadline, timedelta(seconds=1))
    ended = bento.subscription(p, sub_id)
    assert ended.status == S.CANCELED
    assert ended.ended_at == deadline
    invoices = bento.invoices(p, sub_id)
    assert [i.billing_cycle for i in invoices] == list(range(13, 0, -1))
    assert invoices[0].status == InvoiceStatus.VOID
    assert all(i.status == InvoiceStatus.PAID for i in invoices[1:])

    events = bento.events(p, sub_id)
    story = [e.type for e in events if e.type not in ("invoice.created", "usage.reset")]
    assert story.count("subscription.renewed") == 11  # cycles 2..12 paid; 13 lapsed
    assert story.count("subscription.past_due") == 1
    assert story[-1] == "subscription.canceled"
    assert len([e for e in events if e.type == "invoice.created"]) == 13
    lapse = [e for e in events if e.type == "subscription.canceled"][-1]
    assert lapse.data["reason"] == "grace_period_lapsed"


def test_a_trial_converts_to_its_first_charge(bento: Bento) -> None:
    shop = bento.shop()
    trial_plan = shop.plan(free_trial_days=7)
    sub = bento.subscribe(shop.platform, trial_plan).subscription
    assert sub.status == S.TRIALING
    bento.advance_to(sub.trial_end)
    converted = bento.subscription(shop.platform, sub.id)
    assert (converted.status, converted.payment_status) == (S.ACTIVE, PaymentStatus.UNPAID)
    assert converted.period_start == sub.trial_end
    first_charge = bento.current_invoice(shop.platform, sub.id)
    assert (first_charge.billing_cycle, first_charge.subtotal) == (1, 999)
    assert first_charge.status == InvoiceStatus.OPEN
    bento.pay(shop.platform, sub.id, first_charge.id, first_charge.total_amount)
    paid = bento.subscription(shop.platform, sub.id)
    assert (paid.status, paid.payment_status, paid.cycle_count) == (
        S.ACTIVE,
        PaymentStatus.PAID,
        1,
    )


def test_cancel_at_period_end_ends_without_another_invoice(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    created = bento.subscribe(p, shop.plan_id)
    sub_id = created.subscription.id
    bento.pay_first(p, created)
    canceled = bento.cancel(p, sub_id)
    bento.advance_to(canceled.period_end, DAY)
    assert len(bento.invoices(p, sub_id)) == 1
    ended = [e for e in bento.events(p, sub_id) if e.type == "subscription.canceled"][-1]
    assert ended.data["reason"] == "period_ended"
    assert bento.subscription(p, sub_id).ended_at == canceled.period_end


def test_a_closing_plan_ends_after_its_last_phase(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    closing = shop.plan(prices={"US": phases((500, 2))}, end_behavior="close")
    created = bento.subscribe(p, closing)
    sub_id = created.subscription.id
    bento.pay_first(p, created)
    bento.advance_to(bento.subscription(p, sub_id).next_billing_date)
    second = bento.current_invoice(p, sub_id)
    assert (second.billing_cycle, second.subtotal) == (2, 500)
    bento.pay(p, sub_id, second.id, second.total_amount)
    last_end = bento.subscription(p, sub_id).period_end
    bento.advance_to(last_end, timedelta(seconds=60))
    ended = bento.subscription(p, sub_id)
    assert ended.status == S.CANCELED
    assert ended.ended_at == last_end
    assert len(bento.invoices(p, sub_id)) == 2
    closed = [e for e in bento.events(p, sub_id) if e.type == "subscription.canceled"][-1]
    assert closed.data["reason"] == "plan_closed"


def test_crossing_three_periods_renews_three_times_in_order(bento: Bento) -> None:
    shop = bento.shop()
    p = shop.platform
    daily = shop.plan(billing_frequency=frequency("day"), grace_period_days=30)
    created = bento.subscribe(p, daily)
    sub_id = created.subscription.id
    bento.pay_first(p, created)
    start = created.subscription.period_start
    bento.advance_to(start, 3 * DAY + timedelta(seconds=60))
    invoices = list(reversed(bento.invoices(p, sub_id)))
    assert [i.billing_cycle for i in invoices] == [1, 2, 3, 4]
    # Each was issued at its own period's start, not at the moment of the move.
    for invoice in invoices[1:]:
        assert invoice.invoice_date == invoice.period_start
    assert [i.period_start for i in invoices] == [start + n * DAY for n in range(4)]


@pytest.mark.parametrize("failure", ["core", "store", "unreadable"])
def test_a_subscription_that_fails_in_a_batch_is_left_untouched_and_the_others_renew(
    bento: Bento, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    """Subscriptions due at one instant renew in one batch; the one whose
    renewal fails is rolled back alone and logged, the others renew once.

    It fails in the billing core (its price phase has no price), in the
    store after its invoice and its row were written (the store refuses its
    event), or before anything is decided (its row cannot be read)."""
    bento.audited = False  # one row is broken on purpose
    store = bento.deps.store
    shop = bento.shop()
    p = shop.platform
    created = [bento.subscribe(p, shop.plan_id) for _ in range(7)]
    for c in created:
        bento.pay_first(p, c)
    ids = [c.subscription.id for c in created]
    broken = ids[3]
    bento.advance(8 * DAY.total_seconds())  # their activation codes expire: nothing else is due
    # Due at one instant: the renewals make one batch.
    assert len({c.subscription.period_end for c in created}) == 1
    mark = store.db.param
    if failure == "core":
        store.db.execute_sql(
            f"UPDATE subscription SET phases = {mark} WHERE id = {mark}",
            ('[{"phase_id": "x", "order": 1}]', broken),
        )
    elif failure == "unreadable":
        store.db.execute_sql(
            f"UPDATE subscription SET phases = {mark} WHERE id = {mark}", ("[{not json", broken)
        )
        # Its usage windows go: their reset, due at the same instant,
        # reads the row too, and is not what this test is about.
        store.db.execute_sql(
            f"DELETE FROM subscription_feature WHERE subscription_id = {mark}", (broken,)
        )
    else:
        refuse_events(store, "invoice.created", broken)

    def stored() -> tuple[Any, ...]:
        cursor = store.db.execute_sql(f"SELECT * FROM subscription WHERE id = {mark}", (broken,))
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
        invoices = store.db.execute_sql(
            f"SELECT * FROM invoice WHERE subscription_id = {mark} ORDER BY id", (broken,)
        ).fetchall()
        events = store.db.execute_sql(
            "SELECT sequence, type FROM event "
            f"WHERE subscription_id = {mark} AND type <> 'usage.reset'",
            (broken,),
        ).fetchall()
        allocations = store.db.execute_sql(
            f"SELECT COUNT(*) FROM allocation WHERE subscription_id = {mark}", (broken,)
        ).fetchone()
        return row, [tuple(i) for i in invoices], [tuple(e) for e in events], allocations[0]

    before = stored()
    with caplog.at_level(logging.ERROR, logger="bento.scheduler"):
        bento.advance_to(created[0].subscription.period_end, timedelta(seconds=60))
    assert stored() == before, "the failing subscription is untouched"
    if failure == "store":
        store.db.execute_sql(
            "DROP TRIGGER refuse_event" + (" ON event" if store.is_postgres else "")
        )
    for sid in ids:
        if sid == broken:
            continue
        assert [i.billing_cycle for i in bento.invoices(p, sid)] == [2, 1]
        created_events = [e for e in bento.events(p, sid) if e.type == "invoice.created"]
        assert len(created_events) == 2
    if failure != "unreadable":
        kept = bento.subscription(p, broken)
        assert (kept.period_start, kept.period_end) == (
            created[3].subscription.period_start,
            created[3].subscription.period_end,
        )
    log = caplog.text
    assert f"due work on {broken} failed" in log
    assert sum(f"due work on {sid} failed" in log for sid in ids) == 1


def test_a_lapse_that_resumes_a_waiter_due_in_the_same_batch(bento: Bento) -> None:
    """On a single-active platform a higher tier and the lower one it paused
    lapse at one instant, the higher first: its end resumes the lower one,
    which the batch then lapses as the store has it after that resume."""
    shop = bento.shop(single_active=True)
    p = shop.platform
    session = "session-waiter"
    # The higher tier is created first (its ID sorts first) and paid a week later.
    high = bento.subscribe(p, shop.plan(tier=2, **_WEEKLY), session_id=session)
    low = bento.subscribe(p, shop.plan(tier=1, **_WEEKLY), session_id=session)
    hid, lid = high.subscription.id, low.subscription.id
    bento.pay_first(p, low)
    bento.advance_to(bento.subscription(p, lid).next_billing_date)
    bento.pay_first(p, high)
    assert bento.subscription(p, lid).status == S.PAUSED
    bento.advance(1)  # the higher tier's period began at its creation: it renews
    deadline = bento.subscription(p, hid).grace_period_end
    # Neither renewal is paid: both lapse at one instant.
    assert deadline == bento.subscription(p, lid).grace_period_end
    assert hid < lid

    bento.advance_to(deadline, timedelta(seconds=60))
    ended_high, ended_low = bento.subscription(p, hid), bento.subscription(p, lid)
    events = [e for e in bento.events(p, lid) if e.type != "usage.reset"]
    story = [e.type for e in events]
    final = [e for e in events if e.type == "subscription.canceled"][-1]
    snapshot = dict(final.data["subscription"])
    lapsed = EndReason.GRACE_PERIOD_LAPSED
    assert (ended_high.status, ended_high.end_reason) == (S.CANCELED, lapsed)
    assert (ended_low.status, ended_low.end_reason) == (S.CANCELED, lapsed)
    assert ended_low.ended_at == deadline
    assert story[-3:] == ["subscription.paused", "subscription.resumed", "subscription.canceled"]
    assert story.count("subscription.canceled") == 1
    # The lapse was decided on the resumed subscription, not the paused one
    # the batch had read before the higher tier's lapse resumed it.
    assert snapshot["paused_at"] is None
    period_end = datetime.fromisoformat(snapshot["period_end"].replace("Z", "+00:00"))
    assert period_end == ended_low.period_end.astimezone(UTC)
    assert bento.audit() == []


def test_a_sweep_of_many_batches_renews_each_due_subscription_once(bento: Bento) -> None:
    """More due than several batches hold, swept with a budget: on
    PostgreSQL by sweepers side by side. Each subscription renews once:
    one new invoice and one invoice.created event each, nothing twice."""
    from bench import renewals

    store = bento.deps.store
    due = renewals.seed(store, 3 * billing_clock.BATCH + 17)
    deps = Deps(store=store, clock=TestClock(renewals.START + timedelta(days=31, minutes=1)))
    swept = []
    while done := scheduler.run_due(deps, budget=2 * billing_clock.BATCH + 10):
        swept.append(done)
    assert sum(swept) == len(due) and len(swept) > 1
    invoices = dict(
        Invoice.select(Invoice.subscription, peewee.fn.COUNT(Invoice.id))
        .where(Invoice.billing_cycle == 2)
        .group_by(Invoice.subscription)
        .tuples()
    )
    assert invoices == {subscription_id: 1 for subscription_id in due}
    created = (
        Event.select(Event.subscription_id, peewee.fn.COUNT(Event.sequence))
        .where(Event.type == "invoice.created")
        .group_by(Event.subscription_id)
        .tuples()
    )
    assert dict(created) == {subscription_id: 1 for subscription_id in due}
    sequences = [e.sequence for e in Event.select(Event.sequence).order_by(Event.sequence)]
    assert len(sequences) == len(set(sequences))
