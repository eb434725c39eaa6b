"""Posting allocations: what a step's movements of money owe each party.

``accounts.write`` calls ``post_step`` in the transaction that writes a
step, with what each invoice held before it; an allocation is written for
every invoice whose money moved. The split itself is
``bento_server.billing.allocation``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bento_server.billing import allocation
from bento_server.billing.account import InvoiceState, SubscriptionState
from bento_server.store import ledger
from bento_server.store.database import Store
from bento_server.store.models import PlanProduct, Product


def terms_for(
    sub: SubscriptionState, currency: str, invoice: InvoiceState
) -> dict[str, Any] | None:
    """The wholesale terms of an invoice being issued, as stored: its plan's
    products' wholesale prices now, and its cycle's length in months. None
    for a cycle priced 0, which owes no one."""
    if invoice.subtotal <= 0:
        return None
    products = (
        Product.select(Product.id, Product.app, Product.price_wholesale)
        .join(PlanProduct, on=PlanProduct.product == Product.id)
        .where(PlanProduct.plan == invoice.plan_id)
        .order_by(PlanProduct.position)
    )
    wholesale = tuple(
        allocation.Wholesale(
            product.app_id,
            product.id,
            allocation.monthly_wholesale(product.price_wholesale, currency),
        )
        for product in products
    )
    months = allocation.cycle_months(sub.billing_unit, sub.billing_value)
    return allocation.Terms(months, wholesale).to_stored()


def post(
    store: Store,
    subscription_id: str,
    platform_id: str,
    invoice_id: str,
    plan_id: str,
    currency: str,
    terms: allocation.Terms,
    before: allocation.Holding,
    after: allocation.Holding,
    at: datetime,
    payment_id: str = "",
) -> None:
    """Writes the allocation of one invoice's movement, if anything moved."""
    posting = allocation.post(before, after, terms)
    if posting is not None:
        ledger.write_allocation(
            store,
            posting,
            invoice_id=invoice_id,
            subscription_id=subscription_id,
            platform_id=platform_id,
            plan_id=plan_id,
            currency=currency,
            posted_at=at,
            payment_id=payment_id,
        )


def moved_at(invoice: InvoiceState, events: Iterable[Any], default: datetime) -> datetime:
    """When a step moved an invoice's money: the time of the step's first
    event about it, else of its last event."""
    last = None
    for emitted in events:
        if emitted.invoice is invoice:
            return emitted.at  # type: ignore[no-any-return]
        last = emitted.at
    return last or default
