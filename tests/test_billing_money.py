"""Invoice amounts and proration credit: worked examples and properties."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bento_server.billing.money import (
    InvoiceAmounts,
    invoice_amounts,
    proration_credit,
    round_half_up,
)
from bento_server.errors import InvalidArgument

DAY = timedelta(days=1)

prices = st.integers(min_value=0, max_value=10_000_000)
rates = st.floats(min_value=0, max_value=1, allow_nan=False)
behaviors = st.sampled_from(["none", "inclusive", "exclusive"])


def quantized(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def floor_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def test_seed_example() -> None:
    amounts = invoice_amounts(1699, tax_rate=0.0875, tax_behavior="exclusive", fee_rate=0.15)
    assert amounts == InvoiceAmounts(
        subtotal=1699,
        proration_credit=0,
        credit_applied=0,
        net=1699,
        tax_amount=149,
        total_amount=1848,
        platform_fee_amount=255,
    )
    assert amounts.subtotal_excluding_tax == 1699
    three = invoice_amounts(1699, tax_rate=0.0875, tax_behavior="exclusive", fee_rate=0.03)
    assert three.platform_fee_amount == 51


def test_inclusive_tax_is_taken_out_of_the_price_and_the_fee_is_on_the_rest() -> None:
    amounts = invoice_amounts(1699, tax_rate=0.0875, tax_behavior="inclusive", fee_rate=0.15)
    # 1699 / 1.0875 = 1562.3; the fee is on the 1562 of revenue, not the 1699.
    assert amounts == InvoiceAmounts(1699, 0, 0, 1699, 137, 1699, 234)
    assert amounts.subtotal_excluding_tax == 1562


def test_no_tax() -> None:
    amounts = invoice_amounts(1699, tax_rate=0.0875, tax_behavior="none", fee_rate=0.15)
    assert amounts == InvoiceAmounts(1699, 0, 0, 1699, 0, 1699, 255)


def test_credit_reduces_the_taxed_price_and_the_fee() -> None:
    amounts = invoice_amounts(
        1699, tax_rate=0.0875, tax_behavior="exclusive", fee_rate=0.15, proration_credit=500
    )
    # 1199 * 0.0875 = 104.9125; no fee on the credit: 1199 * 0.15 = 179.85.
    assert amounts == InvoiceAmounts(1699, 500, 0, 1199, 105, 1304, 180)


def test_balance_credit_is_taken_after_plan_change_credit_up_to_the_subtotal() -> None:
    amounts = invoice_amounts(
        999,
        tax_rate=0.0875,
        tax_behavior="inclusive",
        fee_rate=0.15,
        proration_credit=600,
        credit_applied=1500,
    )
    assert amounts == InvoiceAmounts(999, 600, 399, 0, 0, 0, 0)


def test_rates_are_read_as_written_not_as_binary_floats() -> None:
    # As binary floats 0.0875 and 0.15 sit just below themselves, so these
    # exact halves would round down.
    exclusive = invoice_amounts(200, tax_rate=0.0875, tax_behavior="exclusive", fee_rate=0.15)
    assert exclusive.tax_amount == 18  # 17.5
    assert exclusive.total_amount == 218
    assert (
        invoice_amounts(10, tax_rate=0, tax_behavior="none", fee_rate=0.15).platform_fee_amount == 2
    )


def test_inclusive_rounding_of_an_exact_half() -> None:
    # 105 / 1.05 = 100 exactly; at a 100% rate 1 / 2 = 0.5 and 3 / 2 = 1.5.
    assert invoice_amounts(105, tax_rate=0.05, tax_behavior="inclusive", fee_rate=0).tax_amount == 5
    half = invoice_amounts(1, tax_rate=1.0, tax_behavior="inclusive", fee_rate=0)
    assert (half.tax_amount, half.total_amount) == (0, 1)
    three = invoice_amounts(3, tax_rate=1.0, tax_behavior="inclusive", fee_rate=0)
    assert (three.tax_amount, three.total_amount) == (1, 3)


def test_amounts_above_ten_to_the_twelve_are_refused() -> None:
    assert (
        invoice_amounts(10**12, tax_rate=0, tax_behavior="none", fee_rate=0).total_amount == 10**12
    )
    with pytest.raises(InvalidArgument) as caught:
        invoice_amounts(10**12 + 1, tax_rate=0, tax_behavior="none", fee_rate=0)
    assert [v.field for v in caught.value.field_violations] == ["subtotal"]


def test_round_half_up() -> None:
    assert round_half_up(Decimal("0.5")) == 1
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(Decimal("2.4999999")) == 2
    assert round_half_up(Decimal("148.6625")) == 149
    assert round_half_up(Decimal("7")) == 7
    assert round_half_up(Decimal("0")) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tax_behavior": "vat"}, "tax_behavior"),
        ({"tax_rate": 1.5}, "tax_rate"),
        ({"tax_rate": -0.1}, "tax_rate"),
        ({"tax_rate": math.nan}, "tax_rate"),
        ({"fee_rate": 2.0}, "fee_rate"),
        ({"proration_credit": -1}, "proration_credit"),
    ],
)
def test_invalid_inputs_are_refused(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "tax_rate": 0.1,
        "tax_behavior": "exclusive",
        "fee_rate": 0.1,
        **kwargs,
    }
    with pytest.raises(InvalidArgument) as caught:
        invoice_amounts(100, **arguments)  # type: ignore[arg-type]
    assert caught.value.reason == "invalid_argument"
    assert [v.field for v in caught.value.field_violations] == [field]


def test_negative_subtotal_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        invoice_amounts(-1, tax_rate=0, tax_behavior="none", fee_rate=0)
    assert [v.field for v in caught.value.field_violations] == ["subtotal"]


@given(
    subtotal=prices,
    tax_rate=rates,
    fee_rate=rates,
    behavior=behaviors,
    credit=st.integers(min_value=0, max_value=20_000_000),
    balance=st.integers(min_value=0, max_value=20_000_000),
)
def test_amount_properties(
    subtotal: int, tax_rate: float, fee_rate: float, behavior: str, credit: int, balance: int
) -> None:
    amounts = invoice_amounts(
        subtotal,
        tax_rate=tax_rate,
        tax_behavior=behavior,
        fee_rate=fee_rate,
        proration_credit=credit,
        credit_applied=balance,
    )
    prorated = min(credit, subtotal)
    applied = min(balance, subtotal - prorated)
    net = subtotal - prorated - applied
    tax = Decimal(str(tax_rate))
    fee = Decimal(str(fee_rate))

    assert amounts.subtotal == subtotal
    assert (amounts.proration_credit, amounts.credit_applied, amounts.net) == (
        prorated,
        applied,
        net,
    )
    assert min(amounts.net, amounts.tax_amount, amounts.total_amount) >= 0
    revenue = amounts.total_amount - amounts.tax_amount
    assert amounts.subtotal_excluding_tax == revenue
    assert amounts.platform_fee_amount == quantized(revenue * fee)
    assert amounts.platform_fee_amount == floor_half_up(revenue * Fraction(fee))
    assert 0 <= amounts.platform_fee_amount <= revenue

    if behavior == "exclusive":
        assert amounts.tax_amount == quantized(net * tax)
        assert amounts.tax_amount == floor_half_up(net * Fraction(tax))
        assert amounts.total_amount == net + amounts.tax_amount
    elif behavior == "inclusive":
        assert amounts.total_amount == net
        assert amounts.tax_amount == net - floor_half_up(net / (1 + Fraction(tax)))
    else:
        assert (amounts.tax_amount, amounts.total_amount) == (0, net)


@given(subtotal=prices, tax_rate=rates)
def test_inclusive_recovers_the_exclusive_net_within_a_unit(subtotal: int, tax_rate: float) -> None:
    # Rounding the exclusive tax moves the gross by up to half a unit, so
    # the net read back from it may land on a neighbour, never further.
    exclusive = invoice_amounts(subtotal, tax_rate=tax_rate, tax_behavior="exclusive", fee_rate=0)
    inclusive = invoice_amounts(
        exclusive.total_amount, tax_rate=tax_rate, tax_behavior="inclusive", fee_rate=0
    )
    assert abs(inclusive.subtotal_excluding_tax - subtotal) <= 1
    assert inclusive.total_amount == exclusive.total_amount


def test_proration_credit_examples() -> None:
    month = 30 * DAY
    assert proration_credit(1699, 15 * DAY, month) == 850  # 849.5
    assert proration_credit(1699, 10 * DAY, month) == 566  # 566.33
    assert proration_credit(1699, 20 * DAY, month) == 1133  # 1132.67
    assert proration_credit(1699, month, month) == 1699
    assert proration_credit(1699, timedelta(0), month) == 0
    assert proration_credit(1, timedelta(microseconds=1), timedelta(microseconds=2)) == 1


def test_proration_credit_clamps_at_the_edges() -> None:
    month = 30 * DAY
    assert proration_credit(1699, -DAY, month) == 0
    assert proration_credit(1699, 31 * DAY, month) == 1699
    assert proration_credit(1699, DAY, timedelta(0)) == 0
    assert proration_credit(1699, DAY, -DAY) == 0
    assert proration_credit(0, DAY, month) == 0


@given(
    paid=prices,
    unused_us=st.integers(min_value=-(10**12), max_value=10**14),
    length_us=st.integers(min_value=1, max_value=10**13),
)
def test_proration_credit_properties(paid: int, unused_us: int, length_us: int) -> None:
    credit = proration_credit(
        paid, timedelta(microseconds=unused_us), timedelta(microseconds=length_us)
    )
    share = Fraction(min(max(unused_us, 0), length_us), length_us)
    assert 0 <= credit <= paid
    assert credit == floor_half_up(paid * share)
