"""Events as the API answers them.

An event's ``payload`` is what it is about, in the message the RPCs answer
with, made from the snapshot the event recorded (``data``) as the caller
may see it: the view rule (``event_views``) has already left out what a
publisher may not see, so the typed payload cannot show more than ``data``.
Only the fields a snapshot records are set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from bento.v1 import (
    activation_pb2,
    entitlement_pb2,
    event_pb2,
    invoice_pb2,
    payment_pb2,
    subscription_pb2,
    webhook_pb2,
)
from bento_server.services.convert import struct, timestamp
from bento_server.services.messages.enums import (
    ACTIVATION_STATUSES,
    END_REASONS,
    INVOICE_STATUSES,
    ITEM_STATUSES,
    PAYMENT_RECORD_STATUSES,
    PAYMENT_STATUSES,
    SESSION_STATUSES,
    SUBSCRIPTION_STATUSES,
)
from bento_server.usecases.event_views import EventView


def event_pb(view: EventView) -> event_pb2.Event:
    event = event_pb2.Event(
        sequence=view.sequence,
        event_id=view.event_id,
        type=view.type,
        occurred_at=timestamp(view.occurred_at),
        subscription_id=view.subscription_id,
        session_id=view.session_id,
        plan_id=view.plan_id,
        platform_id=view.platform_id,
        invoice_id=view.invoice_id,
        payment_id=view.payment_id,
        activation_session_id=view.activation_session_id,
        app_ids=view.app_ids,
        data=struct(view.data),
    )
    payload = _payload(view)
    if payload is not None:
        field, message = payload
        getattr(event, field).CopyFrom(message)
    return event


def _payload(view: EventView) -> tuple[str, Message] | None:
    """The payload's field and message, or None for an event whose snapshot
    the caller may not see (a publisher's copy of another app's item)."""
    data = view.data
    kind = view.type.partition(".")[0]
    if kind == "activation" and isinstance(data.get("activation_item"), dict):
        return "activation_item", _activation_item(data["activation_item"])
    if kind == "activation" and isinstance(data.get("activation_session"), dict):
        return "activation_session", _activation_session(view, data["activation_session"])
    if kind == "usage" and "feature_code" in data:
        return "usage", _usage(data)
    snapshot_of = _SNAPSHOTS.get(kind)
    if snapshot_of is None or not isinstance(data.get(snapshot_of[0]), dict):
        return None
    key, build = snapshot_of
    return key, build(data[key])


def _instant(value: Any) -> timestamp_pb2.Timestamp | None:
    """A snapshot's instant: RFC 3339 text (older usage events wrote
    Python's own text, which ``fromisoformat`` reads too)."""
    if not isinstance(value, str) or not value or value == "None":
        return None
    return timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _text(snapshot: dict[str, Any], key: str) -> str:
    return snapshot.get(key) or ""


def _number(snapshot: dict[str, Any], key: str) -> int:
    return int(snapshot.get(key) or 0)


def _subscription(s: dict[str, Any]) -> subscription_pb2.Subscription:
    message = subscription_pb2.Subscription(
        subscription_id=_text(s, "subscription_id"),
        session_id=_text(s, "session_id"),
        plan_id=_text(s, "plan_id"),
        platform_id=_text(s, "platform_id"),
        status=SUBSCRIPTION_STATUSES.number(s.get("status")),
        activation_status=ACTIVATION_STATUSES.number(s.get("activation_status")),
        payment_status=PAYMENT_STATUSES.number(s.get("payment_status")),
        paused_at=_instant(s.get("paused_at")),
    )
    if s.get("activation_session_id"):
        message.activation.activation_session_id = s["activation_session_id"]
    if "cycle_count" in s:
        message.billing.cycle_count = _number(s, "cycle_count")
    trial_end = _instant(s.get("trial_end"))
    if trial_end is not None:
        message.trial.end_date.CopyFrom(trial_end)
    if "period_start" in s or "period_end" in s:
        message.period.CopyFrom(
            subscription_pb2.Period(
                start=_instant(s.get("period_start")), end=_instant(s.get("period_end"))
            )
        )
    if any(k in s for k in ("cancel_at_period_end", "canceled_at", "ended_at", "end_reason")):
        message.cancellation.CopyFrom(
            subscription_pb2.Cancellation(
                cancel_at_period_end=bool(s.get("cancel_at_period_end")),
                canceled_at=_instant(s.get("canceled_at")),
                ended_at=_instant(s.get("ended_at")),
                reason=END_REASONS.number(s.get("end_reason")),
            )
        )
    return message


