"""The use cases in this process, on a fresh store of their own.

What `bento serve` runs behind its transport, called directly: no channel,
no server process, nothing standing in for a part of Bento. ``fresh_store``
opens a migrated, empty store (a new SQLite file in a folder, or the run's
PostgreSQL database for these tests as a fresh migration leaves it:
``PostgresStores``); ``Bento`` runs the use cases on
it with a test clock that moves as AdvanceTime moves it, sweeping the due
work with the server's own scheduler.

The requests a test makes are the specs the transport would have checked
and built (``usecases.catalog_specs``, ``NewSubscription``, ``NewPayment``):
what a request may hold is the wire's to test, what the rules make of it
is these tests'.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bento_server import audit
from bento_server.billing.access import Decision
from bento_server.clock import TestClock
from bento_server.infra import scheduler
from bento_server.store.database import Store, connect
from bento_server.store.migrations import migrate
from bento_server.store.models import ALL_MODELS, BaseModel, Event, Invoice, Payment, Subscription
from bento_server.usecases import (
    catalog,
    entitlements,
    event_views,
    events,
    features,
    payments,
    subscriptions,
    tenants,
    test_clock,
)
from bento_server.usecases import catalog_specs as specs
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, Deps, Principal
from tests.helpers.paging import every_listed
from tests.support import create_postgres_database, drop_postgres_database

# Where every in-process test's clock starts: a fixed instant (with
# microseconds, which the rules must keep), so a run is repeatable.
START = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
DAY = timedelta(days=1)


@contextlib.contextmanager
def fresh_store(
    backend_url: str, folder: Path, postgres: PostgresStores | None = None
) -> Iterator[Store]:
    """A migrated, empty store of ``backend_url``'s kind, open (the models
    bound to it) until the block ends: a new SQLite file in ``folder``, or
    ``postgres``'s database as a fresh migration leaves it."""
    if backend_url.startswith("sqlite"):
        url = f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.db'}"
        store = connect(url)
        try:
            migrate(store)
            yield store
        finally:
            store.close()
        return
    assert postgres is not None, "a PostgreSQL store comes from PostgresStores"
    with postgres.fresh() as store:
        yield store


@dataclass(frozen=True)
class _Migrated:
    """What a fresh migration leaves in a PostgreSQL database."""

    tables: frozenset[str]
    rows: dict[type[BaseModel], list[dict[str, Any]]]
    sequences: dict[str, int | None]
    triggers: frozenset[tuple[str, str]]
    functions: frozenset[str]


_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
_SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
_TRIGGERS = (
    "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
)
_FUNCTIONS = (
    "SELECT p.oid::regprocedure::text FROM pg_proc p "
    "WHERE p.pronamespace = current_schema()::regnamespace"
)


