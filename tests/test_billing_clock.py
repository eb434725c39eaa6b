"""The billing clock over the wire: renewals, trial ends, grace lapses,
period ends and plans that close, driven by the test clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import timestamp_pb2

from bento.v1 import common_pb2, enums_pb2, invoice_pb2, subscription_pb2, test_clock_pb2
from tests.billing_support import (
    advance,
    get_subscription,
    list_invoices,
    make_shop,
    pay,
    subscribe,
)
from tests.support import (
    Caller,
    RunningServer,
    assert_audit_clean,
    phases,
    refuse_events,
    start_server,
)
from tests.test_billing_consistency import events_of

E = enums_pb2
DAY = 86_400
_WEEKLY = {
    "billing_frequency": common_pb2.BillingFrequency(unit=E.BILLING_UNIT_WEEK, value=1),
    "grace_period_days": 15,
}


def advance_to(admin: Caller, instant: timestamp_pb2.Timestamp, extra_seconds: int = 0) -> None:
    """Moves the clock to ``instant`` (plus a little), if it is not there yet."""
    target = timestamp_pb2.Timestamp(seconds=instant.seconds + extra_seconds, nanos=instant.nanos)
    now = admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now
    if (target.seconds, target.nanos) > (now.seconds, now.nanos):
        # All the server's due work is done before the answer: see advance.
        admin(
            admin.test_clock.AdvanceTime,
            test_clock_pb2.AdvanceTimeRequest(to=target),
            timeout=300,
        )


def current_invoice(caller: Caller, subscription_id: str) -> invoice_pb2.Invoice:
    return list_invoices(caller, subscription_id)[0]  # newest first


def test_a_year_of_renewals_with_a_recovery_and_a_lapse(server: RunningServer) -> None:
    shop = make_shop(server)
    p, admin = shop.platform, shop.admin
    created = subscribe(p, shop.plan_id)  # 999 for 3 cycles, then 1699; 7 grace days
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)

    for cycle in range(2, 14):  # twelve renewals
        sub = get_subscription(p, sub_id)
        advance_to(admin, sub.billing.next_billing_date)
        renewed = get_subscription(p, sub_id)
        invoice = current_invoice(p, sub_id)
        assert invoice.plan.billing_cycle == cycle
        assert invoice.amounts.subtotal == (999 if cycle <= 3 else 1699)
        assert invoice.period.start == sub.period.end
        assert renewed.period.start == sub.period.end
        assert (renewed.status, renewed.payment_status) == (
            E.SUBSCRIPTION_STATUS_ACTIVE,
            E.PAYMENT_STATUS_UNPAID,
        )
        if cycle == 6:
            # A missed payment, recovered inside the grace period.
            pay(
                p,
                sub_id,
                invoice.invoice_id,
                invoice.amounts.total_amount,
                E.PAYMENT_RECORD_STATUS_FAILED,
            )
            assert get_subscription(p, sub_id).status == E.SUBSCRIPTION_STATUS_PAST_DUE
            advance(admin, 3 * DAY)
            assert get_subscription(p, sub_id).status == E.SUBSCRIPTION_STATUS_PAST_DUE
        if cycle == 13:
            break  # this one is never paid
        pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount)
        assert get_subscription(p, sub_id).status == E.SUBSCRIPTION_STATUS_ACTIVE

    unpaid = get_subscription(p, sub_id)
    deadline = unpaid.billing.grace_period_end
    assert deadline.seconds == unpaid.period.start.seconds + 7 * DAY
    advance_to(admin, deadline, extra_seconds=1)
    ended = get_subscription(p, sub_id)
    assert ended.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert ended.cancellation.ended_at == deadline
    invoices = list_invoices(p, sub_id)
    assert [i.plan.billing_cycle for i in invoices] == list(range(13, 0, -1))
    assert invoices[0].status == E.INVOICE_STATUS_VOID
    assert all(i.status == E.INVOICE_STATUS_PAID for i in invoices[1:])

    story = [
        e.type for e in events_of(p, sub_id) if e.type not in ("invoice.created", "usage.reset")
    ]
    renewals = story.count("subscription.renewed")
    assert renewals == 11  # cycles 2..12 paid; 13 lapsed
    assert story.count("subscription.past_due") == 1
    assert story[-1] == "subscription.canceled"
    assert len([e for e in events_of(p, sub_id) if e.type == "invoice.created"]) == 13
    lapse = [e for e in events_of(p, sub_id) if e.type == "subscription.canceled"][-1]
    assert lapse.data["reason"] == "grace_period_lapsed"


def test_a_trial_converts_to_its_first_charge(server: RunningServer) -> None:
    shop = make_shop(server)
    trial_plan = shop.plan(free_trial_days=7)
    created = subscribe(shop.platform, trial_plan)
    sub = created.subscription
    assert sub.status == E.SUBSCRIPTION_STATUS_TRIALING
    advance_to(shop.admin, sub.trial.end_date)
    converted = get_subscription(shop.platform, sub.subscription_id)
    assert (converted.status, converted.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_UNPAID,
    )
    assert converted.period.start == sub.trial.end_date
    first_charge = current_invoice(shop.platform, sub.subscription_id)
    assert (first_charge.plan.billing_cycle, first_charge.amounts.subtotal) == (1, 999)
    assert first_charge.status == E.INVOICE_STATUS_OPEN
    pay(
        shop.platform,
        sub.subscription_id,
        first_charge.invoice_id,
        first_charge.amounts.total_amount,
    )
    paid = get_subscription(shop.platform, sub.subscription_id)
    assert (paid.status, paid.payment_status, paid.billing.cycle_count) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
        1,
    )


def test_cancel_at_period_end_ends_without_another_invoice(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    canceled = p(
        p.subscriptions.CancelSubscription,
        subscription_pb2.CancelSubscriptionRequest(subscription_id=sub_id),
    ).subscription
    advance_to(shop.admin, canceled.period.end, extra_seconds=DAY)
    assert len(list_invoices(p, sub_id)) == 1
    ended = [e for e in events_of(p, sub_id) if e.type == "subscription.canceled"][-1]
    assert ended.data["reason"] == "period_ended"
    assert get_subscription(p, sub_id).cancellation.ended_at == canceled.period.end


def test_a_closing_plan_ends_after_its_last_phase(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    closing = shop.plan(prices={"US": phases((500, 2))}, end_behavior=E.END_BEHAVIOR_CLOSE)
    created = subscribe(p, closing)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    advance_to(shop.admin, get_subscription(p, sub_id).billing.next_billing_date)
    second = current_invoice(p, sub_id)
    assert (second.plan.billing_cycle, second.amounts.subtotal) == (2, 500)
    pay(p, sub_id, second.invoice_id, second.amounts.total_amount)
    last_end = get_subscription(p, sub_id).period.end
    advance_to(shop.admin, last_end, extra_seconds=60)
    ended = get_subscription(p, sub_id)
    assert ended.status == E.SUBSCRIPTION_STATUS_CANCELED
    assert ended.cancellation.ended_at == last_end
    assert len(list_invoices(p, sub_id)) == 2
    closed = [e for e in events_of(p, sub_id) if e.type == "subscription.canceled"][-1]
    assert closed.data["reason"] == "plan_closed"


def test_crossing_three_periods_renews_three_times_in_order(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    daily = shop.plan(
        billing_frequency=common_pb2.BillingFrequency(unit=E.BILLING_UNIT_DAY, value=1),
        grace_period_days=30,
    )
    created = subscribe(p, daily)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    start = created.subscription.period.start
    advance_to(shop.admin, start, extra_seconds=3 * DAY + 60)
    invoices = list(reversed(list_invoices(p, sub_id)))
    assert [i.plan.billing_cycle for i in invoices] == [1, 2, 3, 4]
    # Each was issued at its own period's start, not at the moment of the move.
    for invoice in invoices[1:]:
        assert invoice.period.invoice_date == invoice.period.start
    starts = [i.period.start.seconds for i in invoices]
    assert starts == [start.seconds + n * DAY for n in range(4)]


def test_catch_up_after_downtime_and_two_schedulers_racing(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """Two servers on one database move their clocks over the same week at
    once: every daily renewal happens exactly once, none is lost."""
    first = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        shop = make_shop(first)
        p = shop.platform
        daily = shop.plan(
            billing_frequency=common_pb2.BillingFrequency(unit=E.BILLING_UNIT_DAY, value=1),
            grace_period_days=30,
        )
        subs = []
        for _ in range(20):
            created = subscribe(p, daily)
            pay(
                p,
                created.subscription.subscription_id,
                created.invoice.invoice_id,
                created.invoice.amounts.total_amount,
            )
            subs.append(created.subscription)
        assert first.stop() == 0  # the server is down for a week
        a = start_server(fresh_backend_url, tmp_path, test_clock=True)
        b = start_server(fresh_backend_url, tmp_path, test_clock=True)
        try:
            target = timestamp_pb2.Timestamp(seconds=subs[-1].period.start.seconds + 7 * DAY + 60)
            errors: list[BaseException] = []

            def move(server: RunningServer) -> None:
                admin = server.admin()
                try:
                    admin(
                        admin.test_clock.AdvanceTime, test_clock_pb2.AdvanceTimeRequest(to=target)
                    )
                except BaseException as error:  # asserted below
                    errors.append(error)

            threads = [threading.Thread(target=move, args=(s,)) for s in (a, b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            reader = a.caller(p.credential)
            for sub in subs:
                cycles = [i.plan.billing_cycle for i in list_invoices(reader, sub.subscription_id)]
                assert cycles == list(range(8, 0, -1)), cycles
        finally:
            a.stop()
            b.stop()
    finally:
        first.stop()


def test_a_renewal_that_fails_is_logged_counted_and_grants_nothing_past_its_period(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """One subscription the clock cannot renew: its ID is in the log, the
    failure is counted, the others renew, and its access ends with its period."""
    import socket
    import urllib.request

    from bento_server.store.database import connect
    from bento_server.store.models import Subscription
    from tests.test_entitlements import check

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = start_server(
        fresh_backend_url, tmp_path, extra=("--metrics-address", f"127.0.0.1:{port}")
    )
    try:
        shop = make_shop(running)
        p = shop.platform
        broken, healthy = (subscribe(p, shop.plan_id) for _ in range(2))
        for created in (broken, healthy):
            sid = created.subscription.subscription_id
            pay(p, sid, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        assert check(p, broken.subscription.session_id, product_id=shop.product_id).allowed
        # A row the billing rules cannot read: its price phase has no price.
        store = connect(fresh_backend_url)
        try:
            Subscription.update(phases=[{"phase_id": "x", "order": 1}]).where(
                Subscription.id == broken.subscription.subscription_id
            ).execute()
        finally:
            store.close()

        period = broken.subscription.period
        advance_to(shop.admin, period.end, extra_seconds=60)

        refused = check(p, broken.subscription.session_id, product_id=shop.product_id)
        assert not refused.allowed, "access fails closed past the period the clock did not renew"
        assert get_subscription(p, broken.subscription.subscription_id).period == period
        renewed = list_invoices(p, healthy.subscription.subscription_id)
        assert [i.plan.billing_cycle for i in renewed] == [2, 1]
        assert check(p, healthy.subscription.session_id, product_id=shop.product_id).allowed
        scraped = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        )
    finally:
        running.stop()
    assert 'bento_due_work_failures_total{work="renewal"} 1.0' in scraped
    assert f"due work on {broken.subscription.subscription_id} failed" in running.log()


@pytest.mark.parametrize("failure", ["core", "store", "unreadable"])
def test_a_subscription_that_fails_in_a_batch_is_left_untouched_and_the_others_renew(
    fresh_backend_url: str, tmp_path: Path, failure: str
) -> None:
    """Subscriptions due at one instant renew in one batch; the one whose
    renewal fails is rolled back alone and logged, the others renew once.

    It fails in the billing core (its price phase has no price), in the
    store after its invoice and its row were written (the store refuses its
    event), or before anything is decided (its row cannot be read)."""
    from bento_server.store.database import connect

    running = start_server(fresh_backend_url, tmp_path)
    try:
        shop = make_shop(running)
        p = shop.platform
        created = [subscribe(p, shop.plan_id) for _ in range(7)]
        for c in created:
            sid = c.subscription.subscription_id
            pay(p, sid, c.invoice.invoice_id, c.invoice.amounts.total_amount)
        ids = [c.subscription.subscription_id for c in created]
        broken = ids[3]
        advance(shop.admin, 8 * DAY)  # their activation codes expire: nothing else is due
        # Due at one instant: the renewals make one batch.
        assert len({c.subscription.period.end.seconds for c in created}) == 1
        store = connect(fresh_backend_url)
        try:
            mark = store.db.param
            if failure == "core":
                store.db.execute_sql(
                    f"UPDATE subscription SET phases = {mark} WHERE id = {mark}",
                    ('[{"phase_id": "x", "order": 1}]', broken),
                )
            elif failure == "unreadable":
                store.db.execute_sql(
                    f"UPDATE subscription SET phases = {mark} WHERE id = {mark}",
                    ("[{not json", broken),
                )
                # Its usage windows go: their reset, due at the same instant,
                # reads the row too, and is not what this test is about.
                store.db.execute_sql(
                    f"DELETE FROM subscription_feature WHERE subscription_id = {mark}", (broken,)
                )
            else:
                refuse_events(store, "invoice.created", broken)

            def stored() -> tuple[Any, ...]:
                cursor = store.db.execute_sql(
                    f"SELECT * FROM subscription WHERE id = {mark}", (broken,)
                )
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
            advance_to(shop.admin, created[0].subscription.period.end, extra_seconds=60)
            assert stored() == before, "the failing subscription is untouched"
            if failure == "store":
                store.db.execute_sql(
                    "DROP TRIGGER refuse_event" + (" ON event" if store.is_postgres else "")
                )
        finally:
            store.close()
        for sid in ids:
            if sid == broken:
                continue
            assert [i.plan.billing_cycle for i in list_invoices(p, sid)] == [2, 1]
            created_events = [e for e in events_of(p, sid) if e.type == "invoice.created"]
            assert len(created_events) == 2
        if failure != "unreadable":
            assert get_subscription(p, broken).period == created[3].subscription.period
    finally:
        running.stop()
    log = running.log()
    assert f"due work on {broken} failed" in log
    assert sum(f"due work on {sid} failed" in log for sid in ids) == 1


def test_a_lapse_that_resumes_a_waiter_due_in_the_same_batch(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """On a single-active platform a higher tier and the lower one it paused
    lapse at one instant, the higher first: its end resumes the lower one,
    which the batch then lapses as the store has it after that resume."""
    running = start_server(fresh_backend_url, tmp_path)
    try:
        shop = make_shop(running, single_active=True)
        p = shop.platform
        session = "session-waiter"
        # The higher tier is created first (its ID sorts first) and paid a week later.
        high = subscribe(p, shop.plan(tier=2, **_WEEKLY), session_id=session)
        low = subscribe(p, shop.plan(tier=1, **_WEEKLY), session_id=session)
        hid, lid = high.subscription.subscription_id, low.subscription.subscription_id
        pay(p, lid, low.invoice.invoice_id, low.invoice.amounts.total_amount)
        advance_to(shop.admin, get_subscription(p, lid).billing.next_billing_date)
        pay(p, hid, high.invoice.invoice_id, high.invoice.amounts.total_amount)
        assert get_subscription(p, lid).status == E.SUBSCRIPTION_STATUS_PAUSED
        advance(shop.admin, 1)  # the higher tier's period began at its creation: it renews
        deadline = get_subscription(p, hid).billing.grace_period_end
        # Neither renewal is paid: both lapse at one instant.
        assert deadline == get_subscription(p, lid).billing.grace_period_end
        assert hid < lid

        advance_to(shop.admin, deadline, extra_seconds=60)
        ended_high, ended_low = get_subscription(p, hid), get_subscription(p, lid)
        story = [e.type for e in events_of(p, lid) if e.type != "usage.reset"]
        final = [e for e in events_of(p, lid) if e.type == "subscription.canceled"][-1]
        snapshot = dict(final.data["subscription"])
    finally:
        running.stop()
    lapsed = E.END_REASON_GRACE_PERIOD_LAPSED
    assert (ended_high.status, ended_high.cancellation.reason) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        lapsed,
    )
    assert (ended_low.status, ended_low.cancellation.reason) == (
        E.SUBSCRIPTION_STATUS_CANCELED,
        lapsed,
    )
    assert ended_low.cancellation.ended_at == deadline
    assert story[-3:] == ["subscription.paused", "subscription.resumed", "subscription.canceled"]
    assert story.count("subscription.canceled") == 1
    # The lapse was decided on the resumed subscription, not the paused one
    # the batch had read before the higher tier's lapse resumed it.
    assert snapshot["paused_at"] is None
    period_end = datetime.fromisoformat(snapshot["period_end"].replace("Z", "+00:00"))
    assert period_end == ended_low.period.end.ToDatetime(tzinfo=UTC)
    assert_audit_clean(fresh_backend_url)


def test_a_sweep_of_many_batches_renews_each_due_subscription_once(
    fresh_backend_url: str,
) -> None:
    """More due than several batches hold, swept with a budget: on
    PostgreSQL by sweepers side by side. Each subscription renews once:
    one new invoice and one invoice.created event each, nothing twice."""
    from datetime import timedelta

    import peewee

    from bench import renewals
    from bento_server.clock import TestClock
    from bento_server.infra import scheduler
    from bento_server.store.database import connect
    from bento_server.store.migrations import migrate
    from bento_server.store.models import Event, Invoice
    from bento_server.usecases import billing_clock
    from bento_server.usecases.context import Deps

    store = connect(fresh_backend_url)
    try:
        migrate(store)
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
    finally:
        store.close()
