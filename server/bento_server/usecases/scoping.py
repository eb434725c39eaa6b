"""Loading billing objects the caller may touch, locked when they will change.

Platform keys see their own platform's subscriptions, invoices and payments;
admin keys see all. Anything else answers NOT_FOUND, never revealing that
the object exists.
"""

from __future__ import annotations

from typing import cast

import peewee

from bento_server.errors import not_found
from bento_server.store import statements
from bento_server.store.database import Store
from bento_server.store.models import Invoice, Payment, Plan, Platform, Subscription
from bento_server.usecases.context import PLATFORM, Principal


def _scoped(query: peewee.ModelSelect, model: type, principal: Principal) -> peewee.ModelSelect:
    if principal.role == PLATFORM:
        query = query.where(model.platform == principal.tenant_id)  # type: ignore[attr-defined]
    return query


def _locked(store: Store, query: peewee.ModelSelect) -> peewee.ModelSelect:
    # Row locks on PostgreSQL; SQLite's write transaction already holds the
    # whole database.
    return query.for_update() if store.is_postgres else query


def subscriptions(principal: Principal) -> peewee.ModelSelect:
    return _scoped(Subscription.select(), Subscription, principal)


def _subscription_read(
    principal: Principal, subscription_id: str, lock: bool
) -> tuple[statements.NamedSelect[Subscription], dict[str, str]]:
    """The read of a subscription the caller may see, and its arguments."""
    if principal.role == PLATFORM:
        of_platform = (
            statements.SUBSCRIPTION_OF_PLATFORM_LOCKED
            if lock
            else statements.SUBSCRIPTION_OF_PLATFORM
        )
        arguments = {"subscription_id": subscription_id, "platform_id": principal.tenant_id or ""}
        return of_platform, arguments
    any_ = statements.SUBSCRIPTION_LOCKED if lock else statements.SUBSCRIPTION
    return any_, {"subscription_id": subscription_id}


def subscription(
    store: Store, principal: Principal, subscription_id: str, *, lock: bool = False
) -> Subscription:
    named, arguments = _subscription_read(principal, subscription_id, lock)
    row = named.first(store, **arguments)
    if row is None:
        raise not_found("subscription", subscription_id)
    return row


async def subscription_on_loop(
    reads: statements.LoopReads, principal: Principal, subscription_id: str
) -> Subscription:
    """``subscription`` read on the event loop (``statements.LoopReads``):
    read by ID in a batch with others', then held to the caller's scope."""
    row = await reads.by_id(statements.SUBSCRIPTIONS_AMONG, subscription_id)
    if row is None or not _in_scope(principal, row.platform_id):
        raise not_found("subscription", subscription_id)
    return row


def _in_scope(principal: Principal, platform_id: str) -> bool:
    """Whether the caller may see an object of ``platform_id`` (``_scoped``'s rule)."""
    return principal.role != PLATFORM or platform_id == principal.tenant_id


def lock_rows(store: Store, query: peewee.ModelSelect) -> peewee.ModelSelect:
    """``query``, locking the rows it finds until this transaction ends.

    On PostgreSQL a row another transaction changed meanwhile is read as it
    committed, and left out if it no longer matches: what is read here and
    written back cannot undo that change.
    """
    return _locked(store, query)


def locked(store: Store, subscription_id: str) -> Subscription:
    """A subscription, locked for this transaction, for work done for no
    caller in particular (exchanging a code, the billing clock).

    Whatever appends an event about a subscription reads it under this lock
    (or after updating its row): a change that commits meanwhile then shows
    in the event, which the event lock orders after that change's own.
    """
    row = statements.SUBSCRIPTION_LOCKED.first(store, subscription_id=subscription_id)
    if row is None:
        raise Subscription.DoesNotExist(subscription_id)
    return row


def _invoice_read(
    principal: Principal, subscription_id: str, invoice_id: str, lock: bool
) -> tuple[statements.NamedSelect[Invoice], dict[str, str]]:
    """The read of an invoice the caller may see, and its arguments: of
    ``subscription_id``, or of any subscription when it is empty (a read
    only: a change names the subscription it locks)."""
    if not subscription_id:
        assert not lock, "a change of an invoice names its subscription"
        if principal.role == PLATFORM:
            platform_id = principal.tenant_id or ""
            return statements.INVOICE_BY_ID_OF_PLATFORM, {
                "invoice_id": invoice_id,
                "platform_id": platform_id,
            }
        return statements.INVOICE_BY_ID, {"invoice_id": invoice_id}
    arguments = {"invoice_id": invoice_id, "subscription_id": subscription_id}
    if principal.role == PLATFORM:
        of_platform = (
            statements.INVOICE_OF_PLATFORM_LOCKED if lock else statements.INVOICE_OF_PLATFORM
        )
        return of_platform, {**arguments, "platform_id": principal.tenant_id or ""}
    return (statements.INVOICE_LOCKED if lock else statements.INVOICE), arguments


def invoice(
    store: Store, principal: Principal, subscription_id: str, invoice_id: str, *, lock: bool = False
) -> Invoice:
    named, arguments = _invoice_read(principal, subscription_id, invoice_id, lock)
    row = named.first(store, **arguments)
    if row is None:
        raise not_found("invoice", invoice_id)
    return row


async def invoice_on_loop(
    reads: statements.LoopReads, principal: Principal, subscription_id: str, invoice_id: str
) -> Invoice:
    """``invoice`` read on the event loop (``statements.LoopReads``): read
    by ID in a batch with others', then held to its subscription (when
    one is named) and the caller's scope."""
    row = await reads.by_id(statements.INVOICES_AMONG, invoice_id)
    if (
        row is None
        or (subscription_id and row.subscription_id != subscription_id)
        or not _in_scope(principal, row.platform_id)
    ):
        raise not_found("invoice", invoice_id)
    return row


def payment(
    store: Store, principal: Principal, subscription_id: str, invoice_id: str, payment_id: str
) -> Payment:
    row = (
        _scoped(Payment.select(), Payment, principal)
        .where(
            (Payment.id == payment_id)
            & (Payment.invoice == invoice_id)
            & (Payment.subscription == subscription_id)
        )
        .first()
    )
    if row is None:
        raise not_found("payment", payment_id)
    return cast("Payment", row)


def plan(store: Store, principal: Principal, plan_id: str) -> Plan:
    if principal.role == PLATFORM:
        row = statements.PLAN_OF_PLATFORM.first(
            store, plan_id=plan_id, platform_id=principal.tenant_id or ""
        )
    else:
        row = statements.PLAN.first(store, plan_id=plan_id)
    if row is None:
        raise not_found("plan", plan_id)
    return row


def platform(store: Store, platform_id: str) -> Platform:
    """A platform the caller's subscription or plan is of (it exists: the
    row refers to it)."""
    row = statements.PLATFORM.first(store, id=platform_id)
    if row is None:
        raise Platform.DoesNotExist(platform_id)
    return row