class PostgresStores:
    """The PostgreSQL store of one run's in-process tests.

    Making a database and migrating it takes about half a second, several
    times what a test on it takes; so one database is made beside the
    run's (``tests.support``'s create and drop helpers) and migrated once,
    and each test gets it back as a fresh migration leaves it: the
    connections an earlier test left are ended, a trigger or function it
    added is dropped, every table is emptied and its sequence restarted,
    then the rows the migrations wrote are written again and the sequences
    set where they left them. A test that changed the tables fails the next
    one rather than leaving it a different schema."""

    def __init__(self, backend_url: str) -> None:
        self._backend_url = backend_url
        self.url = create_postgres_database(backend_url, prefix="bento_usecases")
        store = connect(self.url)
        try:
            migrate(store)
            self._migrated = _Migrated(
                tables=frozenset(row[0] for row in store.db.execute_sql(_TABLES)),
                rows={model: list(model.select().dicts()) for model in ALL_MODELS},
                sequences=dict(store.db.execute_sql(_SEQUENCES).fetchall()),
                triggers=frozenset(store.db.execute_sql(_TRIGGERS).fetchall()),
                functions=frozenset(row[0] for row in store.db.execute_sql(_FUNCTIONS)),
            )
        finally:
            store.close()

    @contextlib.contextmanager
    def fresh(self) -> Iterator[Store]:
        store = connect(self.url)
        try:
            self._reset(store)
            yield store
        finally:
            store.close()

    def _reset(self, store: Store) -> None:
        db, migrated = store.db, self._migrated
        db.execute_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            # Not an autovacuum worker: only a superuser may end one.
            "AND backend_type = 'client backend'"
        )
        with db.atomic():
            for name, table in db.execute_sql(_TRIGGERS).fetchall():
                if (name, table) not in migrated.triggers:
                    db.execute_sql(f'DROP TRIGGER "{name}" ON "{table}"')
            for (function,) in db.execute_sql(_FUNCTIONS).fetchall():
                if function not in migrated.functions:
                    db.execute_sql(f"DROP FUNCTION {function}")
            tables = frozenset(row[0] for row in db.execute_sql(_TABLES))
            assert tables == migrated.tables, (
                f"a test changed the tables: {tables ^ migrated.tables}"
            )
            listed = ", ".join(f'"{table}"' for table in sorted(tables))
            db.execute_sql(f"TRUNCATE {listed} RESTART IDENTITY")
            for model, rows in migrated.rows.items():
                if rows:
                    model.insert_many(rows).execute()
            for sequence, last in migrated.sequences.items():
                if last is not None:
                    db.execute_sql("SELECT setval(%s, %s)", (sequence, last))

    def close(self) -> None:
        drop_postgres_database(self._backend_url, self.url)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def usd(cents: int) -> specs.Price:
    return specs.Price(cents, "USD", str(cents))


def phases(*spec: tuple[int, int | None]) -> tuple[specs.PhaseSpec, ...]:
    """Price phases from (price_in_cents, billing_cycles or None) pairs."""
    return tuple(
        specs.PhaseSpec(order=order, billing_cycles=cycles, price=usd(cents))
        for order, (cents, cycles) in enumerate(spec, start=1)
    )


def frequency(unit: str, value: int = 1) -> specs.BillingFrequency:
    return specs.BillingFrequency(unit, value)


def product_spec(**overrides: Any) -> specs.ProductSpec:
    """The product the over-the-wire tests make (``tests.support.product_request``)."""
    spec = specs.ProductSpec(
        name=unique("product"),
        internal_id="basic_tier1",
        description="With ads",
        product_type="streaming",
        features=(
            specs.Feature("hd", "HD", "access"),
            specs.Feature("downloads", "Downloads", "quota", 10, "month"),
        ),
        prices={"US": usd(999)},
        price_wholesale=usd(456),
        localizations={"en-us": specs.Localization("Basic", "Ads")},
    )
    return replace(spec, **overrides)


def plan_spec(product_ids: list[str], **overrides: Any) -> specs.PlanSpec:
    """The plan the over-the-wire tests make (``tests.support.plan_request``):
    a monthly bundle, 999 for 3 cycles then 1699, 7 grace days, tier 1."""
    spec = specs.PlanSpec(
        name=unique("plan"),
        plan_type="bundle",
        billing_frequency=frequency("month"),
        free_trial_days=0,
        grace_period_days=7,
        prices={"US": phases((999, 3), (1699, None))},
        localizations={"en-us": specs.Localization("Bundle", "All")},
        product_ids=tuple(product_ids),
        tier=1,
    )
    return replace(spec, **overrides)


@dataclass
class Shop:
    """A platform (fee 15%) selling plans of one publisher's product."""

    bento: Bento
    platform: Principal
    publisher: Principal
    product_id: str
    plan_id: str = ""

    def plan(self, **overrides: Any) -> str:
        spec = plan_spec([self.product_id], **overrides)
        return self.bento.create_plan(self.platform, spec)


