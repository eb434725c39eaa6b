"""The event outbox: every change appends its event in the change's transaction.

Sequence order must be commit order, or a watcher reading "everything after
N" would skip an event whose transaction took a lower number but committed
later. PostgreSQL hands out serial numbers at insert time, so appends take
one transaction-scoped advisory lock: the next writer's number is taken only
after this transaction commits. SQLite needs nothing: its write lock already
serializes writers from BEGIN IMMEDIATE to COMMIT.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import peewee

from bento_server import ids
from bento_server.store.models import (
    Event,
    Invoice,
    Payment,
    PlanProduct,
    Product,
    Subscription,
)
from bento_server.usecases import paging
from bento_server.usecases.context import PLATFORM, PUBLISHER, Deps, Principal

# CONTRACT.md's event types.
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
# Beyond CONTRACT.md's list: changes no listed type names.
INVOICE_UPDATED = "invoice.updated"
PAYMENT_RECORDED = "payment.recorded"
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
PAYMENT_REFUNDED = "payment.refunded"

_LOCK = "bento.events"


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def subscription_snapshot(sub: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": sub.id,
        "session_id": sub.session_id,
        "plan_id": sub.plan_id,
        "platform_id": sub.platform_id,
        "status": sub.status,
        "payment_status": sub.payment_status,
        "activation_status": sub.activation_status,
        "current_cycle": sub.current_cycle,
        "cycle_count": sub.cycle_count,
        "period_start": _instant(sub.period_start),
        "period_end": _instant(sub.period_end),
        "cancel_at_period_end": sub.cancel_at_period_end,
        "canceled_at": _instant(sub.canceled_at),
        "ended_at": _instant(sub.ended_at),
        "paused_at": _instant(sub.paused_at),
    }


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "subscription_id": invoice.subscription_id,
        "status": invoice.status,
        "payment_status": invoice.payment_status,
        "billing_cycle": invoice.billing_cycle,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "proration_credit": invoice.proration_credit,
        "tax_amount": invoice.tax_amount,
        "total_amount": invoice.total_amount,
        "amount_paid": invoice.amount_paid,
        "platform_fee_amount": invoice.platform_fee_amount,
        "period_start": _instant(invoice.period_start),
        "period_end": _instant(invoice.period_end),
    }


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "invoice_id": payment.invoice_id,
        "subscription_id": payment.subscription_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "error_code": payment.error_code,
        "refund_reason": payment.refund_reason,
        "original_payment_id": payment.original_payment_id,
    }


def plan_app_ids(plan_id: str) -> list[str]:
    """The apps whose products a plan sells: whose publishers see its events."""
    query = (
        Product.select(Product.app)
        .join(PlanProduct)
        .where(PlanProduct.plan == plan_id)
        .order_by(PlanProduct.position)
    )
    return list(dict.fromkeys(row.app_id for row in query))


def append(
    deps: Deps,
    event_type: str,
    subscription: Subscription,
    now: datetime,
    *,
    invoice: Invoice | None = None,
    payment: Payment | None = None,
    app_ids: Iterable[str] = (),
    data: dict[str, Any] | None = None,
    activation_session_id: str | None = None,
) -> Event:
    """Appends one event about ``subscription`` (in the caller's transaction)."""
    deps.store.lock(_LOCK)
    snapshot: dict[str, Any] = {"subscription": subscription_snapshot(subscription)}
    if invoice is not None:
        snapshot["invoice"] = invoice_snapshot(invoice)
    if payment is not None:
        snapshot["payment"] = payment_snapshot(payment)
    snapshot.update(data or {})
    return Event.create(
        event_id=ids.new_id(ids.EVENT),
        type=event_type,
        occurred_at=now,
        platform_id=subscription.platform_id,
        subscription_id=subscription.id,
        session_id=subscription.session_id,
        plan_id=subscription.plan_id,
        invoice_id=invoice.id if invoice is not None else None,
        payment_id=payment.id if payment is not None else None,
        activation_session_id=activation_session_id,
        app_ids=list(app_ids),
        data=snapshot,
    )


# --- reading the log -------------------------------------------------------------


def visible_to(principal: Principal) -> peewee.ModelSelect:
    """The events a caller may see: its platform's, its app's, or all (admin)."""
    query = Event.select()
    if principal.role == PLATFORM:
        query = query.where(Event.platform_id == principal.tenant_id)
    elif principal.role == PUBLISHER:
        # app_ids is a JSON list of quoted IDs (letters and digits only, so
        # no LIKE wildcards). converter=False keeps the pattern from being
        # JSON-encoded as a value of the field.
        pattern = peewee.Value(f'%"{principal.tenant_id}"%', converter=False)
        query = query.where(peewee.Expression(Event.app_ids, peewee.OP.ILIKE, pattern))
    return query


def list_events(
    deps: Deps,
    principal: Principal,
    subscription_id: str,
    session_id: str,
    plan_id: str,
    types: Sequence[str],
    after_sequence: int,
    page_size: int,
    page_token: str,
) -> paging.Listed[Event]:
    """The operations log, oldest first, filtered and scoped to the caller."""
    scope = (
        f"ListEvents|{principal.tenant_id}|{subscription_id}|{session_id}|{plan_id}|"
        f"{','.join(sorted(types))}|{after_sequence}"
    )
    page = paging.page(page_size, page_token, scope)
    query = visible_to(principal).where(Event.sequence > after_sequence)
    if subscription_id:
        query = query.where(Event.subscription_id == subscription_id)
    if session_id:
        query = query.where(Event.session_id == session_id)
    if plan_id:
        query = query.where(Event.plan_id == plan_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    return paging.fetch(query, page, Event.sequence)
