"""Revenue distribution: what an invoice holds, split among the parties.

docs/rules.md, "Revenue distribution". An invoice's split is a function
of what it holds now (``split``); every movement of money posts the
difference between the split after it and the split before (``change``),
so the entries of an invoice always add up to its split, and its split to
what it holds, to the unit:

    tax + fee + Σ publisher shares + platform share
      = amount_paid + credits taken - credit issued      (its value held)

- Tax and the fee follow the money: ``tax * money / total``, where the
  money is what was paid and not refunded (credit handed back and later
  paid out as a refund was money too, already reversed as credit). Credit
  is revenue without tax, and an invoice taking credit charges no fee on
  it, so handing credit back does not reverse tax or fee: only the shares.
- The shares follow the service held: each product's wholesale price for
  one month, times the cycle's length in months, times the part of the
  invoice's revenue it holds (money net of tax, plus credit taken, less
  credit handed back), out of its whole revenue.
- Each line is computed exactly and rounded half up; the platform's share
  is the rest, and may be negative.

Fractions keep every intermediate exact; nothing here reads a store or a
clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

_MONTHS_PER_UNIT = {
    "month": Fraction(1),
    "year": Fraction(12),
    # docs/rules.md: a week is 7/30 of a month, a day 1/30.
    "week": Fraction(7, 30),
    "day": Fraction(1, 30),
}


def cycle_months(billing_unit: str, billing_value: int) -> Fraction:
    """A billing cycle's length in months of wholesale service."""
    return _MONTHS_PER_UNIT[billing_unit] * billing_value


def round_half_up(value: Fraction) -> int:
    """``value`` to the nearest integer, halves away from zero."""
    if value < 0:
        return -round_half_up(-value)
    return math.floor(value + Fraction(1, 2))


@dataclass(frozen=True)
class Wholesale:
    """What one product of an invoice's plan costs the platform per month."""

    app_id: str
    product_id: str
    monthly: int
    """Minor units of the invoice's currency for one month of service."""


def monthly_wholesale(price: Mapping[str, Any] | None, currency: str) -> int:
    """A product's stored wholesale price in ``currency``: 0 when it has
    none, or one in another currency (which the catalog refuses for new
    plans)."""
    if not price or price.get("currency_code") != currency:
        return 0
    return int(price.get("price_in_cents", 0))


