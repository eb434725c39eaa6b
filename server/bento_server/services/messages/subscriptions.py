"""Subscriptions and their features as the API answers them."""

from __future__ import annotations

from bento.v1 import common_pb2, subscription_pb2
from bento_server.billing.periods import interval_days
from bento_server.services.convert import struct, timestamp
from bento_server.services.messages.enums import (
    ACTIVATION_STATUSES,
    BILLING_UNITS,
    END_REASONS,
    FEATURE_KINDS,
    FEATURE_SOURCES,
    PAYMENT_STATUSES,
    PLAN_TYPES,
    RESET_INTERVALS,
    SUBSCRIPTION_STATUSES,
)
from bento_server.services.messages.invoices import tax_pb
from bento_server.store.models import Subscription, SubscriptionFeature


def feature_pb(row: SubscriptionFeature) -> subscription_pb2.SubscriptionFeature:
    return subscription_pb2.SubscriptionFeature(
        feature=common_pb2.Feature(
            code=row.code,
            name=row.name,
            kind=FEATURE_KINDS.number(row.kind),
            limit=row.limit,
            reset_interval=RESET_INTERVALS.number(row.reset_interval),
        ),
        source=FEATURE_SOURCES.number(row.source),
        product_ids=row.product_ids,
        plan_limit=row.plan_limit,
        used=row.used,
        resets_at=timestamp(row.resets_at),
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )


def subscription_pb(row: Subscription) -> subscription_pb2.Subscription:
    return subscription_pb2.Subscription(
        subscription_id=row.id,
        session_id=row.session_id,
        plan_id=row.plan_id,
        platform_id=row.platform_id,
        status=SUBSCRIPTION_STATUSES.number(row.status),
        activation_status=ACTIVATION_STATUSES.number(row.activation_status),
        payment_status=PAYMENT_STATUSES.number(row.payment_status),
        billing=subscription_pb2.SubscriptionBilling(
            next_billing_date=timestamp(row.next_billing_date),
            frequency=common_pb2.BillingFrequency(
                unit=BILLING_UNITS.number(row.billing_unit), value=row.billing_value
            ),
            cycle_count=row.cycle_count,
            current_phase_id=row.current_phase_id,
            grace_period_days=row.grace_period_days,
            grace_period_end=timestamp(row.grace_period_end),
            interval_days=interval_days(row.period_start, row.period_end),
        ),
        trial=subscription_pb2.SubscriptionTrial(
            days=row.trial_days, end_date=timestamp(row.trial_end)
        ),
        period=subscription_pb2.Period(
            start=timestamp(row.period_start), end=timestamp(row.period_end)
        ),
        tax=tax_pb(row),
        plan=subscription_pb2.SubscriptionPlan(
            name=row.plan_name, type=PLAN_TYPES.number(row.plan_type), tier=row.plan_tier
        ),
        cancellation=subscription_pb2.Cancellation(
            cancel_at_period_end=row.cancel_at_period_end,
            canceled_at=timestamp(row.canceled_at),
            ended_at=timestamp(row.ended_at),
            reason=END_REASONS.number(row.end_reason),
        ),
        activation=subscription_pb2.SubscriptionActivation(
            url=row.activation_url,
            token=row.activation_token,
            activation_session_id=row.activation_session_id or "",
        ),
        proration_credit=row.proration_credit,
        region=row.region,
        currency=row.currency,
        metadata=struct(row.metadata),
        device_info=struct(row.device_info),
        created_ip=row.created_ip,
        updated_ip=row.updated_ip,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
        paused_at=timestamp(row.paused_at),
        payment_method_id=row.payment_method_id,
        credit_balance=row.credit_balance,
        refund_due=row.refund_due,
    )
