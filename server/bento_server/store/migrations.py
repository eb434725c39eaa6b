"""Schema versions and the forward migrations between them.

Each migration is a function that takes the schema from version N-1 to N; it
runs in one transaction with the version bump. ``migrate`` applies the
missing ones in order; ``bento migrate`` and ``bento serve`` call it.

A migration creates the tables it introduces from the models
(``safe=True``). When a later migration adds a column to such a table, it
must use ``add_column_if_missing``: a fresh database gets the column from
the model already, an old one needs it added.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator

from bento_server.store import ledger, models
from bento_server.store.database import Store


def _v1_foundation(store: Store) -> None:
    store.db.create_tables(
        [
            models.Platform,
            models.App,
            models.ApiKey,
            models.Product,
            models.Plan,
            models.PlanProduct,
            models.PlanRegion,
            models.IdempotencyRecord,
            models.TestClockState,
        ],
        safe=True,
    )


def _v2_billing(store: Store) -> None:
    store.db.create_tables(
        [models.Subscription, models.Invoice, models.Payment, models.Event], safe=True
    )


def _v3_activation(store: Store) -> None:
    store.db.create_tables([models.ActivationSession, models.ActivationItem], safe=True)


def _v4_event_retention(store: Store) -> None:
    store.db.create_tables([models.EventLogState], safe=True)
    models.EventLogState.insert(id=1, pruned_through=0).on_conflict_ignore().execute()


def _v5_entitlements(store: Store) -> None:
    store.db.create_tables([models.SubscriptionFeature], safe=True)


def _v6_money(store: Store) -> None:
    # Credit balances, refunds due, end reasons, and per-invoice dunning.
    for table, name, column in (
        ("subscription", "credit_balance", peewee.BigIntegerField(default=0)),
        ("subscription", "refund_due", peewee.BigIntegerField(default=0)),
        ("subscription", "end_reason", peewee.CharField(max_length=32, null=True)),
        ("invoice", "credit_applied", peewee.BigIntegerField(default=0)),
        ("invoice", "credit_issued", peewee.BigIntegerField(default=0)),
        ("invoice", "grace_period_end", peewee.BigIntegerField(null=True)),
    ):
        add_column_if_missing(store, table, name, column)
    if "anchor_cycle" not in {c.name for c in store.db.get_columns("subscription")}:
        add_column_if_missing(store, "subscription", "anchor_cycle", peewee.IntegerField(default=1))
        # Until now the anchor started the first cycle after the last plan change.
        models.Subscription.update(
            anchor_cycle=models.Subscription.phase_cycle_offset + 1
        ).execute()


def _v7_webhooks(store: Store) -> None:
    store.db.create_tables([models.WebhookEndpoint, models.WebhookDelivery], safe=True)


def _v8_allocations(store: Store) -> None:
    # The allocation ledger. Invoices issued before it get their wholesale
    # terms from the catalog as it is now and one opening allocation each
    # of what they hold, dated when they were last paid or changed, so the
    # allocation law holds for every invoice from here on.
    add_column_if_missing(store, "invoice", "credit_paid_out", peewee.BigIntegerField(default=0))
    add_column_if_missing(store, "invoice", "allocation_terms", peewee.TextField(null=True))
    store.db.create_tables([models.Allocation, models.AllocationShare], safe=True)
    # The split is pure (no store, no clock): the write path and this
    # backfill use the one function.
    from bento_server.billing import allocation

    products: dict[str, list[models.Product]] = {}
    for link in models.PlanProduct.select().order_by(models.PlanProduct.position):
        products.setdefault(link.plan_id, []).append(link.product)
    plans = {plan.id: plan for plan in models.Plan.select()}
    legacy = models.Invoice.select().where(
        models.Invoice.allocation_terms.is_null() & (models.Invoice.subtotal > 0)
    )
    for invoice in legacy:
        plan = plans.get(invoice.plan_id)
        if plan is None:
            continue
        wholesale = tuple(
            allocation.Wholesale(
                product.app_id,
                product.id,
                allocation.monthly_wholesale(product.price_wholesale, invoice.currency),
            )
            for product in products.get(plan.id, [])
        )
        terms = allocation.Terms(
            allocation.cycle_months(plan.billing_unit, plan.billing_value), wholesale
        )
        invoice.allocation_terms = terms.to_stored()
        invoice.save(only=[models.Invoice.allocation_terms])
        held = allocation.Holding(
            invoice.total_amount,
            invoice.tax_amount,
            invoice.platform_fee_amount,
            invoice.proration_credit + invoice.credit_applied,
            invoice.amount_paid,
            invoice.credit_issued,
            0,
        )
        posting = allocation.post(allocation.NOTHING, held, terms)
        if posting is None:
            continue
        ledger.write_allocation(
            store,
            posting,
            invoice_id=invoice.id,
            subscription_id=invoice.subscription_id,
            platform_id=invoice.platform_id,
            plan_id=invoice.plan_id,
            currency=invoice.currency,
            posted_at=invoice.payment_date or invoice.updated_at,
        )


def _v9_subscription_activation(store: Store) -> None:
    # Subscriptions name their latest activation session; those opened
    # before get it from the sessions (IDs sort by creation).
    add_column_if_missing(
        store, "subscription", "activation_session_id", peewee.CharField(max_length=32, null=True)
    )
    session = models.ActivationSession
    newest = session.select(peewee.fn.MAX(session.id)).where(
        session.subscription == models.Subscription.id
    )
    models.Subscription.update(activation_session_id=newest).where(
        models.Subscription.activation_session_id.is_null()
    ).execute()


MIGRATIONS: list[Callable[[Store], None]] = [
    _v1_foundation,
    _v2_billing,
    _v3_activation,
    _v4_event_retention,
    _v5_entitlements,
    _v6_money,
    _v7_webhooks,
    _v8_allocations,
    _v9_subscription_activation,
]

LATEST_VERSION = len(MIGRATIONS)


def migrator_for(store: Store) -> SchemaMigrator:
    if store.is_postgres:
        return PostgresqlMigrator(store.db)
    return SqliteMigrator(store.db)


def add_column_if_missing(store: Store, table: str, name: str, field: peewee.Field) -> None:
    """Adds a column unless the table already has it."""
    if name not in {column.name for column in store.db.get_columns(table)}:
        migrator = migrator_for(store)
        migrator.add_column(table, name, field).run()  # type: ignore[attr-defined]


def current_version(store: Store) -> int:
    if not store.db.table_exists(models.SchemaVersion._meta.table_name):
        return 0
    row = models.SchemaVersion.select(peewee.fn.MAX(models.SchemaVersion.version)).scalar()
    return int(row or 0)


def migrate(store: Store) -> tuple[int, int]:
    """Applies every missing migration; returns (version before, version after).

    Two processes migrating at once are serialized by the write lock (SQLite)
    or an advisory lock (PostgreSQL); the second finds nothing left to do.
    """
    with store.write():
        store.lock("bento.migrate")
        store.db.create_tables([models.SchemaVersion], safe=True)
        before = current_version(store)
        if before > LATEST_VERSION:
            raise RuntimeError(
                f"database schema is at version {before}, newer than this server's "
                f"{LATEST_VERSION}: upgrade the server"
            )
        for version in range(before + 1, LATEST_VERSION + 1):
            MIGRATIONS[version - 1](store)
            models.SchemaVersion.insert(version=version).execute()
    return before, LATEST_VERSION
