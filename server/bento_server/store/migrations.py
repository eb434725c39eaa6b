"""Schema versions and the forward migrations between them.

Each migration is a function that takes the schema from version N-1 to N; it
runs in one transaction with the version bump. ``migrate`` applies the
missing ones in order; ``bento migrate`` and ``bento serve`` call it.

A migration states its own schema: the tables and indexes it creates are
SQL text per dialect (the statements it ran on a fresh database when the
text was frozen at version 9), and the columns it adds are fields written
out in it, never read from the models. A model changed later thus changes
no migration; the change needs a migration of its own, and
tests/test_migrations.py fails until the migrated schema and the models'
agree again.

The subscription and invoice tables of version 2 hold the columns that
versions 6, 8 and 9 add: a fresh database got them from the models before
the DDL was frozen. Those migrations add them with ``add_column_if_missing``,
for databases created before them; a new migration adds its columns to the
tables as they stand, so it never needs that check.

Version 8 fills the allocation ledger by the billing rules' own code, and
version 11 corrects activation statuses by the activation rule; both read
and write in SQL naming the columns of their version, not through the
models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import peewee
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator

from bento_server import ids
from bento_server.store import models
from bento_server.store.database import Store

# The statements of one step, for each dialect ("sqlite", "postgresql").
Dialects = dict[str, tuple[str, ...]]


def _run(store: Store, ddl: Dialects) -> None:
    for statement in ddl["postgresql" if store.is_postgres else "sqlite"]:
        store.db.execute_sql(statement)


_SCHEMA_VERSION_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "schema_version" '
        '("id" INTEGER NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL)',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "schema_version" '
        '("id" SERIAL NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL)',
    ),
}


# The tables and indexes each migration creates.

_V1_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "api_key" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"role" VARCHAR(16) NOT NULL, '
        '"tenant_id" VARCHAR(32), '
        '"description" VARCHAR(200) NOT NULL, '
        '"secret_hash" VARCHAR(64) NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"revoked_at" INTEGER)',
        'CREATE INDEX IF NOT EXISTS "api_key_tenant_id" ON "api_key" ("tenant_id")',
        'CREATE TABLE IF NOT EXISTS "app" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"name" VARCHAR(200) NOT NULL, '
        '"activation_url_template" VARCHAR(2000) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL)',
        'CREATE TABLE IF NOT EXISTS "idempotency_record" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"api_key_id" VARCHAR(32) NOT NULL, '
        '"key" VARCHAR(255) NOT NULL, '
        '"method" VARCHAR(200) NOT NULL, '
        '"request_hash" VARCHAR(64) NOT NULL, '
        '"response" BLOB NOT NULL, '
        '"created_at" INTEGER NOT NULL)',
        'CREATE INDEX IF NOT EXISTS "idempotency_record_created_at" ON "idempotency_record" ("created_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "idempotency_record_api_key_id_key" ON "idempotency_record" ("api_key_id", "key")',
        'CREATE TABLE IF NOT EXISTS "platform" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"name" VARCHAR(200) NOT NULL, '
        '"fee_rate" REAL NOT NULL, '
        '"single_active_subscription" INTEGER NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL)',
        'CREATE TABLE IF NOT EXISTS "plan" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"name" VARCHAR(200) NOT NULL, '
        '"plan_type" VARCHAR(16) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"billing_unit" VARCHAR(8) NOT NULL, '
        '"billing_value" INTEGER NOT NULL, '
        '"free_trial_days" INTEGER NOT NULL, '
        '"grace_period_days" INTEGER NOT NULL, '
        '"prices" TEXT NOT NULL, '
        '"localizations" TEXT NOT NULL, '
        '"tier" INTEGER NOT NULL, '
        '"end_behavior" VARCHAR(8) NOT NULL, '
        '"can_pause" INTEGER NOT NULL, '
        '"can_cancel" INTEGER NOT NULL, '
        '"free" INTEGER NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "plan_platform_id" ON "plan" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "plan_platform_id_id" ON "plan" ("platform_id", "id")',
        'CREATE INDEX IF NOT EXISTS "plan_platform_id_free" ON "plan" ("platform_id", "free")',
        'CREATE TABLE IF NOT EXISTS "product" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"app_id" VARCHAR(32) NOT NULL, '
        '"name" VARCHAR(200) NOT NULL, '
        '"internal_id" VARCHAR(200) NOT NULL, '
        '"description" TEXT NOT NULL, '
        '"product_type" VARCHAR(100) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"features" TEXT NOT NULL, '
        '"prices" TEXT NOT NULL, '
        '"price_wholesale" TEXT, '
        '"localizations" TEXT NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("app_id") REFERENCES "app" ("id"))',
        'CREATE INDEX IF NOT EXISTS "product_app_id" ON "product" ("app_id")',
        'CREATE TABLE IF NOT EXISTS "plan_product" ('
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"product_id" VARCHAR(32) NOT NULL, '
        '"position" INTEGER NOT NULL, '
        'PRIMARY KEY ("plan_id", "product_id"), '
        'FOREIGN KEY ("plan_id") REFERENCES "plan" ("id"), '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id"))',
        'CREATE INDEX IF NOT EXISTS "plan_product_plan_id" ON "plan_product" ("plan_id")',
        'CREATE INDEX IF NOT EXISTS "plan_product_product_id" ON "plan_product" ("product_id")',
        'CREATE TABLE IF NOT EXISTS "plan_region" ('
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"region" VARCHAR(8) NOT NULL, '
        'PRIMARY KEY ("plan_id", "region"), '
        'FOREIGN KEY ("plan_id") REFERENCES "plan" ("id"))',
        'CREATE INDEX IF NOT EXISTS "plan_region_plan_id" ON "plan_region" ("plan_id")',
        'CREATE INDEX IF NOT EXISTS "plan_region_region_plan_id" ON "plan_region" ("region", "plan_id")',
        'CREATE TABLE IF NOT EXISTS "test_clock_state" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"now" INTEGER NOT NULL)',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "api_key" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"role" VARCHAR(16) NOT NULL, '
        '"tenant_id" VARCHAR(32), '
        '"description" VARCHAR(200) NOT NULL, '
        '"secret_hash" VARCHAR(64) NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"revoked_at" BIGINT)',
        'CREATE INDEX IF NOT EXISTS "api_key_tenant_id" ON "api_key" ("tenant_id")',
        'CREATE TABLE IF NOT EXISTS "app" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"name" VARCHAR(200) NOT NULL, '
        '"activation_url_template" VARCHAR(2000) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL)',
        'CREATE TABLE IF NOT EXISTS "idempotency_record" ('
        '"id" SERIAL NOT NULL PRIMARY KEY, '
        '"api_key_id" VARCHAR(32) NOT NULL, '
        '"key" VARCHAR(255) NOT NULL, '
        '"method" VARCHAR(200) NOT NULL, '
        '"request_hash" VARCHAR(64) NOT NULL, '
        '"response" BYTEA NOT NULL, '
        '"created_at" BIGINT NOT NULL)',
        'CREATE INDEX IF NOT EXISTS "idempotency_record_created_at" ON "idempotency_record" ("created_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "idempotency_record_api_key_id_key" ON "idempotency_record" ("api_key_id", "key")',
        'CREATE TABLE IF NOT EXISTS "platform" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"name" VARCHAR(200) NOT NULL, '
        '"fee_rate" DOUBLE PRECISION NOT NULL, '
        '"single_active_subscription" BOOLEAN NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL)',
        'CREATE TABLE IF NOT EXISTS "plan" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"name" VARCHAR(200) NOT NULL, '
        '"plan_type" VARCHAR(16) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"billing_unit" VARCHAR(8) NOT NULL, '
        '"billing_value" INTEGER NOT NULL, '
        '"free_trial_days" INTEGER NOT NULL, '
        '"grace_period_days" INTEGER NOT NULL, '
        '"prices" TEXT NOT NULL, '
        '"localizations" TEXT NOT NULL, '
        '"tier" INTEGER NOT NULL, '
        '"end_behavior" VARCHAR(8) NOT NULL, '
        '"can_pause" BOOLEAN NOT NULL, '
        '"can_cancel" BOOLEAN NOT NULL, '
        '"free" BOOLEAN NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "plan_platform_id" ON "plan" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "plan_platform_id_id" ON "plan" ("platform_id", "id")',
        'CREATE INDEX IF NOT EXISTS "plan_platform_id_free" ON "plan" ("platform_id", "free")',
        'CREATE TABLE IF NOT EXISTS "product" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"app_id" VARCHAR(32) NOT NULL, '
        '"name" VARCHAR(200) NOT NULL, '
        '"internal_id" VARCHAR(200) NOT NULL, '
        '"description" TEXT NOT NULL, '
        '"product_type" VARCHAR(100) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"features" TEXT NOT NULL, '
        '"prices" TEXT NOT NULL, '
        '"price_wholesale" TEXT, '
        '"localizations" TEXT NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("app_id") REFERENCES "app" ("id"))',
        'CREATE INDEX IF NOT EXISTS "product_app_id" ON "product" ("app_id")',
        'CREATE TABLE IF NOT EXISTS "plan_product" ('
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"product_id" VARCHAR(32) NOT NULL, '
        '"position" INTEGER NOT NULL, '
        'PRIMARY KEY ("plan_id", "product_id"), '
        'FOREIGN KEY ("plan_id") REFERENCES "plan" ("id"), '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id"))',
        'CREATE INDEX IF NOT EXISTS "plan_product_plan_id" ON "plan_product" ("plan_id")',
        'CREATE INDEX IF NOT EXISTS "plan_product_product_id" ON "plan_product" ("product_id")',
        'CREATE TABLE IF NOT EXISTS "plan_region" ('
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"region" VARCHAR(8) NOT NULL, '
        'PRIMARY KEY ("plan_id", "region"), '
        'FOREIGN KEY ("plan_id") REFERENCES "plan" ("id"))',
        'CREATE INDEX IF NOT EXISTS "plan_region_plan_id" ON "plan_region" ("plan_id")',
        'CREATE INDEX IF NOT EXISTS "plan_region_region_plan_id" ON "plan_region" ("region", "plan_id")',
        'CREATE TABLE IF NOT EXISTS "test_clock_state" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"now" BIGINT NOT NULL)',
    ),
}

_V2_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "event" ('
        '"sequence" INTEGER NOT NULL PRIMARY KEY, '
        '"event_id" VARCHAR(32) NOT NULL, '
        '"type" VARCHAR(64) NOT NULL, '
        '"occurred_at" INTEGER NOT NULL, '
        '"platform_id" VARCHAR(32), '
        '"subscription_id" VARCHAR(32), '
        '"session_id" VARCHAR(200), '
        '"plan_id" VARCHAR(32), '
        '"invoice_id" VARCHAR(32), '
        '"payment_id" VARCHAR(32), '
        '"activation_session_id" VARCHAR(32), '
        '"app_ids" TEXT NOT NULL, '
        '"data" TEXT NOT NULL)',
        'CREATE UNIQUE INDEX IF NOT EXISTS "event_event_id" ON "event" ("event_id")',
        'CREATE INDEX IF NOT EXISTS "event_occurred_at" ON "event" ("occurred_at")',
        'CREATE INDEX IF NOT EXISTS "event_platform_id_sequence" ON "event" ("platform_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "event_subscription_id_sequence" ON "event" ("subscription_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "event_session_id_sequence" ON "event" ("session_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "event_plan_id_sequence" ON "event" ("plan_id", "sequence")',
        'CREATE TABLE IF NOT EXISTS "subscription" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"session_id" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"activation_status" VARCHAR(16) NOT NULL, '
        '"activation_session_id" VARCHAR(32), '
        '"payment_status" VARCHAR(24) NOT NULL, '
        '"region" VARCHAR(8) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"plan_name" VARCHAR(200) NOT NULL, '
        '"plan_type" VARCHAR(16) NOT NULL, '
        '"plan_tier" INTEGER NOT NULL, '
        '"billing_unit" VARCHAR(8) NOT NULL, '
        '"billing_value" INTEGER NOT NULL, '
        '"grace_period_days" INTEGER NOT NULL, '
        '"end_behavior" VARCHAR(8) NOT NULL, '
        '"phases" TEXT NOT NULL, '
        '"billing_anchor" INTEGER NOT NULL, '
        '"anchor_cycle" INTEGER NOT NULL, '
        '"current_cycle" INTEGER NOT NULL, '
        '"phase_cycle_offset" INTEGER NOT NULL, '
        '"cycle_count" INTEGER NOT NULL, '
        '"current_phase_id" VARCHAR(32) NOT NULL, '
        '"period_start" INTEGER NOT NULL, '
        '"period_end" INTEGER NOT NULL, '
        '"next_billing_date" INTEGER, '
        '"grace_period_end" INTEGER, '
        '"trial_days" INTEGER NOT NULL, '
        '"trial_end" INTEGER, '
        '"tax_rate" REAL NOT NULL, '
        '"tax_type" VARCHAR(16) NOT NULL, '
        '"tax_jurisdiction" VARCHAR(200) NOT NULL, '
        '"tax_behavior" VARCHAR(16) NOT NULL, '
        '"tax_note" VARCHAR(2000) NOT NULL, '
        '"cancel_at_period_end" INTEGER NOT NULL, '
        '"canceled_at" INTEGER, '
        '"ended_at" INTEGER, '
        '"end_handled" INTEGER NOT NULL, '
        '"status_before_cancel" VARCHAR(16), '
        '"paused_at" INTEGER, '
        '"status_before_pause" VARCHAR(16), '
        '"paused_for" VARCHAR(32), '
        '"proration_credit" INTEGER NOT NULL, '
        '"credit_balance" INTEGER NOT NULL, '
        '"refund_due" INTEGER NOT NULL, '
        '"end_reason" VARCHAR(32), '
        '"payment_method_id" VARCHAR(200) NOT NULL, '
        '"activation_url" VARCHAR(2000) NOT NULL, '
        '"activation_token" VARCHAR(2000) NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"device_info" TEXT NOT NULL, '
        '"created_ip" VARCHAR(64) NOT NULL, '
        '"updated_ip" VARCHAR(64) NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"), '
        'FOREIGN KEY ("plan_id") REFERENCES "plan" ("id"))',
        'CREATE INDEX IF NOT EXISTS "subscription_platform_id" ON "subscription" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "subscription_plan_id" ON "subscription" ("plan_id")',
        'CREATE INDEX IF NOT EXISTS "subscription_next_billing_date" ON "subscription" ("next_billing_date")',
        'CREATE INDEX IF NOT EXISTS "subscription_grace_period_end" ON "subscription" ("grace_period_end")',
        'CREATE INDEX IF NOT EXISTS "subscription_trial_end" ON "subscription" ("trial_end")',
        'CREATE INDEX IF NOT EXISTS "subscription_ended_at" ON "subscription" ("ended_at")',
        'CREATE INDEX IF NOT EXISTS "subscription_paused_for" ON "subscription" ("paused_for")',
        'CREATE INDEX IF NOT EXISTS "subscription_platform_id_session_id_id" ON "subscription" ("platform_id", "session_id", "id")',
        'CREATE INDEX IF NOT EXISTS "subscription_platform_id_status_id" ON "subscription" ("platform_id", "status", "id")',
        'CREATE TABLE IF NOT EXISTS "invoice" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"number" VARCHAR(32) NOT NULL, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"session_id" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"payment_status" VARCHAR(24) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"region" VARCHAR(8) NOT NULL, '
        '"subtotal" INTEGER NOT NULL, '
        '"proration_credit" INTEGER NOT NULL, '
        '"credit_applied" INTEGER NOT NULL, '
        '"tax_amount" INTEGER NOT NULL, '
        '"total_amount" INTEGER NOT NULL, '
        '"amount_paid" INTEGER NOT NULL, '
        '"amount_refunded" INTEGER NOT NULL, '
        '"credit_issued" INTEGER NOT NULL, '
        '"credit_paid_out" INTEGER NOT NULL, '
        '"allocation_terms" TEXT, '
        '"grace_period_end" INTEGER, '
        '"tax_rate" REAL NOT NULL, '
        '"tax_type" VARCHAR(16) NOT NULL, '
        '"tax_jurisdiction" VARCHAR(200) NOT NULL, '
        '"tax_behavior" VARCHAR(16) NOT NULL, '
        '"tax_note" VARCHAR(2000) NOT NULL, '
        '"payment_method_id" VARCHAR(200) NOT NULL, '
        '"payment_intent_id" VARCHAR(200) NOT NULL, '
        '"payment_date" INTEGER, '
        '"retries_count" INTEGER NOT NULL, '
        '"retries_max" INTEGER NOT NULL, '
        '"retries_delay_minutes" INTEGER NOT NULL, '
        '"retries_next_date" INTEGER, '
        '"retries_last_date" INTEGER, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"plan_name" VARCHAR(200) NOT NULL, '
        '"plan_type" VARCHAR(16) NOT NULL, '
        '"phase_id" VARCHAR(32) NOT NULL, '
        '"phase_order" INTEGER NOT NULL, '
        '"billing_cycle" INTEGER NOT NULL, '
        '"platform_fee_rate" REAL NOT NULL, '
        '"platform_fee_amount" INTEGER NOT NULL, '
        '"period_start" INTEGER NOT NULL, '
        '"period_end" INTEGER NOT NULL, '
        '"invoice_date" INTEGER NOT NULL, '
        '"due_date" INTEGER NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_ip" VARCHAR(64) NOT NULL, '
        '"updated_ip" VARCHAR(64) NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "invoice_subscription_id" ON "invoice" ("subscription_id")',
        'CREATE INDEX IF NOT EXISTS "invoice_platform_id" ON "invoice" ("platform_id")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "invoice_subscription_id_billing_cycle" ON "invoice" ("subscription_id", "billing_cycle")',
        'CREATE INDEX IF NOT EXISTS "invoice_subscription_id_id" ON "invoice" ("subscription_id", "id")',
        'CREATE TABLE IF NOT EXISTS "payment" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"invoice_id" VARCHAR(32) NOT NULL, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"amount" INTEGER NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"status" VARCHAR(24) NOT NULL, '
        '"payment_method_id" VARCHAR(200) NOT NULL, '
        '"payment_intent_id" VARCHAR(200) NOT NULL, '
        '"refund_reason" VARCHAR(2000) NOT NULL, '
        '"original_payment_id" VARCHAR(32) NOT NULL, '
        '"error_code" VARCHAR(200) NOT NULL, '
        '"error_message" VARCHAR(2000) NOT NULL, '
        '"processor_response" TEXT NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_ip" VARCHAR(64) NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("invoice_id") REFERENCES "invoice" ("id"), '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "payment_invoice_id" ON "payment" ("invoice_id")',
        'CREATE INDEX IF NOT EXISTS "payment_subscription_id" ON "payment" ("subscription_id")',
        'CREATE INDEX IF NOT EXISTS "payment_platform_id" ON "payment" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "payment_invoice_id_id" ON "payment" ("invoice_id", "id")',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "event" ('
        '"sequence" BIGSERIAL NOT NULL PRIMARY KEY, '
        '"event_id" VARCHAR(32) NOT NULL, '
        '"type" VARCHAR(64) NOT NULL, '
        '"occurred_at" BIGINT NOT NULL, '
        '"platform_id" VARCHAR(32), '
        '"subscription_id" VARCHAR(32), '
        '"session_id" VARCHAR(200), '
        '"plan_id" VARCHAR(32), '
        '"invoice_id" VARCHAR(32), '
        '"payment_id" VARCHAR(32), '
        '"activation_session_id" VARCHAR(32), '
        '"app_ids" TEXT NOT NULL, '
        '"data" TEXT NOT NULL)',
        'CREATE UNIQUE INDEX IF NOT EXISTS "event_event_id" ON "event" ("event_id")',
        'CREATE INDEX IF NOT EXISTS "event_occurred_at" ON "event" ("occurred_at")',
        'CREATE INDEX IF NOT EXISTS "event_platform_id_sequence" ON "event" ("platform_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "event_subscription_id_sequence" ON "event" ("subscription_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "event_session_id_sequence" ON "event" ("session_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "event_plan_id_sequence" ON "event" ("plan_id", "sequence")',
        'CREATE TABLE IF NOT EXISTS "subscription" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"session_id" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"activation_status" VARCHAR(16) NOT NULL, '
        '"activation_session_id" VARCHAR(32), '
        '"payment_status" VARCHAR(24) NOT NULL, '
        '"region" VARCHAR(8) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"plan_name" VARCHAR(200) NOT NULL, '
        '"plan_type" VARCHAR(16) NOT NULL, '
        '"plan_tier" INTEGER NOT NULL, '
        '"billing_unit" VARCHAR(8) NOT NULL, '
        '"billing_value" INTEGER NOT NULL, '
        '"grace_period_days" INTEGER NOT NULL, '
        '"end_behavior" VARCHAR(8) NOT NULL, '
        '"phases" TEXT NOT NULL, '
        '"billing_anchor" BIGINT NOT NULL, '
        '"anchor_cycle" INTEGER NOT NULL, '
        '"current_cycle" INTEGER NOT NULL, '
        '"phase_cycle_offset" INTEGER NOT NULL, '
        '"cycle_count" INTEGER NOT NULL, '
        '"current_phase_id" VARCHAR(32) NOT NULL, '
        '"period_start" BIGINT NOT NULL, '
        '"period_end" BIGINT NOT NULL, '
        '"next_billing_date" BIGINT, '
        '"grace_period_end" BIGINT, '
        '"trial_days" INTEGER NOT NULL, '
        '"trial_end" BIGINT, '
        '"tax_rate" DOUBLE PRECISION NOT NULL, '
        '"tax_type" VARCHAR(16) NOT NULL, '
        '"tax_jurisdiction" VARCHAR(200) NOT NULL, '
        '"tax_behavior" VARCHAR(16) NOT NULL, '
        '"tax_note" VARCHAR(2000) NOT NULL, '
        '"cancel_at_period_end" BOOLEAN NOT NULL, '
        '"canceled_at" BIGINT, '
        '"ended_at" BIGINT, '
        '"end_handled" BOOLEAN NOT NULL, '
        '"status_before_cancel" VARCHAR(16), '
        '"paused_at" BIGINT, '
        '"status_before_pause" VARCHAR(16), '
        '"paused_for" VARCHAR(32), '
        '"proration_credit" BIGINT NOT NULL, '
        '"credit_balance" BIGINT NOT NULL, '
        '"refund_due" BIGINT NOT NULL, '
        '"end_reason" VARCHAR(32), '
        '"payment_method_id" VARCHAR(200) NOT NULL, '
        '"activation_url" VARCHAR(2000) NOT NULL, '
        '"activation_token" VARCHAR(2000) NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"device_info" TEXT NOT NULL, '
        '"created_ip" VARCHAR(64) NOT NULL, '
        '"updated_ip" VARCHAR(64) NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"), '
        'FOREIGN KEY ("plan_id") REFERENCES "plan" ("id"))',
        'CREATE INDEX IF NOT EXISTS "subscription_platform_id" ON "subscription" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "subscription_plan_id" ON "subscription" ("plan_id")',
        'CREATE INDEX IF NOT EXISTS "subscription_next_billing_date" ON "subscription" ("next_billing_date")',
        'CREATE INDEX IF NOT EXISTS "subscription_grace_period_end" ON "subscription" ("grace_period_end")',
        'CREATE INDEX IF NOT EXISTS "subscription_trial_end" ON "subscription" ("trial_end")',
        'CREATE INDEX IF NOT EXISTS "subscription_ended_at" ON "subscription" ("ended_at")',
        'CREATE INDEX IF NOT EXISTS "subscription_paused_for" ON "subscription" ("paused_for")',
        'CREATE INDEX IF NOT EXISTS "subscription_platform_id_session_id_id" ON "subscription" ("platform_id", "session_id", "id")',
        'CREATE INDEX IF NOT EXISTS "subscription_platform_id_status_id" ON "subscription" ("platform_id", "status", "id")',
        'CREATE TABLE IF NOT EXISTS "invoice" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"number" VARCHAR(32) NOT NULL, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"session_id" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"payment_status" VARCHAR(24) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"region" VARCHAR(8) NOT NULL, '
        '"subtotal" BIGINT NOT NULL, '
        '"proration_credit" BIGINT NOT NULL, '
        '"credit_applied" BIGINT NOT NULL, '
        '"tax_amount" BIGINT NOT NULL, '
        '"total_amount" BIGINT NOT NULL, '
        '"amount_paid" BIGINT NOT NULL, '
        '"amount_refunded" BIGINT NOT NULL, '
        '"credit_issued" BIGINT NOT NULL, '
        '"credit_paid_out" BIGINT NOT NULL, '
        '"allocation_terms" TEXT, '
        '"grace_period_end" BIGINT, '
        '"tax_rate" DOUBLE PRECISION NOT NULL, '
        '"tax_type" VARCHAR(16) NOT NULL, '
        '"tax_jurisdiction" VARCHAR(200) NOT NULL, '
        '"tax_behavior" VARCHAR(16) NOT NULL, '
        '"tax_note" VARCHAR(2000) NOT NULL, '
        '"payment_method_id" VARCHAR(200) NOT NULL, '
        '"payment_intent_id" VARCHAR(200) NOT NULL, '
        '"payment_date" BIGINT, '
        '"retries_count" INTEGER NOT NULL, '
        '"retries_max" INTEGER NOT NULL, '
        '"retries_delay_minutes" INTEGER NOT NULL, '
        '"retries_next_date" BIGINT, '
        '"retries_last_date" BIGINT, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"plan_name" VARCHAR(200) NOT NULL, '
        '"plan_type" VARCHAR(16) NOT NULL, '
        '"phase_id" VARCHAR(32) NOT NULL, '
        '"phase_order" INTEGER NOT NULL, '
        '"billing_cycle" INTEGER NOT NULL, '
        '"platform_fee_rate" DOUBLE PRECISION NOT NULL, '
        '"platform_fee_amount" BIGINT NOT NULL, '
        '"period_start" BIGINT NOT NULL, '
        '"period_end" BIGINT NOT NULL, '
        '"invoice_date" BIGINT NOT NULL, '
        '"due_date" BIGINT NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_ip" VARCHAR(64) NOT NULL, '
        '"updated_ip" VARCHAR(64) NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "invoice_subscription_id" ON "invoice" ("subscription_id")',
        'CREATE INDEX IF NOT EXISTS "invoice_platform_id" ON "invoice" ("platform_id")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "invoice_subscription_id_billing_cycle" ON "invoice" ("subscription_id", "billing_cycle")',
        'CREATE INDEX IF NOT EXISTS "invoice_subscription_id_id" ON "invoice" ("subscription_id", "id")',
        'CREATE TABLE IF NOT EXISTS "payment" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"invoice_id" VARCHAR(32) NOT NULL, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"amount" BIGINT NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"status" VARCHAR(24) NOT NULL, '
        '"payment_method_id" VARCHAR(200) NOT NULL, '
        '"payment_intent_id" VARCHAR(200) NOT NULL, '
        '"refund_reason" VARCHAR(2000) NOT NULL, '
        '"original_payment_id" VARCHAR(32) NOT NULL, '
        '"error_code" VARCHAR(200) NOT NULL, '
        '"error_message" VARCHAR(2000) NOT NULL, '
        '"processor_response" TEXT NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_ip" VARCHAR(64) NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("invoice_id") REFERENCES "invoice" ("id"), '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "payment_invoice_id" ON "payment" ("invoice_id")',
        'CREATE INDEX IF NOT EXISTS "payment_subscription_id" ON "payment" ("subscription_id")',
        'CREATE INDEX IF NOT EXISTS "payment_platform_id" ON "payment" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "payment_invoice_id_id" ON "payment" ("invoice_id", "id")',
    ),
}

_V3_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "activation_session" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"invoice_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"session_id" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"expires_at" INTEGER NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"), '
        'FOREIGN KEY ("invoice_id") REFERENCES "invoice" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "activation_session_subscription_id" ON "activation_session" ("subscription_id")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "activation_session_invoice_id" ON "activation_session" ("invoice_id")',
        'CREATE INDEX IF NOT EXISTS "activation_session_platform_id" ON "activation_session" ("platform_id")',
        'CREATE TABLE IF NOT EXISTS "activation_item" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"activation_session_id" VARCHAR(32) NOT NULL, '
        '"app_id" VARCHAR(32) NOT NULL, '
        '"app_name" VARCHAR(200) NOT NULL, '
        '"product_id" VARCHAR(32) NOT NULL, '
        '"product_name" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"code_hash" VARCHAR(64) NOT NULL, '
        '"jti" VARCHAR(32) NOT NULL, '
        '"user_id" VARCHAR(200) NOT NULL, '
        '"error_reason" VARCHAR(2000) NOT NULL, '
        '"activated_at" INTEGER, '
        '"exchanged_at" INTEGER, '
        '"expires_at" INTEGER NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("activation_session_id") REFERENCES "activation_session" ("id"), '
        'FOREIGN KEY ("app_id") REFERENCES "app" ("id"), '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id"))',
        'CREATE INDEX IF NOT EXISTS "activation_item_activation_session_id" ON "activation_item" ("activation_session_id")',
        'CREATE INDEX IF NOT EXISTS "activation_item_app_id" ON "activation_item" ("app_id")',
        'CREATE INDEX IF NOT EXISTS "activation_item_product_id" ON "activation_item" ("product_id")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "activation_item_code_hash" ON "activation_item" ("code_hash")',
        'CREATE INDEX IF NOT EXISTS "activation_item_expires_at" ON "activation_item" ("expires_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "activation_item_activation_session_id_app_id" ON "activation_item" ("activation_session_id", "app_id")',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "activation_session" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"invoice_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"session_id" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"expires_at" BIGINT NOT NULL, '
        '"metadata" TEXT NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"), '
        'FOREIGN KEY ("invoice_id") REFERENCES "invoice" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "activation_session_subscription_id" ON "activation_session" ("subscription_id")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "activation_session_invoice_id" ON "activation_session" ("invoice_id")',
        'CREATE INDEX IF NOT EXISTS "activation_session_platform_id" ON "activation_session" ("platform_id")',
        'CREATE TABLE IF NOT EXISTS "activation_item" ('
        '"id" SERIAL NOT NULL PRIMARY KEY, '
        '"activation_session_id" VARCHAR(32) NOT NULL, '
        '"app_id" VARCHAR(32) NOT NULL, '
        '"app_name" VARCHAR(200) NOT NULL, '
        '"product_id" VARCHAR(32) NOT NULL, '
        '"product_name" VARCHAR(200) NOT NULL, '
        '"status" VARCHAR(16) NOT NULL, '
        '"code_hash" VARCHAR(64) NOT NULL, '
        '"jti" VARCHAR(32) NOT NULL, '
        '"user_id" VARCHAR(200) NOT NULL, '
        '"error_reason" VARCHAR(2000) NOT NULL, '
        '"activated_at" BIGINT, '
        '"exchanged_at" BIGINT, '
        '"expires_at" BIGINT NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("activation_session_id") REFERENCES "activation_session" ("id"), '
        'FOREIGN KEY ("app_id") REFERENCES "app" ("id"), '
        'FOREIGN KEY ("product_id") REFERENCES "product" ("id"))',
        'CREATE INDEX IF NOT EXISTS "activation_item_activation_session_id" ON "activation_item" ("activation_session_id")',
        'CREATE INDEX IF NOT EXISTS "activation_item_app_id" ON "activation_item" ("app_id")',
        'CREATE INDEX IF NOT EXISTS "activation_item_product_id" ON "activation_item" ("product_id")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "activation_item_code_hash" ON "activation_item" ("code_hash")',
        'CREATE INDEX IF NOT EXISTS "activation_item_expires_at" ON "activation_item" ("expires_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "activation_item_activation_session_id_app_id" ON "activation_item" ("activation_session_id", "app_id")',
    ),
}

_V4_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "event_log_state" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"pruned_through" INTEGER NOT NULL)',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "event_log_state" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"pruned_through" BIGINT NOT NULL)',
    ),
}

_V5_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "subscription_feature" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"code" VARCHAR(64) NOT NULL, '
        '"name" VARCHAR(200) NOT NULL, '
        '"kind" VARCHAR(8) NOT NULL, '
        '"limit" INTEGER NOT NULL, '
        '"reset_interval" VARCHAR(16) NOT NULL, '
        '"source" VARCHAR(16) NOT NULL, '
        '"product_ids" TEXT NOT NULL, '
        '"plan_limit" INTEGER NOT NULL, '
        '"used" INTEGER NOT NULL, '
        '"window_start" INTEGER NOT NULL, '
        '"resets_at" INTEGER, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"))',
        'CREATE INDEX IF NOT EXISTS "subscription_feature_subscription_id" ON "subscription_feature" ("subscription_id")',
        'CREATE INDEX IF NOT EXISTS "subscription_feature_resets_at" ON "subscription_feature" ("resets_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "subscription_feature_subscription_id_code" ON "subscription_feature" ("subscription_id", "code")',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "subscription_feature" ('
        '"id" SERIAL NOT NULL PRIMARY KEY, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"code" VARCHAR(64) NOT NULL, '
        '"name" VARCHAR(200) NOT NULL, '
        '"kind" VARCHAR(8) NOT NULL, '
        '"limit" BIGINT NOT NULL, '
        '"reset_interval" VARCHAR(16) NOT NULL, '
        '"source" VARCHAR(16) NOT NULL, '
        '"product_ids" TEXT NOT NULL, '
        '"plan_limit" BIGINT NOT NULL, '
        '"used" BIGINT NOT NULL, '
        '"window_start" BIGINT NOT NULL, '
        '"resets_at" BIGINT, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("subscription_id") REFERENCES "subscription" ("id"))',
        'CREATE INDEX IF NOT EXISTS "subscription_feature_subscription_id" ON "subscription_feature" ("subscription_id")',
        'CREATE INDEX IF NOT EXISTS "subscription_feature_resets_at" ON "subscription_feature" ("resets_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "subscription_feature_subscription_id_code" ON "subscription_feature" ("subscription_id", "code")',
    ),
}

_V7_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "webhook_endpoint" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"role" VARCHAR(16) NOT NULL, '
        '"tenant_id" VARCHAR(32), '
        '"url" VARCHAR(2000) NOT NULL, '
        '"event_types" TEXT NOT NULL, '
        '"description" VARCHAR(200) NOT NULL, '
        '"disabled" INTEGER NOT NULL, '
        '"disabled_reason" VARCHAR(16), '
        '"secret_sealed" TEXT NOT NULL, '
        '"secret_created_at" INTEGER NOT NULL, '
        '"previous_secret_sealed" TEXT, '
        '"previous_secret_expires_at" INTEGER, '
        '"cursor" INTEGER NOT NULL, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL)',
        'CREATE INDEX IF NOT EXISTS "webhook_endpoint_tenant_id" ON "webhook_endpoint" ("tenant_id")',
        'CREATE TABLE IF NOT EXISTS "webhook_delivery" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"endpoint_id" VARCHAR(32) NOT NULL, '
        '"sequence" INTEGER, '
        '"event_id" VARCHAR(32) NOT NULL, '
        '"event_type" VARCHAR(64) NOT NULL, '
        '"state" VARCHAR(16) NOT NULL, '
        '"attempts" INTEGER NOT NULL, '
        '"last_status_code" INTEGER NOT NULL, '
        '"last_error" VARCHAR(500) NOT NULL, '
        '"next_attempt_at" INTEGER, '
        '"first_attempt_at" INTEGER, '
        '"delivered_at" INTEGER, '
        '"leased_until" INTEGER, '
        '"created_at" INTEGER NOT NULL, '
        '"updated_at" INTEGER NOT NULL, '
        'FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoint" ("id") ON DELETE CASCADE)',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_endpoint_id" ON "webhook_delivery" ("endpoint_id")',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_next_attempt_at" ON "webhook_delivery" ("next_attempt_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "webhook_delivery_endpoint_id_sequence" ON "webhook_delivery" ("endpoint_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_state_next_attempt_at" ON "webhook_delivery" ("state", "next_attempt_at")',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_event_id" ON "webhook_delivery" ("event_id")',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "webhook_endpoint" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"role" VARCHAR(16) NOT NULL, '
        '"tenant_id" VARCHAR(32), '
        '"url" VARCHAR(2000) NOT NULL, '
        '"event_types" TEXT NOT NULL, '
        '"description" VARCHAR(200) NOT NULL, '
        '"disabled" BOOLEAN NOT NULL, '
        '"disabled_reason" VARCHAR(16), '
        '"secret_sealed" TEXT NOT NULL, '
        '"secret_created_at" BIGINT NOT NULL, '
        '"previous_secret_sealed" TEXT, '
        '"previous_secret_expires_at" BIGINT, '
        '"cursor" BIGINT NOT NULL, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL)',
        'CREATE INDEX IF NOT EXISTS "webhook_endpoint_tenant_id" ON "webhook_endpoint" ("tenant_id")',
        'CREATE TABLE IF NOT EXISTS "webhook_delivery" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"endpoint_id" VARCHAR(32) NOT NULL, '
        '"sequence" BIGINT, '
        '"event_id" VARCHAR(32) NOT NULL, '
        '"event_type" VARCHAR(64) NOT NULL, '
        '"state" VARCHAR(16) NOT NULL, '
        '"attempts" INTEGER NOT NULL, '
        '"last_status_code" INTEGER NOT NULL, '
        '"last_error" VARCHAR(500) NOT NULL, '
        '"next_attempt_at" BIGINT, '
        '"first_attempt_at" BIGINT, '
        '"delivered_at" BIGINT, '
        '"leased_until" BIGINT, '
        '"created_at" BIGINT NOT NULL, '
        '"updated_at" BIGINT NOT NULL, '
        'FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoint" ("id") ON DELETE CASCADE)',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_endpoint_id" ON "webhook_delivery" ("endpoint_id")',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_next_attempt_at" ON "webhook_delivery" ("next_attempt_at")',
        'CREATE UNIQUE INDEX IF NOT EXISTS "webhook_delivery_endpoint_id_sequence" ON "webhook_delivery" ("endpoint_id", "sequence")',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_state_next_attempt_at" ON "webhook_delivery" ("state", "next_attempt_at")',
        'CREATE INDEX IF NOT EXISTS "webhook_delivery_event_id" ON "webhook_delivery" ("event_id")',
    ),
}

_V8_DDL: Dialects = {
    "sqlite": (
        'CREATE TABLE IF NOT EXISTS "allocation" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"invoice_id" VARCHAR(32) NOT NULL, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"payment_id" VARCHAR(32) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"posted_at" INTEGER NOT NULL, '
        '"paid" INTEGER NOT NULL, '
        '"refunded" INTEGER NOT NULL, '
        '"credit_applied" INTEGER NOT NULL, '
        '"credit_issued" INTEGER NOT NULL, '
        '"tax" INTEGER NOT NULL, '
        '"platform_fee" INTEGER NOT NULL, '
        '"platform_share" INTEGER NOT NULL, '
        '"cycles" INTEGER NOT NULL, '
        'FOREIGN KEY ("invoice_id") REFERENCES "invoice" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "allocation_invoice_id" ON "allocation" ("invoice_id")',
        'CREATE INDEX IF NOT EXISTS "allocation_platform_id" ON "allocation" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "allocation_platform_id_posted_at_id" ON "allocation" ("platform_id", "posted_at", "id")',
        'CREATE INDEX IF NOT EXISTS "allocation_invoice_id_id" ON "allocation" ("invoice_id", "id")',
        'CREATE TABLE IF NOT EXISTS "allocation_share" ('
        '"id" INTEGER NOT NULL PRIMARY KEY, '
        '"allocation_id" VARCHAR(32) NOT NULL, '
        '"app_id" VARCHAR(32) NOT NULL, '
        '"product_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"posted_at" INTEGER NOT NULL, '
        '"amount" INTEGER NOT NULL, '
        '"cycles" INTEGER NOT NULL, '
        'FOREIGN KEY ("allocation_id") REFERENCES "allocation" ("id"))',
        'CREATE INDEX IF NOT EXISTS "allocation_share_allocation_id" ON "allocation_share" ("allocation_id")',
        'CREATE INDEX IF NOT EXISTS "allocation_share_app_id_posted_at" ON "allocation_share" ("app_id", "posted_at")',
    ),
    "postgresql": (
        'CREATE TABLE IF NOT EXISTS "allocation" ('
        '"id" VARCHAR(32) NOT NULL PRIMARY KEY, '
        '"invoice_id" VARCHAR(32) NOT NULL, '
        '"subscription_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"payment_id" VARCHAR(32) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"posted_at" BIGINT NOT NULL, '
        '"paid" BIGINT NOT NULL, '
        '"refunded" BIGINT NOT NULL, '
        '"credit_applied" BIGINT NOT NULL, '
        '"credit_issued" BIGINT NOT NULL, '
        '"tax" BIGINT NOT NULL, '
        '"platform_fee" BIGINT NOT NULL, '
        '"platform_share" BIGINT NOT NULL, '
        '"cycles" INTEGER NOT NULL, '
        'FOREIGN KEY ("invoice_id") REFERENCES "invoice" ("id"), '
        'FOREIGN KEY ("platform_id") REFERENCES "platform" ("id"))',
        'CREATE INDEX IF NOT EXISTS "allocation_invoice_id" ON "allocation" ("invoice_id")',
        'CREATE INDEX IF NOT EXISTS "allocation_platform_id" ON "allocation" ("platform_id")',
        'CREATE INDEX IF NOT EXISTS "allocation_platform_id_posted_at_id" ON "allocation" ("platform_id", "posted_at", "id")',
        'CREATE INDEX IF NOT EXISTS "allocation_invoice_id_id" ON "allocation" ("invoice_id", "id")',
        'CREATE TABLE IF NOT EXISTS "allocation_share" ('
        '"id" SERIAL NOT NULL PRIMARY KEY, '
        '"allocation_id" VARCHAR(32) NOT NULL, '
        '"app_id" VARCHAR(32) NOT NULL, '
        '"product_id" VARCHAR(32) NOT NULL, '
        '"platform_id" VARCHAR(32) NOT NULL, '
        '"plan_id" VARCHAR(32) NOT NULL, '
        '"currency" VARCHAR(3) NOT NULL, '
        '"posted_at" BIGINT NOT NULL, '
        '"amount" BIGINT NOT NULL, '
        '"cycles" INTEGER NOT NULL, '
        'FOREIGN KEY ("allocation_id") REFERENCES "allocation" ("id"))',
        'CREATE INDEX IF NOT EXISTS "allocation_share_allocation_id" ON "allocation_share" ("allocation_id")',
        'CREATE INDEX IF NOT EXISTS "allocation_share_app_id_posted_at" ON "allocation_share" ("app_id", "posted_at")',
    ),
}


def _v1_foundation(store: Store) -> None:
    _run(store, _V1_DDL)


def _v2_billing(store: Store) -> None:
    _run(store, _V2_DDL)


def _v3_activation(store: Store) -> None:
    _run(store, _V3_DDL)


def _v4_event_retention(store: Store) -> None:
    _run(store, _V4_DDL)
    store.db.execute_sql(
        'INSERT INTO "event_log_state" ("id", "pruned_through") VALUES (1, 0) '
        "ON CONFLICT DO NOTHING"
    )


def _v5_entitlements(store: Store) -> None:
    _run(store, _V5_DDL)


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
        store.db.execute_sql(
            'UPDATE "subscription" SET "anchor_cycle" = ("phase_cycle_offset" + 1)'
        )


def _v7_webhooks(store: Store) -> None:
    _run(store, _V7_DDL)


def _v8_allocations(store: Store) -> None:
    # The allocation ledger. Invoices issued before it get their wholesale
    # terms from the catalog as it is now and one opening allocation each
    # of what they hold, dated when they were last paid or changed, so the
    # allocation law holds for every invoice from here on. Read and written
    # in SQL naming the columns of this version, as the DDL is: the models
    # describe the latest schema, which a later migration may have changed.
    add_column_if_missing(store, "invoice", "credit_paid_out", peewee.BigIntegerField(default=0))
    add_column_if_missing(store, "invoice", "allocation_terms", peewee.TextField(null=True))
    _run(store, _V8_DDL)
    # The split is pure (no store, no clock): the write path and this
    # backfill use the one function.
    from bento_server.billing import allocation

    db, mark = store.db, store.db.param
    # Per plan, in its order: each product's app, ID and stored wholesale price.
    products: dict[str, list[tuple[str, str, Any]]] = {}
    for plan_id, app_id, product_id, price in db.execute_sql(
        'SELECT "l"."plan_id", "p"."app_id", "p"."id", "p"."price_wholesale" '
        'FROM "plan_product" AS "l" JOIN "product" AS "p" ON "p"."id" = "l"."product_id" '
        'ORDER BY "l"."position"'
    ).fetchall():
        products.setdefault(plan_id, []).append(
            (app_id, product_id, json.loads(price) if price else None)
        )
    cycles = {
        plan_id: allocation.cycle_months(unit, value)
        for plan_id, unit, value in db.execute_sql(
            'SELECT "id", "billing_unit", "billing_value" FROM "plan"'
        ).fetchall()
    }
    legacy = db.execute_sql(
        'SELECT "id", "plan_id", "subscription_id", "platform_id", "currency", '
        '"total_amount", "tax_amount", "platform_fee_amount", "proration_credit", '
        '"credit_applied", "amount_paid", "credit_issued", "payment_date", "updated_at" '
        'FROM "invoice" WHERE "allocation_terms" IS NULL AND "subtotal" > 0 ORDER BY "id"'
    ).fetchall()
    for (
        invoice_id,
        plan_id,
        subscription_id,
        platform_id,
        currency,
        total,
        tax,
        fee,
        proration_credit,
        credit_applied,
        paid,
        credit_issued,
        payment_date,
        updated_at,
    ) in legacy:
        if plan_id not in cycles:
            continue
        terms = allocation.Terms(
            cycles[plan_id],
            tuple(
                allocation.Wholesale(
                    app_id, product_id, allocation.monthly_wholesale(price, currency)
                )
                for app_id, product_id, price in products.get(plan_id, [])
            ),
        )
        db.execute_sql(
            f'UPDATE "invoice" SET "allocation_terms" = {mark} WHERE "id" = {mark}',
            (json.dumps(terms.to_stored(), separators=(",", ":"), sort_keys=True), invoice_id),
        )
        held = allocation.Holding(
            total, tax, fee, proration_credit + credit_applied, paid, credit_issued, 0
        )
        posting = allocation.post(allocation.NOTHING, held, terms)
        if posting is None:
            continue
        moved, changed = posting.movement, posting.change
        allocation_id = ids.new_id(ids.ALLOCATION)
        posted_at = payment_date if payment_date is not None else updated_at
        db.execute_sql(
            'INSERT INTO "allocation" ("id", "invoice_id", "subscription_id", "platform_id", '
            '"plan_id", "payment_id", "currency", "posted_at", "paid", "refunded", '
            '"credit_applied", "credit_issued", "tax", "platform_fee", "platform_share", '
            f'"cycles") VALUES ({", ".join([mark] * 16)})',
            (
                allocation_id,
                invoice_id,
                subscription_id,
                platform_id,
                plan_id,
                "",
                currency,
                posted_at,
                moved.paid,
                moved.refunded,
                moved.credit_applied,
                moved.credit_issued,
                changed.tax,
                changed.platform_fee,
                changed.platform_share,
                changed.cycles,
            ),
        )
        for (app_id, product_id), amount in changed.shares.items():
            if amount or changed.cycles:
                db.execute_sql(
                    'INSERT INTO "allocation_share" ("allocation_id", "app_id", "product_id", '
                    '"platform_id", "plan_id", "currency", "posted_at", "amount", "cycles") '
                    f"VALUES ({', '.join([mark] * 9)})",
                    (
                        allocation_id,
                        app_id,
                        product_id,
                        platform_id,
                        plan_id,
                        currency,
                        posted_at,
                        amount,
                        changed.cycles,
                    ),
                )


def _v9_subscription_activation(store: Store) -> None:
    # Subscriptions name their latest activation session; those opened
    # before get it from the sessions (IDs sort by creation).
    add_column_if_missing(
        store, "subscription", "activation_session_id", peewee.CharField(max_length=32, null=True)
    )
    store.db.execute_sql(
        'UPDATE "subscription" SET "activation_session_id" = '
        '(SELECT MAX("t1"."id") FROM "activation_session" AS "t1" '
        'WHERE ("t1"."subscription_id" = "subscription"."id")) '
        'WHERE ("subscription"."activation_session_id" IS NULL)'
    )


# Indexes of one column that an index of several leading with that column
# makes redundant: each cost every insert (a renewal's invoice among them)
# and served no lookup the longer one does not.
_V10_DDL: Dialects = {
    dialect: (
        'DROP INDEX IF EXISTS "subscription_platform_id"',
        'DROP INDEX IF EXISTS "invoice_subscription_id"',
        'DROP INDEX IF EXISTS "allocation_invoice_id"',
        'DROP INDEX IF EXISTS "allocation_platform_id"',
    )
    for dialect in ("sqlite", "postgresql")
}


def _v10_redundant_indexes(store: Store) -> None:
    _run(store, _V10_DDL)


def _v11_activation_status(store: Store) -> None:
    # Opening a second activation session (a plan change that adds an app)
    # used to set the subscription's activation_status to pending, whatever
    # its earlier items said. Subscriptions with more than one session get
    # the status the rule gives over all their items; others were never
    # touched by that. Their rows keep their updated_at: the status is
    # corrected, not changed by anything that happened to them.
    from bento_server.billing.activation import derive_status

    mark = store.db.param
    several = [
        row[0]
        for row in store.db.execute_sql(
            'SELECT "subscription_id" FROM "activation_session" '
            'GROUP BY "subscription_id" HAVING COUNT(*) > 1 ORDER BY "subscription_id"'
        ).fetchall()
    ]
    for start in range(0, len(several), 500):
        chunk = several[start : start + 500]
        marks = ", ".join([mark] * len(chunk))
        items: dict[str, list[str]] = {subscription_id: [] for subscription_id in chunk}
        for subscription_id, status in store.db.execute_sql(
            'SELECT "s"."subscription_id", "i"."status" FROM "activation_item" AS "i" '
            'JOIN "activation_session" AS "s" ON "s"."id" = "i"."activation_session_id" '
            f'WHERE "s"."subscription_id" IN ({marks})',
            tuple(chunk),
        ).fetchall():
            items[subscription_id].append(status)
        for subscription_id, statuses in items.items():
            status = str(derive_status(statuses))
            store.db.execute_sql(
                f'UPDATE "subscription" SET "activation_status" = {mark} '
                f'WHERE "id" = {mark} AND "activation_status" <> {mark}',
                (status, subscription_id, status),
            )


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
    _v10_redundant_indexes,
    _v11_activation_status,
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
        _run(store, _SCHEMA_VERSION_DDL)
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
