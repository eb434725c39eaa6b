"""How many due renewals one process handles per second, with 100,000 due.

The store is seeded directly (a platform, a plan, and N subscriptions whose
period ended a moment ago), then one process runs the billing clock's sweep
for a fixed time. Beside it, in the same run and on the same database, the
baseline: write transactions of one small row each, the floor any renewal
(which writes an invoice, an event and the subscription) cannot beat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import peewee

from bento_server import ids, scheduler
from bento_server.clock import TestClock
from bento_server.store.database import Store
from bento_server.store.models import App, Plan, PlanProduct, Platform, Product, Subscription
from bento_server.usecases.context import Deps

START = datetime(2030, 1, 1, tzinfo=UTC)
PHASES = [
    {
        "phase_id": "bench",
        "order": 1,
        "billing_cycles": None,
        "price": {"price_in_cents": 1699, "currency_code": "USD", "tier_id": "1699"},
    }
]


@dataclass(frozen=True)
class Result:
    due: int
    renewed: int
    seconds: float
    baseline_per_second: float

    @property
    def per_second(self) -> float:
        return self.renewed / self.seconds


class _Scratch(peewee.Model):
    value = peewee.IntegerField()


def seed(store: Store, count: int) -> None:
    """A plan and ``count`` subscriptions whose first month just ended."""
    with store.write():
        Platform.create(
            id="PLBENCH", name="bench", fee_rate=0.15, created_at=START, updated_at=START
        )
        App.create(
            id="APBENCH",
            name="bench",
            activation_url_template="https://x/{code}",
            created_at=START,
            updated_at=START,
        )
        Product.create(
            id="PRBENCH", app="APBENCH", name="bench", created_at=START, updated_at=START
        )
        Plan.create(
            id="planbench", platform="PLBENCH", name="bench", billing_unit="month", billing_value=1,
            grace_period_days=7, prices={"US": PHASES}, created_at=START, updated_at=START,
        )  # fmt: skip
        PlanProduct.create(plan="planbench", product="PRBENCH", position=0)
    end = START + timedelta(days=31)
    rows = [
        {
            "id": ids.new_id(ids.SUBSCRIPTION),
            "platform": "PLBENCH",
            "plan": "planbench",
            "session_id": f"session-{n}",
            "status": "active",
            "payment_status": "paid",
            "region": "US",
            "currency": "USD",
            "plan_name": "bench",
            "plan_type": "single",
            "billing_unit": "month",
            "billing_value": 1,
            "grace_period_days": 7,
            "end_behavior": "roll",
            "phases": PHASES,
            "billing_anchor": START,
            "current_cycle": 1,
            "cycle_count": 1,
            "period_start": START,
            "period_end": end,
            "next_billing_date": end,
            "grace_period_end": end + timedelta(days=7),
            "created_at": START,
            "updated_at": START,
        }
        for n in range(count)
    ]
    for chunk in range(0, count, 2000):
        with store.write():
            Subscription.insert_many(rows[chunk : chunk + 2000]).execute()


def baseline(store: Store, seconds: float) -> float:
    """Write transactions per second of one small row each."""
    with store.db.bind_ctx([_Scratch]):
        store.db.create_tables([_Scratch])
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            with store.write():
                _Scratch.create(value=done)
            done += 1
        elapsed = time.perf_counter() - started
        store.db.drop_tables([_Scratch])
    return done / elapsed


def run(store: Store, count: int = 100_000, seconds: float = 20.0) -> Result:
    seed(store, count)
    rate = baseline(store, 3.0)
    clock = TestClock(START + timedelta(days=31, minutes=1))
    deps = Deps(store=store, clock=clock)
    renewed = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds and renewed < count:
        done = scheduler.run_due(deps, clock.now(), budget=500)
        if done == 0:
            break
        renewed += done
    elapsed = time.perf_counter() - started
    return Result(due=count, renewed=renewed, seconds=elapsed, baseline_per_second=rate)