@dataclass(frozen=True)
class Terms:
    """What an invoice's shares are computed from, fixed when it is issued."""

    months: Fraction = Fraction(0)
    wholesale: tuple[Wholesale, ...] = ()

    def to_stored(self) -> dict[str, Any]:
        return {
            "months": str(self.months),
            "wholesale": [
                {"app_id": w.app_id, "product_id": w.product_id, "monthly": w.monthly}
                for w in self.wholesale
            ],
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> Terms:
        if not stored:
            return cls()
        return cls(
            Fraction(stored["months"]),
            tuple(
                Wholesale(w["app_id"], w["product_id"], int(w["monthly"]))
                for w in stored["wholesale"]
            ),
        )


@dataclass(frozen=True)
class Holding:
    """The money columns of an invoice."""

    total_amount: int
    tax_amount: int
    platform_fee_amount: int
    credits_taken: int
    """Plan-change credit and credit balance the invoice took when issued."""
    amount_paid: int
    """Money collected, net of every refund."""
    credit_issued: int
    """Credit handed back, less what of it was paid out as refunds."""
    credit_paid_out: int
    """Credit handed back and then paid out as refunds."""

    @classmethod
    def of(cls, invoice: Any) -> Holding:
        """The money columns of an invoice's stored row or billing state."""
        return cls(
            total_amount=invoice.total_amount,
            tax_amount=invoice.tax_amount,
            platform_fee_amount=invoice.platform_fee_amount,
            credits_taken=invoice.proration_credit + invoice.credit_applied,
            amount_paid=invoice.amount_paid,
            credit_issued=invoice.credit_issued,
            credit_paid_out=invoice.credit_paid_out,
        )

    @property
    def value_held(self) -> int:
        return self.amount_paid + self.credits_taken - self.credit_issued

    @property
    def money_held(self) -> int:
        """The money collected that bears tax and fee: refunds of money
        reduce it, a payout of credit already handed back does not."""
        return min(self.amount_paid + self.credit_paid_out, self.total_amount)


NOTHING = Holding(0, 0, 0, 0, 0, 0, 0)
"""What an invoice holds before it is issued."""


ShareKey = tuple[str, str]
"""(app ID, product ID)."""


@dataclass(frozen=True)
class Split:
    """An invoice's value held by party (or a change of it, by a movement)."""

    tax: int = 0
    platform_fee: int = 0
    platform_share: int = 0
    shares: Mapping[ShareKey, int] = field(default_factory=dict)
    cycles: int = 0
    """1 while the invoice holds anything, else 0 (in a change: -1, 0, 1)."""

    @property
    def total(self) -> int:
        return self.tax + self.platform_fee + self.platform_share + sum(self.shares.values())

    @property
    def is_empty(self) -> bool:
        return not (
            self.tax
            or self.platform_fee
            or self.platform_share
            or self.cycles
            or any(self.shares.values())
        )


def split(holding: Holding, terms: Terms) -> Split:
    """What each party holds of what the invoice holds now."""
    value = holding.value_held
    keys = {(w.app_id, w.product_id): 0 for w in terms.wholesale}
    if value <= 0:
        return Split(shares=keys)
    total, tax_full = holding.total_amount, holding.tax_amount
    money = Fraction(holding.money_held, total) if total > 0 else Fraction(0)
    exact_tax = tax_full * money
    tax = min(round_half_up(exact_tax), value)
    fee = min(round_half_up(holding.platform_fee_amount * money), value - tax)
    revenue = total + holding.credits_taken - tax_full
    held = (value - exact_tax) / revenue if revenue > 0 else Fraction(0)
    held = min(max(held, Fraction(0)), Fraction(1))
    shares = {
        (w.app_id, w.product_id): round_half_up(w.monthly * terms.months * held)
        for w in terms.wholesale
    }
    return Split(
        tax=tax,
        platform_fee=fee,
        platform_share=value - tax - fee - sum(shares.values()),
        shares=shares,
        cycles=1,
    )


def change(before: Split, after: Split) -> Split:
    """``after - before``, line by line."""
    keys = list(dict.fromkeys([*before.shares, *after.shares]))
    return Split(
        tax=after.tax - before.tax,
        platform_fee=after.platform_fee - before.platform_fee,
        platform_share=after.platform_share - before.platform_share,
        shares={k: after.shares.get(k, 0) - before.shares.get(k, 0) for k in keys},
        cycles=after.cycles - before.cycles,
    )


@dataclass(frozen=True)
class Movement:
    """What moved on an invoice, in minor units: each non-negative except
    ``credit_issued``, which a payout of handed-back credit lowers."""

    paid: int = 0
    refunded: int = 0
    credit_applied: int = 0
    credit_issued: int = 0

    @property
    def net(self) -> int:
        return self.paid - self.refunded + self.credit_applied - self.credit_issued


_STILL = Movement()
"""Nothing moved."""


def movement(before: Holding, after: Holding) -> Movement:
    paid = after.amount_paid - before.amount_paid
    return Movement(
        paid=max(paid, 0),
        refunded=max(-paid, 0),
        credit_applied=after.credits_taken - before.credits_taken,
        credit_issued=after.credit_issued - before.credit_issued,
    )


@dataclass(frozen=True)
class Posting:
    """One allocation: a movement and the change of the split it made."""

    movement: Movement
    change: Split


def moves_nothing(before: Holding, after: Holding) -> bool:
    """Whether a change from ``before`` to ``after`` posts nothing whatever
    the terms: no money or credit moved, and the invoice held no value
    before or after, so every line of its split is zero both times (an
    invoice issued and not yet paid)."""
    return movement(before, after) == _STILL and before.value_held <= 0 and after.value_held <= 0


def post(before: Holding, after: Holding, terms: Terms) -> Posting | None:
    """The allocation for a movement from ``before`` to ``after``; None when
    nothing moved and no line changed."""
    moved = movement(before, after)
    changed = change(split(before, terms), split(after, terms))
    if moved == Movement() and changed.is_empty:
        return None
    return Posting(moved, changed)
