"""Bento's tables.

IDs are the seed's prefixed strings (see ``bento_server.ids``) and sort by
creation time, so ``ORDER BY id`` is creation order and a page token is the
last ID seen. Instants are microseconds since the epoch (``InstantField``).
Money is integer minor units. Enumerations are stored as the seed's lower
case words ("active", "sub_bundle"), readable in the database.
"""

from __future__ import annotations

import peewee

from bento_server.store.fields import InstantField, JSONField


class BaseModel(peewee.Model):
    class Meta:
        # None until a store is opened: ``Store.bind`` binds every model
        # of ALL_MODELS to its database.
        database = None
        legacy_table_names = False
        # An UPDATE writes the columns that changed, not all sixty of a
        # subscription: less SQL to build, and two writers that change
        # different columns of one row do not undo each other.
        only_save_dirty = True


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


class Subscription(BaseModel):
    """A user's subscription to a plan.

    What the plan said when the subscription started (name, price phases of
    the region, billing frequency, grace days, end behaviour) is copied
    here: a later change of the plan does not reprice running subscriptions.
    """

    id = peewee.CharField(primary_key=True, max_length=32)
    # No index of its own: the two indexes that lead with it serve its lookups.
    platform = peewee.ForeignKeyField(Platform, column_name="platform_id", index=False)
    plan = peewee.ForeignKeyField(Plan, column_name="plan_id", index=True)
    session_id = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=16)
    activation_status = peewee.CharField(max_length=16, default="pending")
    # The latest activation session opened for it, so answers name it
    # without a read of the sessions.
    activation_session_id = peewee.CharField(max_length=32, null=True)
    payment_status = peewee.CharField(max_length=24)
    region = peewee.CharField(max_length=8)
    currency = peewee.CharField(max_length=3)
    # The plan as subscribed.
    plan_name = peewee.CharField(max_length=200)
    plan_type = peewee.CharField(max_length=16)
    plan_tier = peewee.IntegerField(default=0)
    billing_unit = peewee.CharField(max_length=8)
    billing_value = peewee.IntegerField()
    grace_period_days = peewee.IntegerField(default=0)
    end_behavior = peewee.CharField(max_length=8)
    phases = JSONField()
    # Periods are computed from the anchor (calendar months keep its day of
    # month): billing cycle anchor_cycle starts at billing_anchor. A plan
    # change or a resume re-anchors at the start of the next period, so
    # periods stay back to back.
    billing_anchor = InstantField()
    anchor_cycle = peewee.IntegerField(default=1)
    # The billing cycle of the current period (0 = trial, 1+ = paid) and
    # how many cycles were paid. Phases count cycles from the last plan
    # change: phase cycle = current_cycle - phase_cycle_offset.
    current_cycle = peewee.IntegerField(default=0)
    phase_cycle_offset = peewee.IntegerField(default=0)
    cycle_count = peewee.IntegerField(default=0)
    current_phase_id = peewee.CharField(max_length=32, default="")
    period_start = InstantField()
    period_end = InstantField()
    next_billing_date = InstantField(null=True, index=True)
    grace_period_end = InstantField(null=True, index=True)
    trial_days = peewee.IntegerField(default=0)
    trial_end = InstantField(null=True, index=True)
    tax_rate = peewee.DoubleField(default=0.0)
    tax_type = peewee.CharField(max_length=16, default="none")
    tax_jurisdiction = peewee.CharField(max_length=200, default="")
    tax_behavior = peewee.CharField(max_length=16, default="none")
    tax_note = peewee.CharField(max_length=2000, default="")
    cancel_at_period_end = peewee.BooleanField(default=False)
    canceled_at = InstantField(null=True)
    ended_at = InstantField(null=True, index=True)
    # Whether the end's consequences (voided invoices, a waiting lower tier
    # resumed) were carried out; the clock does it for ends in the future.
    end_handled = peewee.BooleanField(default=False)
    status_before_cancel = peewee.CharField(max_length=16, null=True)
    paused_at = InstantField(null=True)
    status_before_pause = peewee.CharField(max_length=16, null=True)
    # Subgate's plan levels: the higher-tier subscription this one waits for.
    paused_for = peewee.CharField(max_length=32, null=True, index=True)
    proration_credit = peewee.BigIntegerField(default=0)
    # Unused paid time an invoice could not take, applied to the next
    # invoices; and money owed back to the user once it ended.
    credit_balance = peewee.BigIntegerField(default=0)
    refund_due = peewee.BigIntegerField(default=0)
    # Why it ended: canceled, incomplete_expired, grace_period_lapsed,
    # plan_closed; NULL while it runs.
    end_reason = peewee.CharField(max_length=32, null=True)
    payment_method_id = peewee.CharField(max_length=200, default="")
    activation_url = peewee.CharField(max_length=2000, default="")
    activation_token = peewee.CharField(max_length=2000, default="")
    metadata = JSONField(default=dict)
    device_info = JSONField(default=dict)
    created_ip = peewee.CharField(max_length=64, default="")
    updated_ip = peewee.CharField(max_length=64, default="")
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        indexes = (
            (("platform", "session_id", "id"), False),
            (("platform", "status", "id"), False),
        )


