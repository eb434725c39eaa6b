"""How many due renewals one process handles per second, with 100,000 due.

The store is seeded directly (a platform, a plan, and N subscriptions whose
period ended a moment ago), then one process runs the billing clock's sweep
for a fixed time. Beside it, in the same run and on the same database, the
baseline: write transactions of one small row each, the floor any renewal
(which writes an invoice, an event and the subscription) cannot beat. The
store's own counters give the statements and commits per renewal.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import peewee
from prometheus_client import REGISTRY

from bento_server import ids
from bento_server.clock import TestClock
from bento_server.infra import scheduler
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
    # What the sweep sent the database (BEGIN, SAVEPOINT, COMMIT included)
    # and how many transactions it committed, counted by the store.
    statements: float = 0.0
    commits: float = 0.0

    @property
    def per_second(self) -> float:
        return self.renewed / self.seconds

    @property
    def statements_per_renewal(self) -> float:
        return self.statements / max(self.renewed, 1)

    @property
    def commits_per_renewal(self) -> float:
        return self.commits / max(self.renewed, 1)


def _counted() -> tuple[float, float]:
    """The store's counters of statements sent and transactions committed."""
    return (
        REGISTRY.get_sample_value("bento_store_statements_total") or 0.0,
        REGISTRY.get_sample_value("bento_store_commits_total") or 0.0,
    )


CHUNK = 2000


class _Scratch(peewee.Model):
    value = peewee.IntegerField()


def seed(store: Store, count: int, first: int = 0) -> list[str]:
    """A plan and ``count`` subscriptions whose first month just ended, for
    users ``session-{first}`` on; returns the new subscriptions' IDs.

    ``first`` > 0 adds to a store seeded before (the catalog is there)."""
    if first == 0:
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
                id="planbench", platform="PLBENCH", name="bench", billing_unit="month",
                billing_value=1, grace_period_days=7, prices={"US": PHASES},
                created_at=START, updated_at=START,
            )  # fmt: skip
            PlanProduct.create(plan="planbench", product="PRBENCH", position=0)
    end = START + timedelta(days=31)
    template = {
        "platform": "PLBENCH",
        "plan": "planbench",
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
    # Rows go in as raw values: the ORM's per-row conversion would take
    # minutes for a million.
    fields = Subscription._meta.fields  # type: ignore[attr-defined]
    for name, field in fields.items():
        if name not in template and name not in ("id", "session_id") and field.default is not None:
            template[name] = field.default() if callable(field.default) else field.default
    columns = ["id", "session_id", *(fields[name].column_name for name in template)]
    constants = tuple(fields[name].db_value(value) for name, value in template.items())
    created: list[str] = []
    for chunk in range(first, first + count, CHUNK):
        rows = [
            (ids.new_id(ids.SUBSCRIPTION), f"session-{n}", *constants)
            for n in range(chunk, min(chunk + CHUNK, first + count))
        ]
        with store.write():
            _insert(store, "subscription", columns, rows)
        created.extend(row[0] for row in rows)
    # Statistics, as a database in service has them: without them PostgreSQL
    # plans the sweep's claim as a scan and sort of every due row, until its
    # autovacuum gets round to the table, tens of seconds in.
    store.db.execute_sql("ANALYZE subscription")
    return created


def _insert(store: Store, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    if store.is_postgres:
        text = "".join("\t".join(_copy_text(v) for v in row) + "\n" for row in rows)
        store.db.cursor().copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text)
        )
    else:
        marks = ", ".join("?" * len(columns))
        store.db.connection().executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )


def _copy_text(value: object) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


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
    statements, commits = _counted()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds and renewed < count:
        done = scheduler.run_due(deps, clock.now(), budget=500)
        if done == 0:
            break
        renewed += done
    elapsed = time.perf_counter() - started
    after = _counted()
    return Result(
        due=count,
        renewed=renewed,
        seconds=elapsed,
        baseline_per_second=rate,
        statements=after[0] - statements,
        commits=after[1] - commits,
    )
