"""The billing clock over the wire: two servers whose clocks sweep one
database at once, and what an operator sees of a renewal that fails (the
log line, the metric, access that fails closed). The rules the clock keeps
are tests/usecases/test_billing_clock.py's."""

from __future__ import annotations

import threading
from pathlib import Path

from google.protobuf import timestamp_pb2

from bento.v1 import common_pb2, enums_pb2, invoice_pb2, test_clock_pb2
from tests.billing_support import (
    get_subscription,
    list_invoices,
    make_shop,
    paid_subscriptions,
    pay,
    subscribe,
)
from tests.helpers.metrics import scrape
from tests.support import Caller, RunningServer, free_port, start_server

E = enums_pb2
DAY = 86_400


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

    from bento_server.store.database import connect
    from bento_server.store.models import Subscription
    from tests.test_entitlements import check

    port = free_port()
    running = start_server(
        fresh_backend_url, tmp_path, extra=("--metrics-address", f"127.0.0.1:{port}")
    )
    try:
        shop = make_shop(running)
        p = shop.platform
        broken, healthy = paid_subscriptions(shop, 2)
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
        scraped = scrape(port)
    finally:
        running.stop()
    assert 'bento_due_work_failures_total{work="renewal"} 1.0' in scraped
    assert f"due work on {broken.subscription.subscription_id} failed" in running.log()
