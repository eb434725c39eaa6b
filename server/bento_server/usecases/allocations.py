"""Posting allocations: what a step's movements of money owe each party.

``accounts.write`` calls ``post_step`` in the transaction that writes a
step, with each invoice it wrote and what that invoice held before; an
allocation is written for every invoice whose money moved. The split itself is
``bento_server.billing.allocation``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bento_server.billing import allocation
from bento_server.billing.account import Emitted, InvoiceState, Step, SubscriptionState
from bento_server.store import ledger, statements
from bento_server.store.database import Store
from bento_server.store.models import Invoice, Payment
from bento_server.usecases.context import Deps


def terms_for(
    store: Store, sub: SubscriptionState, currency: str, invoice: InvoiceState
) -> dict[str, Any] | None:
    """The wholesale terms of an invoice being issued, as stored: its plan's
    products' wholesale prices now, and its cycle's length in months. None
    for a cycle priced 0, which owes no one."""
    if invoice.subtotal <= 0:
        return None
    # The same for every invoice of a plan in a currency: worked out once per
    # write (a billing batch issues one per renewal). Nothing changes the
    # document in place; the invoices that share it only store it.
    key = ("allocation_terms", invoice.plan_id, currency, sub.billing_unit, sub.billing_value)
    return store.memo(key, lambda: _terms(store, sub, currency, invoice.plan_id))


def _terms(store: Store, sub: SubscriptionState, currency: str, plan_id: str) -> dict[str, Any]:
    wholesale = tuple(
        allocation.Wholesale(
            product.app_id,
            product.product_id,
            allocation.monthly_wholesale(product.price_wholesale, currency),
        )
        for product in statements.plan_products(store, plan_id)
    )
    months = allocation.cycle_months(sub.billing_unit, sub.billing_value)
    return allocation.Terms(months, wholesale).to_stored()


def post_step(
    deps: Deps,
    step: Step,
    written: Mapping[int, tuple[Invoice, allocation.Holding]],
    payment: Payment | None,
) -> None:
    """An allocation for each invoice whose money ``step`` moved.
    ``written`` holds the invoices whose rows the step wrote, by ``id()`` of
    the step's invoice: each one's stored row and what it held before the
    step (a new invoice held nothing). An invoice the step did not change
    moved nothing."""
    for invoice in step.account.invoices:
        if id(invoice) not in written:
            continue
        stored, before = written[id(invoice)]
        after = allocation.Holding.of(invoice)
        if after == before or allocation.moves_nothing(before, after):
            continue  # a new unpaid invoice, or a change of no money
        posting = allocation.post(
            before, after, allocation.Terms.from_stored(stored.allocation_terms)
        )
        if posting is None:
            continue
        ledger.write_allocation(
            deps.store,
            posting,
            invoice_id=stored.id,
            subscription_id=stored.subscription_id,
            platform_id=stored.platform_id,
            plan_id=invoice.plan_id,
            currency=stored.currency,
            posted_at=_moved_at(invoice, step.events) or deps.clock.now(),
            payment_id=payment.id
            if payment is not None and payment.invoice_id == stored.id
            else "",
        )


def _moved_at(invoice: InvoiceState, events: Sequence[Emitted]) -> datetime | None:
    """When a step moved an invoice's money: the time of the step's first
    event about it, else of its last event (None for a step without one)."""
    for emitted in events:
        if emitted.invoice is invoice:
            return emitted.at
    return events[-1].at if events else None
