"""Writing the allocation ledger: one ``Allocation`` row per posting and one
``AllocationShare`` row per product it concerns. Rows are only ever added."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bento_server import ids
from bento_server.store import statements
from bento_server.store.database import Store
from bento_server.store.models import Allocation

if TYPE_CHECKING:
    from bento_server.billing.allocation import Posting


def write_allocation(
    store: Store,
    posting: Posting,
    *,
    invoice_id: str,
    subscription_id: str,
    platform_id: str,
    plan_id: str,
    currency: str,
    posted_at: datetime,
    payment_id: str = "",
) -> Allocation:
    moved, changed = posting.movement, posting.change
    row = statements.NEW_ALLOCATION.create(
        store,
        id=ids.new_id(ids.ALLOCATION),
        invoice=invoice_id,
        subscription_id=subscription_id,
        platform=platform_id,
        plan_id=plan_id,
        payment_id=payment_id,
        currency=currency,
        posted_at=posted_at,
        paid=moved.paid,
        refunded=moved.refunded,
        credit_applied=moved.credit_applied,
        credit_issued=moved.credit_issued,
        tax=changed.tax,
        platform_fee=changed.platform_fee,
        platform_share=changed.platform_share,
        cycles=changed.cycles,
    )
    # A product's row is written when its share or the cycle count moved.
    shares = [
        {
            "allocation": row.id,
            "app_id": app_id,
            "product_id": product_id,
            "platform_id": platform_id,
            "plan_id": plan_id,
            "currency": currency,
            "posted_at": posted_at,
            "amount": amount,
            "cycles": changed.cycles,
        }
        for (app_id, product_id), amount in changed.shares.items()
        if amount or changed.cycles
    ]
    statements.NEW_ALLOCATION_SHARES.create_many(store, shares)
    return row
