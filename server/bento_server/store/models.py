"""Bento's tables.

IDs are the seed's prefixed strings (see ``bento_server.ids``) and sort by
creation time, so ``ORDER BY id`` is creation order and a page token is the
last ID seen. Instants are microseconds since the epoch (``InstantField``).
Money is integer minor units. Enumerations are stored as the seed's lower
case words ("active", "sub_bundle"), readable in the database.
"""

from __future__ import annotations

import peewee

from bento_server.store.database import database_proxy
from bento_server.store.fields import InstantField, JSONField


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class SchemaVersion(BaseModel):
    """The schema version the database is at (one row)."""

    version = peewee.IntegerField()


class Platform(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=32)
    name = peewee.CharField(max_length=200)
    fee_rate = peewee.DoubleField(default=0.0)
    single_active_subscription = peewee.BooleanField(default=False)
    created_at = InstantField()
    updated_at = InstantField()


class App(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=32)
    name = peewee.CharField(max_length=200)
    activation_url_template = peewee.CharField(max_length=2000)
    status = peewee.CharField(max_length=16, default="live")
    created_at = InstantField()
    updated_at = InstantField()


class ApiKey(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=32)
    role = peewee.CharField(max_length=16)
    # The platform or app the key acts for; NULL for admin keys.
    tenant_id = peewee.CharField(max_length=32, null=True, index=True)
    description = peewee.CharField(max_length=200, default="")
    # SHA-256 of the secret, hex. The secret is 256 random bits, so a fast
    # hash is enough: there is nothing to brute-force.
    secret_hash = peewee.CharField(max_length=64)
    created_at = InstantField()
    revoked_at = InstantField(null=True)


class Product(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=32)
    app = peewee.ForeignKeyField(App, backref="products", column_name="app_id", index=True)
    name = peewee.CharField(max_length=200)
    internal_id = peewee.CharField(max_length=200, default="")
    description = peewee.TextField(default="")
    product_type = peewee.CharField(max_length=100, default="")
    status = peewee.CharField(max_length=16, default="active")
    # [{code, name, kind, limit, reset_interval}]
    features = JSONField(default=list)
    # {region: {price_in_cents, currency_code, tier_id}}
    prices = JSONField(default=dict)
    price_wholesale = JSONField(null=True)
    # {language: {display_name, description}}
    localizations = JSONField(default=dict)
    metadata = JSONField(default=dict)
    created_at = InstantField()
    updated_at = InstantField()


class Plan(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=32)
    platform = peewee.ForeignKeyField(Platform, backref="plans", column_name="platform_id")
    name = peewee.CharField(max_length=200)
    plan_type = peewee.CharField(max_length=16, default="sub_single")
    status = peewee.CharField(max_length=16, default="active")
    billing_unit = peewee.CharField(max_length=8)
    billing_value = peewee.IntegerField()
    free_trial_days = peewee.IntegerField(default=0)
    grace_period_days = peewee.IntegerField(default=0)
    # {region: [{phase_id, order, billing_cycles|null, price: {...}}]}
    prices = JSONField(default=dict)
    localizations = JSONField(default=dict)
    tier = peewee.IntegerField(default=0)
    end_behavior = peewee.CharField(max_length=8, default="roll")
    can_pause = peewee.BooleanField(default=False)
    can_cancel = peewee.BooleanField(default=True)
    free = peewee.BooleanField(default=False)
    metadata = JSONField(default=dict)
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        indexes = (
            (("platform", "id"), False),
            (("platform", "free"), False),
        )


class PlanProduct(BaseModel):
    """A product of a plan, in the order the plan lists them."""

    plan = peewee.ForeignKeyField(Plan, backref="plan_products", column_name="plan_id")
    product = peewee.ForeignKeyField(Product, column_name="product_id", index=True)
    position = peewee.IntegerField()

    class Meta:
        primary_key = peewee.CompositeKey("plan", "product")


class PlanRegion(BaseModel):
    """A region a plan is priced in: what ListPlans filters on."""

    plan = peewee.ForeignKeyField(Plan, backref="plan_regions", column_name="plan_id")
    region = peewee.CharField(max_length=8)

    class Meta:
        primary_key = peewee.CompositeKey("plan", "region")
        indexes = ((("region", "plan"), False),)


class IdempotencyRecord(BaseModel):
    """The first answer to a mutating call made with an ``idempotency-key``.

    Written in the transaction of the call's effect, so an answer is stored
    exactly when its effect is.
    """

    api_key_id = peewee.CharField(max_length=32)
    key = peewee.CharField(max_length=255)
    method = peewee.CharField(max_length=200)
    request_hash = peewee.CharField(max_length=64)
    response = peewee.BlobField()
    created_at = InstantField(index=True)

    class Meta:
        indexes = ((("api_key_id", "key"), True),)


class TestClockState(BaseModel):
    """Where the test clock stands (one row), so a restart never turns it back."""

    __test__ = False  # not a pytest test class

    id = peewee.IntegerField(primary_key=True)
    now = InstantField()


ALL_MODELS: list[type[BaseModel]] = [
    SchemaVersion,
    Platform,
    App,
    ApiKey,
    Product,
    Plan,
    PlanProduct,
    PlanRegion,
    IdempotencyRecord,
    TestClockState,
]
