"""Every status word of billing, one home each.

The values are the lower-case words the store keeps and the proto enums
name (``SubscriptionStatus.PAST_DUE`` is ``SUBSCRIPTION_STATUS_PAST_DUE``).
A ``StrEnum`` compares equal to its word, so rows read from the store need
no conversion.
"""

from __future__ import annotations

from enum import StrEnum


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    PAUSED = "paused"


# Statuses of a subscription the user still holds (ALREADY_EXISTS guards
# against a second one to the same plan); canceled ones hold until ended_at.
HELD = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.UNPAID,
    SubscriptionStatus.PAUSED,
)


class PaymentStatus(StrEnum):
    """The collection state of an invoice, and of a subscription's debt."""

    UNPAID = "unpaid"
    PAID = "paid"
    FAILED = "failed"
    PROCESSING = "processing"
    CANCELED = "canceled"
    SCHEDULED = "scheduled"
    NO_PAYMENT_REQUIRED = "no_payment_required"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class PaymentRecordStatus(StrEnum):
    """The outcome a payment record states."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PROCESSING = "processing"
    CANCELED = "canceled"
    REQUIRES_ACTION = "requires_action"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUND_FAILED = "refund_failed"
    REFUND_PENDING = "refund_pending"


_R = PaymentRecordStatus

# In the order error messages list them.
CHARGE_OUTCOMES = (_R.SUCCEEDED, _R.FAILED, _R.PROCESSING, _R.CANCELED, _R.REQUIRES_ACTION)
"""What a positive amount may say happened."""
REFUND_OUTCOMES = (
    _R.SUCCEEDED,
    _R.REFUNDED,
    _R.PARTIALLY_REFUNDED,
    _R.REFUND_FAILED,
    _R.REFUND_PENDING,
)
"""What a negative amount (a refund) may say happened."""
MONEY_RETURNED = (_R.SUCCEEDED, _R.REFUNDED, _R.PARTIALLY_REFUNDED)
"""Refund outcomes that gave money back: they lower the invoice's amount paid."""


class EndReason(StrEnum):
    """Why a subscription ended (the ``EndReason`` enum of enums.proto)."""

    CANCELED = "canceled"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    GRACE_PERIOD_LAPSED = "grace_period_lapsed"
    PLAN_CLOSED = "plan_closed"


class TaxBehavior(StrEnum):
    NONE = "none"
    INCLUSIVE = "inclusive"
    EXCLUSIVE = "exclusive"


class EventType(StrEnum):
    """The event types (``Event.type``, documented in event.proto)."""

    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_ACTIVATED = "subscription.activated"
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_PAST_DUE = "subscription.past_due"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    SUBSCRIPTION_PAUSED = "subscription.paused"
    SUBSCRIPTION_RESUMED = "subscription.resumed"
    SUBSCRIPTION_PLAN_CHANGED = "subscription.plan_changed"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    INVOICE_CREATED = "invoice.created"
    INVOICE_PAID = "invoice.paid"
    INVOICE_UPDATED = "invoice.updated"
    PAYMENT_RECORDED = "payment.recorded"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    ACTIVATION_SESSION_CREATED = "activation.session.created"
    ACTIVATION_ITEM_UPDATED = "activation.item.updated"
    ACTIVATION_CODES_REGENERATED = "activation.codes.regenerated"
    USAGE_RESET = "usage.reset"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DEPRECATED = "deprecated"


class ActivationStatus(StrEnum):
    """A session's status, and the subscription's ``activation_status``."""

    PENDING = "pending"
    PARTIAL = "partial"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


class ActivationItemStatus(StrEnum):
    PENDING = "pending"
    ACTIVATED = "activated"
    FAILED = "failed"
    EXPIRED = "expired"