class Invoice(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=32)
    number = peewee.CharField(max_length=32)
    # No index of its own: the two indexes that lead with it serve its lookups.
    subscription = peewee.ForeignKeyField(Subscription, column_name="subscription_id", index=False)
    platform = peewee.ForeignKeyField(Platform, column_name="platform_id")
    session_id = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=16)
    payment_status = peewee.CharField(max_length=24)
    currency = peewee.CharField(max_length=3)
    region = peewee.CharField(max_length=8)
    subtotal = peewee.BigIntegerField()
    proration_credit = peewee.BigIntegerField(default=0)
    # Taken from the subscription's credit balance.
    credit_applied = peewee.BigIntegerField(default=0)
    tax_amount = peewee.BigIntegerField()
    total_amount = peewee.BigIntegerField()
    # Collected, net of refunds; amount_refunded is shown apart.
    amount_paid = peewee.BigIntegerField(default=0)
    amount_refunded = peewee.BigIntegerField(default=0)
    # What this invoice handed back as credit or refund due (unused time of
    # a plan change or cancel_now, a paid-ahead cycle no longer served):
    # the service it paid for is amount_paid + credits taken - this.
    credit_issued = peewee.BigIntegerField(default=0)
    # What refunds paid out of that credit: money still held for its tax and fee.
    credit_paid_out = peewee.BigIntegerField(default=0)
    # The wholesale prices and cycle length its shares are computed from,
    # read when it is issued (billing.allocation.Terms); NULL for a zero invoice.
    allocation_terms = JSONField(null=True)
    # The dunning deadline, fixed when issued; NULL for an invoice issued paid.
    grace_period_end = InstantField(null=True)
    tax_rate = peewee.DoubleField()
    tax_type = peewee.CharField(max_length=16)
    tax_jurisdiction = peewee.CharField(max_length=200)
    tax_behavior = peewee.CharField(max_length=16)
    tax_note = peewee.CharField(max_length=2000)
    payment_method_id = peewee.CharField(max_length=200, default="")
    payment_intent_id = peewee.CharField(max_length=200, default="")
    payment_date = InstantField(null=True)
    retries_count = peewee.IntegerField(default=0)
    retries_max = peewee.IntegerField()
    retries_delay_minutes = peewee.IntegerField()
    retries_next_date = InstantField(null=True)
    retries_last_date = InstantField(null=True)
    plan_id = peewee.CharField(max_length=32)
    plan_name = peewee.CharField(max_length=200)
    plan_type = peewee.CharField(max_length=16)
    phase_id = peewee.CharField(max_length=32, default="")
    phase_order = peewee.IntegerField(default=0)
    billing_cycle = peewee.IntegerField()
    platform_fee_rate = peewee.DoubleField()
    platform_fee_amount = peewee.BigIntegerField()
    period_start = InstantField()
    period_end = InstantField()
    invoice_date = InstantField()
    due_date = InstantField()
    metadata = JSONField(default=dict)
    created_ip = peewee.CharField(max_length=64, default="")
    updated_ip = peewee.CharField(max_length=64, default="")
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        indexes = (
            # One invoice per subscription and billing cycle: the scheduler
            # and manual renewals can never bill a cycle twice.
            (("subscription", "billing_cycle"), True),
            (("subscription", "id"), False),
        )


class Payment(BaseModel):
    """One payment attempt or refund. Never changed after it is written."""

    id = peewee.CharField(primary_key=True, max_length=32)
    invoice = peewee.ForeignKeyField(Invoice, column_name="invoice_id")
    subscription = peewee.ForeignKeyField(Subscription, column_name="subscription_id")
    platform = peewee.ForeignKeyField(Platform, column_name="platform_id")
    amount = peewee.BigIntegerField()
    currency = peewee.CharField(max_length=3)
    status = peewee.CharField(max_length=24)
    payment_method_id = peewee.CharField(max_length=200, default="")
    payment_intent_id = peewee.CharField(max_length=200, default="")
    refund_reason = peewee.CharField(max_length=2000, default="")
    original_payment_id = peewee.CharField(max_length=32, default="")
    error_code = peewee.CharField(max_length=200, default="")
    error_message = peewee.CharField(max_length=2000, default="")
    processor_response = JSONField(default=dict)
    metadata = JSONField(default=dict)
    created_ip = peewee.CharField(max_length=64, default="")
    created_at = InstantField()

    class Meta:
        indexes = ((("invoice", "id"), False),)


