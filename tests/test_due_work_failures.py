"""Due work other than renewals when one piece of it fails: a usage reset or
a code expiry the store refuses is logged with its subscription, counted,
and skipped until the next sweep, while the clock goes on with every other
piece, the same subscription's renewal among them. One bad row must not
stop the billing clock (see ``infra.scheduler.run_due``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bento.v1 import enums_pb2
from bento_server.store.database import connect
from tests.billing_support import list_invoices, make_shop, paid_subscriptions
from tests.helpers.metrics import scrape
from tests.support import free_port, refuse_events, start_server
from tests.test_billing_clock import advance_to
from tests.test_billing_consistency import events_of
from tests.test_entitlements import quota, set_feature

E = enums_pb2


@pytest.mark.parametrize(
    ("work", "event_type"),
    [("usage_reset", "usage.reset"), ("activation_code_expiry", "activation.item.updated")],
)
def test_a_piece_of_due_work_that_fails_is_skipped_and_the_clock_goes_on(
    work: str, event_type: str, fresh_backend_url: str, tmp_path: Path
) -> None:
    port = free_port()
    running = start_server(
        fresh_backend_url, tmp_path, extra=("--metrics-address", f"127.0.0.1:{port}")
    )
    try:
        shop = make_shop(running)
        p = shop.platform
        broken, healthy = paid_subscriptions(shop, 2)
        ids = [created.subscription.subscription_id for created in (broken, healthy)]
        for sid in ids:
            # Reset every day: the first reset falls due long before the renewal.
            set_feature(p, sid, quota("calls", 10, E.RESET_INTERVAL_DAY))
        store = connect(fresh_backend_url)
        try:
            refuse_events(store, event_type, ids[0])
        finally:
            store.close()

        advance_to(shop.admin, broken.subscription.period.end, extra_seconds=60)

        for sid in ids:
            assert [i.plan.billing_cycle for i in list_invoices(p, sid)] == [2, 1], (
                "both subscriptions renewed past the piece that failed"
            )
        assert not [e for e in events_of(p, ids[0]) if e.type == event_type]
        assert [e for e in events_of(p, ids[1]) if e.type == event_type], (
            "the other subscription's work of the same kind was done"
        )
        scraped = scrape(port)
    finally:
        running.stop()
    counted = re.search(rf'bento_due_work_failures_total\{{work="{work}"\}} (\S+)', scraped)
    assert counted is not None and float(counted.group(1)) >= 1
    assert re.search(rf"{work.replace('_', ' ')} .*{ids[0]}.* failed", running.log())
