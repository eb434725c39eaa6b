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

from bento_server.store import models
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


MIGRATIONS: list[Callable[[Store], None]] = [
    _v1_foundation,
    _v2_billing,
    _v3_activation,
    _v4_event_retention,
    _v5_entitlements,
    _v6_money,
    _v7_webhooks,
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
