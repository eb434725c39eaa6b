"""Invoice amounts in integer minor units of their currency (ISO 4217: cents for
USD, yen for JPY), rounded half up.

Rates arrive as floats; each goes through ``Decimal(str(rate))`` so that
0.0875 is exactly 0.0875 and not the nearest binary fraction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from bento_server.billing.statuses import InvoiceStatus
from bento_server.errors import InvalidArgument

TAX_BEHAVIORS = frozenset({"none", "inclusive", "exclusive"})

# Products of an amount and a rate are exact at 60 digits; the one quotient
# (inclusive tax) keeps far more digits than a half-unit decision on any
# realistic amount needs. A local context also ignores whatever the caller's
# thread-local decimal context says.
_EXACT = Context(prec=60)
_ONE = Decimal(1)
_MICROSECOND = timedelta(microseconds=1)


def round_half_up(value: Decimal) -> int:
    """``value`` to the nearest integer, halves away from zero (2.5 -> 3)."""
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


MAX_AMOUNT = 10**12
"""The largest price, payment or total in minor units: far above any real
sale, far below where int64 columns and Decimal arithmetic could overflow."""


def check_amount(value: int, field: str) -> None:
    """Refuses an amount whose magnitude passes ``MAX_AMOUNT``."""
    if abs(value) > MAX_AMOUNT:
        raise InvalidArgument.field(field, f"must be at most 10^12 minor units, got {value}")


@dataclass(frozen=True)
class InvoiceAmounts:
    """The money lines of one invoice, in minor units of its currency."""

    subtotal: int
    """The phase's price for the cycle (for inclusive tax it holds the tax)."""
    proration_credit: int
    """Plan-change credit actually taken: never more than ``subtotal``."""
    credit_applied: int
    """Credit balance actually taken: never more than what is left."""
    net: int
    """``subtotal - proration_credit - credit_applied``."""
    tax_amount: int
    total_amount: int
    """What the user owes: ``net + tax`` (exclusive) or ``net`` (inclusive)."""
    platform_fee_amount: int
    """On the revenue, ``total - tax``: no fee on tax nor on credit."""

    @property
    def subtotal_excluding_tax(self) -> int:
        return self.total_amount - self.tax_amount


def _rate(rate: float, field: str) -> Decimal:
    # `not (0 <= rate <= 1)` also refuses NaN.
    if not 0 <= rate <= 1:
        raise InvalidArgument.field(field, f"must be between 0 and 1, got {rate!r}")
    return _decimal(rate)


@functools.lru_cache(maxsize=1024)
def _decimal(rate: float) -> Decimal:
    # A store holds a few rates, each priced on every invoice.
    return Decimal(str(rate))


def invoice_amounts(
    subtotal: int,
    *,
    tax_rate: float,
    tax_behavior: str,
    fee_rate: float,
    proration_credit: int = 0,
    credit_applied: int = 0,
) -> InvoiceAmounts:
    """The amounts of an invoice for ``subtotal`` under the billing rules.

    Credit is taken up to the subtotal, plan-change credit first. Raises
    ``InvalidArgument`` for a negative or too large subtotal or credit, a
    rate outside 0..1 or an unknown tax behaviour.
    """
    if subtotal < 0:
        raise InvalidArgument.field("subtotal", f"must not be negative, got {subtotal}")
    check_amount(subtotal, "subtotal")
    for name, credit in (
        ("proration_credit", proration_credit),
        ("credit_applied", credit_applied),
    ):
        if credit < 0:
            raise InvalidArgument.field(name, f"must not be negative, got {credit}")
    if tax_behavior not in TAX_BEHAVIORS:
        raise InvalidArgument.field(
            "tax_behavior", f"must be one of none, inclusive, exclusive, got {tax_behavior!r}"
        )
    tax = _rate(tax_rate, "tax_rate")
    fee = _rate(fee_rate, "fee_rate")
    # An invoice never goes below zero: credit beyond the subtotal is not taken.
    prorated = min(proration_credit, subtotal)
    applied = min(credit_applied, subtotal - prorated)
    net = subtotal - prorated - applied
    with localcontext(_EXACT):
        if tax_behavior == "exclusive":
            tax_amount = round_half_up(net * tax)
            total = net + tax_amount
        elif tax_behavior == "inclusive":
            # The price already holds the tax: what is left after taking the
            # rounded price without tax out of it, so the two add up.
            tax_amount = net - round_half_up(Decimal(net) / (_ONE + tax))
            total = net
        else:
            tax_amount = 0
            total = net
        platform_fee = round_half_up((total - tax_amount) * fee)
    return InvoiceAmounts(
        subtotal=subtotal,
        proration_credit=prorated,
        credit_applied=applied,
        net=net,
        tax_amount=tax_amount,
        total_amount=total,
        platform_fee_amount=platform_fee,
    )


def tax_share(tax_amount: int, total_amount: int, paid: int) -> int:
    """The part of ``paid`` that is tax, when ``paid`` of ``total_amount`` was collected."""
    if total_amount <= 0 or paid <= 0:
        return 0
    with localcontext(_EXACT):
        return round_half_up(Decimal(tax_amount) * min(paid, total_amount) / total_amount)


def proration_credit(paid_subtotal: int, unused: timedelta, period_length: timedelta) -> int:
    """The share of ``paid_subtotal`` (revenue collected for a period, net
    of tax) for the ``unused`` part of that period.

    ``unused`` is clamped to the period, so a change at or past either edge
    gives 0 or the whole subtotal; an empty period or nothing paid gives 0.
    """
    if period_length <= timedelta(0) or paid_subtotal <= 0:
        return 0
    # Whole microseconds: timedelta division through floats would lose exactness.
    length_us = period_length // _MICROSECOND
    unused_us = min(max(unused // _MICROSECOND, 0), length_us)
    with localcontext(_EXACT):
        return round_half_up(Decimal(paid_subtotal) * unused_us / length_us)


def amount_due(status: str, total_amount: int, amount_paid: int) -> int:
    """What an invoice still owes: nothing once it is paid or void, whatever
    refunds did to ``amount_paid`` since."""
    if status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
        return 0
    return max(total_amount - amount_paid, 0)
