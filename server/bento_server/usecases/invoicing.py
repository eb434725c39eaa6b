"""Issuing invoices: pricing a billing cycle of a subscription."""

from __future__ import annotations

from datetime import datetime, timedelta

from bento_server import ids
from bento_server.billing.money import invoice_amounts
from bento_server.billing.periods import period_bounds
from bento_server.billing.phases import Phase, phase_for_cycle
from bento_server.errors import FailedPrecondition
from bento_server.store.models import Invoice, Platform, Subscription
from bento_server.usecases import events
from bento_server.usecases.context import Deps

RETRIES_MAX = 3
RETRY_DELAY_MINUTES = 60
# The seed's invoices are due 30 days after they are issued; never after
# their period ends.
DUE_AFTER = timedelta(days=30)


def invoice_number(invoice_id: str, issued: datetime) -> str:
    """The seed's human-readable number: INV-<year>-<last 8 digits of the ID>."""
    return f"INV-{issued.year}-{invoice_id[-8:]}"


def cycle_period(sub: Subscription, cycle: int) -> tuple[datetime, datetime]:
    """The period of billing cycle ``cycle`` (cycles count from the anchor)."""
    index = cycle - sub.phase_cycle_offset - 1
    return period_bounds(sub.billing_anchor, sub.billing_unit, sub.billing_value, index)


def phase_of(sub: Subscription, cycle: int) -> Phase | None:
    """The price phase of ``cycle``; None when the plan closes before it."""
    phases = [Phase.from_stored(p) for p in sub.phases]
    return phase_for_cycle(phases, cycle - sub.phase_cycle_offset, sub.end_behavior)


def issue(
    deps: Deps,
    sub: Subscription,
    cycle: int,
    now: datetime,
    *,
    period: tuple[datetime, datetime] | None = None,
    proration_credit: int = 0,
    ip: str = "",
    status: str = "open",
) -> Invoice:
    """Issues the invoice of billing cycle ``cycle`` (0 = the trial's zero invoice).

    Writes the invoice and its ``invoice.created`` event in the caller's
    transaction. The unique (subscription, billing_cycle) index refuses a
    second invoice for one cycle.
    """
    start, end = period or cycle_period(sub, cycle)
    fee_rate = Platform.select(Platform.fee_rate).where(Platform.id == sub.platform_id).scalar()
    if cycle == 0:
        phase = None
        subtotal = 0
    else:
        phase = phase_of(sub, cycle)
        if phase is None:
            raise FailedPrecondition(
                f"the plan has no billing cycle {cycle - sub.phase_cycle_offset}: it closes before",
                "no_more_cycles",
            )
        subtotal = phase.price_in_cents
    amounts = invoice_amounts(
        subtotal,
        tax_rate=sub.tax_rate,
        tax_behavior=sub.tax_behavior,
        fee_rate=fee_rate,
        proration_credit=proration_credit,
    )
    invoice_id = ids.new_id(ids.INVOICE)
    free = amounts.total_amount == 0
    invoice = Invoice.create(
        id=invoice_id,
        number=invoice_number(invoice_id, now),
        subscription=sub.id,
        platform=sub.platform_id,
        session_id=sub.session_id,
        status="paid" if free and status == "open" else status,
        payment_status="no_payment_required" if free else "unpaid",
        currency=sub.currency,
        region=sub.region,
        subtotal=amounts.subtotal,
        proration_credit=amounts.proration_credit,
        tax_amount=amounts.tax_amount,
        total_amount=amounts.total_amount,
        tax_rate=sub.tax_rate,
        tax_type=sub.tax_type,
        tax_jurisdiction=sub.tax_jurisdiction,
        tax_behavior=sub.tax_behavior,
        tax_note=sub.tax_note,
        retries_max=RETRIES_MAX,
        retries_delay_minutes=RETRY_DELAY_MINUTES,
        plan_id=sub.plan_id,
        plan_name=sub.plan_name,
        plan_type=sub.plan_type,
        phase_id=phase.phase_id if phase else "",
        phase_order=phase.order if phase else 0,
        billing_cycle=cycle,
        platform_fee_rate=fee_rate,
        platform_fee_amount=amounts.platform_fee_amount,
        period_start=start,
        period_end=end,
        invoice_date=now,
        due_date=min(now + DUE_AFTER, end),
        created_ip=ip,
        updated_ip=ip,
        created_at=now,
        updated_at=now,
    )
    if phase is not None:
        sub.current_phase_id = phase.phase_id
    events.append(deps, events.INVOICE_CREATED, sub, now, invoice=invoice)
    return invoice