class Event(BaseModel):
    """The outbox: one row per change, written in the change's transaction.

    ``sequence`` is the position in commit order (see ``usecases.events``).
    """

    sequence = peewee.BigAutoField(primary_key=True)
    event_id = peewee.CharField(max_length=32, unique=True)
    type = peewee.CharField(max_length=64)
    occurred_at = InstantField(index=True)
    platform_id = peewee.CharField(max_length=32, null=True)
    subscription_id = peewee.CharField(max_length=32, null=True)
    session_id = peewee.CharField(max_length=200, null=True)
    plan_id = peewee.CharField(max_length=32, null=True)
    invoice_id = peewee.CharField(max_length=32, null=True)
    payment_id = peewee.CharField(max_length=32, null=True)
    activation_session_id = peewee.CharField(max_length=32, null=True)
    app_ids = JSONField(default=list)
    data = JSONField(default=dict)

    class Meta:
        indexes = (
            (("platform_id", "sequence"), False),
            (("subscription_id", "sequence"), False),
            (("session_id", "sequence"), False),
            (("plan_id", "sequence"), False),
        )


class ActivationSession(BaseModel):
    """The codes opened when a subscription's first invoice is paid: one
    item per app of the plan."""

    id = peewee.CharField(primary_key=True, max_length=32)
    subscription = peewee.ForeignKeyField(Subscription, column_name="subscription_id", index=True)
    # One session per paid first invoice, even when payments race.
    invoice = peewee.ForeignKeyField(Invoice, column_name="invoice_id", unique=True)
    platform = peewee.ForeignKeyField(Platform, column_name="platform_id")
    session_id = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=16, default="pending")
    expires_at = InstantField()
    metadata = JSONField(default=dict)
    created_at = InstantField()
    updated_at = InstantField()


class ActivationItem(BaseModel):
    """One app's activation. Its code is stored only as a SHA-256 hash."""

    id = peewee.AutoField()
    session = peewee.ForeignKeyField(
        ActivationSession, backref="items", column_name="activation_session_id"
    )
    app = peewee.ForeignKeyField(App, column_name="app_id")
    app_name = peewee.CharField(max_length=200)
    product = peewee.ForeignKeyField(Product, column_name="product_id")
    product_name = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=16, default="pending")
    code_hash = peewee.CharField(max_length=64, unique=True)
    jti = peewee.CharField(max_length=32)
    user_id = peewee.CharField(max_length=200, default="")
    error_reason = peewee.CharField(max_length=2000, default="")
    activated_at = InstantField(null=True)
    exchanged_at = InstantField(null=True)
    expires_at = InstantField(index=True)
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        indexes = ((("session", "app"), True),)


class EventLogState(BaseModel):
    """How far the event log was pruned (one row): a resume from below this
    sequence would silently miss events, so it is refused instead."""

    id = peewee.IntegerField(primary_key=True)
    pruned_through = peewee.BigIntegerField(default=0)


class SubscriptionFeature(BaseModel):
    """A feature a subscription holds, with its quota and usage.

    Copied from the plan's products when the subscription starts; a
    platform may override one, add one, remove one, or sync them again.
    """

    id = peewee.AutoField()
    subscription = peewee.ForeignKeyField(Subscription, column_name="subscription_id")
    code = peewee.CharField(max_length=64)
    name = peewee.CharField(max_length=200, default="")
    kind = peewee.CharField(max_length=8)
    limit = peewee.BigIntegerField(default=0)
    reset_interval = peewee.CharField(max_length=16, default="never")
    # plan, override (a plan feature changed here) or custom (added here).
    source = peewee.CharField(max_length=16)
    product_ids = JSONField(default=list)
    plan_limit = peewee.BigIntegerField(default=0)
    used = peewee.BigIntegerField(default=0)
    window_start = InstantField()
    resets_at = InstantField(null=True, index=True)
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        indexes = ((("subscription", "code"), True),)