def _invoice(i: dict[str, Any]) -> invoice_pb2.Invoice:
    return invoice_pb2.Invoice(
        invoice_id=_text(i, "invoice_id"),
        invoice_number=_text(i, "invoice_number"),
        subscription_id=_text(i, "subscription_id"),
        status=INVOICE_STATUSES.number(i.get("status")),
        payment_status=PAYMENT_STATUSES.number(i.get("payment_status")),
        currency=_text(i, "currency"),
        amounts=invoice_pb2.InvoiceAmounts(
            subtotal=_number(i, "subtotal"),
            proration_credit=_number(i, "proration_credit"),
            tax_amount=_number(i, "tax_amount"),
            total_amount=_number(i, "total_amount"),
            amount_paid=_number(i, "amount_paid"),
        ),
        plan=invoice_pb2.InvoicePlan(
            billing_cycle=_number(i, "billing_cycle"),
            platform_fee_amount=_number(i, "platform_fee_amount"),
        ),
        period=invoice_pb2.InvoicePeriod(
            start=_instant(i.get("period_start")), end=_instant(i.get("period_end"))
        ),
    )


def _payment(p: dict[str, Any]) -> payment_pb2.Payment:
    return payment_pb2.Payment(
        payment_id=_text(p, "payment_id"),
        invoice_id=_text(p, "invoice_id"),
        subscription_id=_text(p, "subscription_id"),
        amount=_number(p, "amount"),
        currency=_text(p, "currency"),
        status=PAYMENT_RECORD_STATUSES.number(p.get("status")),
        error_code=_text(p, "error_code"),
        refund_reason=_text(p, "refund_reason"),
        original_payment_id=_text(p, "original_payment_id"),
    )


def _activation_item(i: dict[str, Any]) -> activation_pb2.ActivationItem:
    return activation_pb2.ActivationItem(
        app_id=_text(i, "app_id"),
        product_id=_text(i, "product_id"),
        status=ITEM_STATUSES.number(i.get("status")),
        jti=_text(i, "jti"),
        user_id=_text(i, "user_id"),
        error_reason=_text(i, "error_reason"),
    )


def _activation_session(view: EventView, s: dict[str, Any]) -> activation_pb2.ActivationSession:
    return activation_pb2.ActivationSession(
        activation_session_id=_text(s, "activation_session_id"),
        subscription_id=view.subscription_id,
        status=SESSION_STATUSES.number(s.get("status")),
        activation_items=[_activation_item(i) for i in s.get("items", ()) if isinstance(i, dict)],
    )


def _usage(data: dict[str, Any]) -> entitlement_pb2.FeatureUsage:
    """The quota just after its reset: nothing used."""
    limit = _number(data, "limit")
    return entitlement_pb2.FeatureUsage(
        feature_code=_text(data, "feature_code"),
        limit=limit,
        used=0,
        remaining=limit,
        resets_at=_instant(data.get("resets_at")),
    )


def _endpoint(e: dict[str, Any]) -> webhook_pb2.WebhookEndpoint:
    return webhook_pb2.WebhookEndpoint(
        endpoint_id=_text(e, "endpoint_id"),
        tenant_id=_text(e, "tenant_id"),
        url=_text(e, "url"),
        event_types=[t for t in e.get("event_types", ()) if isinstance(t, str)],
        disabled=bool(e.get("disabled")),
        disabled_reason=_text(e, "disabled_reason"),
    )


# By the first word of an event's type: the snapshot its payload is made of.
_SNAPSHOTS: dict[str, tuple[str, Callable[[dict[str, Any]], Message]]] = {
    "subscription": ("subscription", _subscription),
    "invoice": ("invoice", _invoice),
    "payment": ("payment", _payment),
    "webhook_endpoint": ("webhook_endpoint", _endpoint),
}
