"""Invoice amounts in integer minor units (cents), rounded half up.

Rates arrive as floats; each goes through ``Decimal(str(rate))`` so that
0.0875 is exactly 0.0875 and not the nearest binary fraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

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


@dataclass(frozen=True)
class InvoiceAmounts:
    """The money lines of one invoice, in minor units of its currency."""

    subtotal: int
    """The plan's price for the period, before credit and tax."""
    proration_credit: int
    """The credit actually applied: never more than ``subtotal``."""
    taxable: int
    """The price after credit, without its tax."""
    tax_amount: int
    total_amount: int
    """What the user owes: ``taxable + tax_amount``."""
    platform_fee_amount: int
    """On the subtotal: neither credit nor tax changes it."""


def _rate(rate: float, field: str) -> Decimal:
    # `not (0 <= rate <= 1)` also refuses NaN.
    if not 0 <= rate <= 1:
        raise InvalidArgument.field(field, f"must be between 0 and 1, got {rate!r}")
    return Decimal(str(rate))


def invoice_amounts(
    subtotal: int,
    *,
    tax_rate: float,
    tax_behavior: str,
    fee_rate: float,
    proration_credit: int = 0,
) -> InvoiceAmounts:
    """The amounts of an invoice for ``subtotal`` under the billing rules.

    Raises ``InvalidArgument`` for a negative subtotal or credit, a rate
    outside 0..1 or an unknown tax behaviour.
    """
    if subtotal < 0:
        raise InvalidArgument.field("subtotal", f"must not be negative, got {subtotal}")
    if proration_credit < 0:
        raise InvalidArgument.field(
            "proration_credit", f"must not be negative, got {proration_credit}"
        )
    if tax_behavior not in TAX_BEHAVIORS:
        raise InvalidArgument.field(
            "tax_behavior", f"must be one of none, inclusive, exclusive, got {tax_behavior!r}"
        )
    tax = _rate(tax_rate, "tax_rate")
    fee = _rate(fee_rate, "fee_rate")
    # An invoice never goes below zero: credit beyond the subtotal is not applied.
    credit = min(proration_credit, subtotal)
    price = subtotal - credit
    with localcontext(_EXACT):
        if tax_behavior == "exclusive":
            taxable = price
            tax_amount = round_half_up(taxable * tax)
        elif tax_behavior == "inclusive":
            # The price already holds the tax; the tax is what is left after
            # rounding the net, so taxable + tax always equals the price.
            taxable = round_half_up(Decimal(price) / (_ONE + tax))
            tax_amount = price - taxable
        else:
            taxable = price
            tax_amount = 0
        platform_fee = round_half_up(subtotal * fee)
    return InvoiceAmounts(
        subtotal=subtotal,
        proration_credit=credit,
        taxable=taxable,
        tax_amount=tax_amount,
        total_amount=taxable + tax_amount,
        platform_fee_amount=platform_fee,
    )


def proration_credit(paid_subtotal: int, unused: timedelta, period_length: timedelta) -> int:
    """The share of ``paid_subtotal`` for the ``unused`` part of a period.

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