class WebhookEndpoint(BaseModel):
    """Where, and which, events are POSTed (services/webhook.py)."""

    id = peewee.CharField(primary_key=True, max_length=32)
    # Whose view of the log it receives: admin (tenant_id NULL), platform or
    # publisher, as for an API key of that role and tenant.
    role = peewee.CharField(max_length=16)
    tenant_id = peewee.CharField(max_length=32, null=True, index=True)
    url = peewee.CharField(max_length=2000)
    event_types = JSONField(default=list)
    description = peewee.CharField(max_length=200, default="")
    disabled = peewee.BooleanField(default=False)
    # by_owner, or failing (3 days without a delivery).
    disabled_reason = peewee.CharField(max_length=16, null=True)
    # Signing secrets, encrypted at rest (infra.secret_box); the previous
    # one signs beside the current until previous_secret_expires_at.
    secret_sealed = peewee.TextField()
    secret_created_at = InstantField()
    previous_secret_sealed = peewee.TextField(null=True)
    previous_secret_expires_at = InstantField(null=True)
    # The sequence up to which events were turned into deliveries.
    cursor = peewee.BigIntegerField(default=0)
    created_at = InstantField()
    updated_at = InstantField()


class WebhookDelivery(BaseModel):
    """One event's journey to one endpoint: pending until a 2xx answer."""

    id = peewee.CharField(primary_key=True, max_length=32)
    endpoint = peewee.ForeignKeyField(
        WebhookEndpoint, column_name="endpoint_id", on_delete="CASCADE"
    )
    # NULL for a test message, which no event stands behind.
    sequence = peewee.BigIntegerField(null=True)
    event_id = peewee.CharField(max_length=32)
    event_type = peewee.CharField(max_length=64)
    # pending, delivered, failed, skipped.
    state = peewee.CharField(max_length=16, default="pending")
    attempts = peewee.IntegerField(default=0)
    last_status_code = peewee.IntegerField(default=0)
    last_error = peewee.CharField(max_length=500, default="")
    next_attempt_at = InstantField(null=True, index=True)
    first_attempt_at = InstantField(null=True)
    delivered_at = InstantField(null=True)
    # A replica sending it holds it until then; another may take it after.
    leased_until = InstantField(null=True)
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        indexes = (
            (("endpoint", "sequence"), True),
            (("state", "next_attempt_at"), False),
            (("event_id",), False),
        )


class Allocation(BaseModel):
    """One movement of money on an invoice and the change it made to the
    invoice's split (billing.allocation). Never changed after it is written."""

    id = peewee.CharField(primary_key=True, max_length=32)
    # Neither foreign key has an index of its own: an index that leads
    # with it serves its lookups.
    invoice = peewee.ForeignKeyField(Invoice, column_name="invoice_id", index=False)
    subscription_id = peewee.CharField(max_length=32)
    platform = peewee.ForeignKeyField(Platform, column_name="platform_id", index=False)
    plan_id = peewee.CharField(max_length=32)
    payment_id = peewee.CharField(max_length=32, default="")
    currency = peewee.CharField(max_length=3)
    posted_at = InstantField()
    paid = peewee.BigIntegerField(default=0)
    refunded = peewee.BigIntegerField(default=0)
    credit_applied = peewee.BigIntegerField(default=0)
    credit_issued = peewee.BigIntegerField(default=0)
    tax = peewee.BigIntegerField(default=0)
    platform_fee = peewee.BigIntegerField(default=0)
    platform_share = peewee.BigIntegerField(default=0)
    cycles = peewee.IntegerField(default=0)

    class Meta:
        indexes = (
            (("platform", "posted_at", "id"), False),
            (("invoice", "id"), False),
        )


class AllocationShare(BaseModel):
    """One product's part of an allocation: what its app is owed, changed."""

    allocation = peewee.ForeignKeyField(Allocation, column_name="allocation_id")
    app_id = peewee.CharField(max_length=32)
    product_id = peewee.CharField(max_length=32)
    # The allocation's, so an app's statement is one indexed range.
    platform_id = peewee.CharField(max_length=32)
    plan_id = peewee.CharField(max_length=32)
    currency = peewee.CharField(max_length=3)
    posted_at = InstantField()
    amount = peewee.BigIntegerField(default=0)
    cycles = peewee.IntegerField(default=0)

    class Meta:
        indexes = (
            (("app_id", "posted_at"), False),
            (("allocation",), False),
        )


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
    Subscription,
    Invoice,
    Payment,
    Event,
    ActivationSession,
    ActivationItem,
    EventLogState,
    SubscriptionFeature,
    WebhookEndpoint,
    WebhookDelivery,
    Allocation,
    AllocationShare,
]