@dataclass
class Bento:
    """The use cases on one store, with a test clock."""

    deps: Deps
    clock: TestClock
    admin: Principal = field(default_factory=lambda: Principal("KEYadmin", ADMIN, None))
    # Whether the ``bento`` fixture runs the audit over the store after the
    # test, as the ``server`` fixture does after the session: a test that
    # breaks rows on purpose turns it off.
    audited: bool = True

    @classmethod
    def on(cls, store: Store, start: datetime = START) -> Bento:
        clock = TestClock(start)
        return cls(Deps(store=store, clock=clock), clock)

    # --- time --------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Moves the clock as AdvanceTime does, running the work due on the way."""
        moved = test_clock.advance(self.deps, self.clock, int(seconds), None, scheduler.run_due)
        return moved.now

    def advance_to(self, instant: datetime, extra: timedelta = timedelta(0)) -> None:
        """Moves the clock to ``instant`` + ``extra``, if it is not there yet."""
        target = instant + extra
        if target > self.clock.now():
            test_clock.advance(self.deps, self.clock, 0, target, scheduler.run_due)

    # --- tenants and the catalog -----------------------------------------------------

    def platform(self, fee_rate: float = 0.15, single_active: bool = False) -> Principal:
        created = tenants.create_platform(
            self.deps, self.admin, unique("platform"), fee_rate, single_active
        )
        return Principal(f"KEY{created.id}", PLATFORM, created.id)

    def publisher(self) -> Principal:
        created = tenants.create_app(
            self.deps, self.admin, unique("app"), "https://app.example/activate?code={code}"
        )
        return Principal(f"KEY{created.id}", PUBLISHER, created.id)

    def create_product(self, publisher: Principal, spec: specs.ProductSpec) -> str:
        return str(catalog.create_product(self.deps, publisher, "", spec).id)

    def create_plan(self, platform: Principal, spec: specs.PlanSpec) -> str:
        return str(catalog.create_plan(self.deps, platform, "", spec).plan.id)

    def shop(
        self, single_active: bool = False, wholesale: bool = True, **plan_overrides: Any
    ) -> Shop:
        """A platform and a publisher's product, and a plan of it (``plan_spec``
        with ``plan_overrides``). ``wholesale=False``: the product has no
        wholesale price, so its plans may be priced in any currency."""
        platform = self.platform(single_active=single_active)
        publisher = self.publisher()
        spec = product_spec() if wholesale else product_spec(price_wholesale=None)
        shop = Shop(self, platform, publisher, self.create_product(publisher, spec))
        shop.plan_id = shop.plan(**plan_overrides)
        return shop

    # --- subscriptions and money ----------------------------------------------------------

    def subscribe(
        self, who: Principal, plan_id: str, session_id: str | None = None, **fields: Any
    ) -> subscriptions.Outcome:
        request = subscriptions.NewSubscription(
            session_id=session_id or unique("session"),
            plan_id=plan_id,
            region=fields.pop("region", "US"),
            tax_rate=fields.pop("tax_rate", 0.0),
            tax_type=fields.pop("tax_type", "none"),
            tax_jurisdiction=fields.pop("tax_jurisdiction", ""),
            tax_behavior=fields.pop("tax_behavior", "none"),
            tax_note=fields.pop("tax_note", ""),
            device_info=fields.pop("device_info", {}),
            metadata=fields.pop("metadata", {}),
        )
        assert not fields, f"unknown fields {sorted(fields)}"
        return subscriptions.create(self.deps, who, request, "")

    def pay(
        self,
        who: Principal,
        subscription_id: str,
        invoice_id: str,
        amount: int,
        status: str = "succeeded",
        **fields: Any,
    ) -> payments.Settled:
        request = payments.NewPayment(amount=amount, currency="", status=status, **fields)
        return payments.create_payment(self.deps, who, subscription_id, invoice_id, request, "")

    def pay_first(self, who: Principal, outcome: subscriptions.Outcome) -> payments.Settled:
        """Pays a new subscription's first invoice in full."""
        assert outcome.invoice is not None
        invoice = outcome.invoice
        return self.pay(who, outcome.subscription.id, invoice.id, invoice.total_amount)

    def paid_subscription(
        self, shop: Shop, plan_id: str | None = None, session_id: str | None = None, **fields: Any
    ) -> tuple[Subscription, Invoice]:
        """A subscription whose first invoice is paid in full: active and paid."""
        p = shop.platform
        created = self.subscribe(p, plan_id or shop.plan_id, session_id=session_id, **fields)
        self.pay_first(p, created)
        active = self.subscription(p, created.subscription.id)
        assert (active.status, active.payment_status) == ("active", "paid")
        assert created.invoice is not None
        return active, self.invoice(p, active.id, created.invoice.id)

    def cancel(self, who: Principal, subscription_id: str, now: bool = False) -> Subscription:
        return subscriptions.cancel(self.deps, who, subscription_id, now, "").subscription

    def change_plan(
        self, who: Principal, subscription_id: str, plan_id: str
    ) -> subscriptions.Outcome:
        changes = subscriptions.Changes(plan_id=plan_id)
        return subscriptions.update(self.deps, who, subscription_id, changes, "")

    def renew(
        self, who: Principal, subscription_id: str, cycles: int = 0, uncancel: bool = False
    ) -> subscriptions.Outcome:
        return subscriptions.renew(self.deps, who, subscription_id, cycles, uncancel, "")

    def pause(self, who: Principal, subscription_id: str) -> Subscription:
        return subscriptions.pause(self.deps, who, subscription_id, "").subscription

    def resume(self, who: Principal, subscription_id: str) -> Subscription:
        return subscriptions.resume(self.deps, who, subscription_id, "").subscription

    def subscription(self, who: Principal, subscription_id: str) -> Subscription:
        return subscriptions.get(self.deps, who, subscription_id)

    def invoice(self, who: Principal, subscription_id: str, invoice_id: str) -> Invoice:
        return payments.get_invoice(self.deps, who, subscription_id, invoice_id)

    def invoices(self, who: Principal, subscription_id: str) -> list[Invoice]:
        """A subscription's invoices, newest first, as ListInvoices pages them."""
        return every_listed(
            lambda token: payments.list_invoices(self.deps, who, subscription_id, 100, token)
        )

    def current_invoice(self, who: Principal, subscription_id: str) -> Invoice:
        return self.invoices(who, subscription_id)[0]

    def payments_of(self, who: Principal, subscription_id: str, invoice_id: str) -> list[Payment]:
        return every_listed(
            lambda token: payments.list_payments(
                self.deps, who, subscription_id, invoice_id, 100, token
            )
        )

    def events(self, who: Principal, subscription_id: str) -> list[event_views.EventView]:
        """A subscription's events as ``who`` sees them, oldest first, as
        ListEvents pages them."""
        rows: list[Event] = every_listed(
            lambda token: events.list_events(
                self.deps, who, subscription_id, "", "", (), 0, 100, token
            )
        )
        return [event_views.seen_by(who, row) for row in rows]

    def check_access(
        self,
        who: Principal,
        session_id: str,
        product_id: str = "",
        feature_code: str = "",
        platform_id: str = "",
    ) -> Decision:
        """CheckAccess of a product or a feature for a user, decided at the
        clock's now, as a server without an access cache decides it."""
        checker = entitlements.AccessChecker(self.deps.store)
        platform = entitlements.platform_of(who, platform_id)
        return asyncio.run(
            checker.check(platform, session_id, product_id, feature_code, self.now())
        )

    def record_usage(
        self, who: Principal, subscription_id: str, code: str, quantity: int
    ) -> features.Usage:
        return features.record_usage(self.deps, who, subscription_id, code, quantity)

    def entitlements(
        self, who: Principal, session_id: str, platform_id: str = ""
    ) -> list[entitlements.Entitlement]:
        return entitlements.list_entitlements(self.deps, who, platform_id, session_id)

    def audit(self) -> list[audit.Violation]:
        """What `bento audit` finds in the store, judged at the clock's now."""
        return audit.run_audit(self.deps.store, self.now())
