"""Currencies: ISO 4217 codes with minor units, and amounts counted in them."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from bento.v1 import catalog_pb2, common_pb2, enums_pb2, invoice_pb2, subscription_pb2
from bento_server.billing.currencies import is_iso_4217, is_priceable, minor_units
from tests.billing_support import get_invoice, make_shop, pay, subscribe
from tests.support import Caller, RunningServer, assert_fails, plan_request, product_request

INVALID = grpc.StatusCode.INVALID_ARGUMENT
E = enums_pb2

NOT_ISO = "is not an ISO 4217 currency code"
NO_MINOR_UNIT = "has no minor unit in ISO 4217; prices and payments need one"
FORMAT = "must be a three-letter ISO 4217 code in upper case"


# --- the ISO list ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "units"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("CAD", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("JOD", 3),
        ("TND", 3),
        ("CLF", 4),
    ],
)
def test_minor_units(code: str, units: int) -> None:
    assert is_iso_4217(code) and is_priceable(code)
    assert minor_units(code) == units


@pytest.mark.parametrize("code", ["XAU", "XAG", "XDR", "XXX", "XTS"])
def test_codes_without_minor_units_are_iso_but_not_priceable(code: str) -> None:
    assert is_iso_4217(code)
    assert not is_priceable(code)
    with pytest.raises(ValueError, match="no minor unit"):
        minor_units(code)


@pytest.mark.parametrize("code", ["ZZZ", "ABC", "usd", "Usd", "US", "USDD", "", " USD", "HRK"])
def test_unknown_lower_case_and_withdrawn_codes_are_refused(code: str) -> None:
    # HRK (the Croatian kuna) left the list when Croatia took the euro.
    assert not is_iso_4217(code)
    assert not is_priceable(code)
    with pytest.raises(ValueError, match="not an ISO 4217"):
        minor_units(code)


# --- refused over the wire ------------------------------------------------------


def _yen(amount: int) -> common_pb2.Price:
    return common_pb2.Price(price_in_cents=amount, currency_code="JPY", tier_id=str(amount))


def _priced(code: str, amount: int = 1000) -> catalog_pb2.RegionPrices:
    result = catalog_pb2.RegionPrices()
    result.phases.add(
        order=1, price=common_pb2.Price(price_in_cents=amount, currency_code=code, tier_id="x")
    )
    return result


@pytest.mark.parametrize(
    ("code", "description"),
    [("ZZZ", NOT_ISO), ("ABC", NOT_ISO), ("XAU", NO_MINOR_UNIT), ("XXX", NO_MINOR_UNIT)],
)
def test_plan_price_currency_must_be_iso(
    server: RunningServer, code: str, description: str
) -> None:
    shop = make_shop(server)
    p = shop.platform
    request = plan_request([shop.product_id], prices={"US": _priced(code)})
    field = "plan.prices[US].phases[0].price.currency_code"
    got = assert_fails(lambda: p(p.catalog.CreatePlan, request), INVALID, "invalid_argument", field)
    assert got.fields == {field: description}, got

    plan = catalog_pb2.Plan(plan_id=shop.plan_id, prices={"US": _priced(code)})
    update = catalog_pb2.UpdatePlanRequest(
        plan=plan, update_mask=field_mask_pb2.FieldMask(paths=["prices"])
    )
    got = assert_fails(lambda: p(p.catalog.UpdatePlan, update), INVALID, "invalid_argument", field)
    assert got.fields == {field: description}, got


def test_lower_case_currency_keeps_its_format_message(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    request = plan_request([shop.product_id], prices={"JP": _priced("jpy")})
    field = "plan.prices[JP].phases[0].price.currency_code"
    got = assert_fails(lambda: p(p.catalog.CreatePlan, request), INVALID, "invalid_argument", field)
    assert got.fields == {field: FORMAT}, got


@pytest.mark.parametrize(
    ("overrides", "field", "description"),
    [
        (
            {"prices": {"US": common_pb2.Price(price_in_cents=1, currency_code="ZZZ")}},
            "product.prices[US].currency_code",
            NOT_ISO,
        ),
        (
            {"prices": {"US": common_pb2.Price(price_in_cents=1, currency_code="ABC")}},
            "product.prices[US].currency_code",
            NOT_ISO,
        ),
        (
            {"price_wholesale": common_pb2.Price(price_in_cents=5, currency_code="ZZZ")},
            "product.price_wholesale.currency_code",
            NOT_ISO,
        ),
        (
            {"price_wholesale": common_pb2.Price(price_in_cents=5, currency_code="XDR")},
            "product.price_wholesale.currency_code",
            NO_MINOR_UNIT,
        ),
    ],
)
def test_product_price_currency_must_be_iso(
    server: RunningServer, overrides: dict[str, common_pb2.Price], field: str, description: str
) -> None:
    shop = make_shop(server)
    publisher = shop.tenancy.publisher
    request = product_request(**overrides)
    got = assert_fails(
        lambda: publisher(publisher.catalog.CreateProduct, request),
        INVALID,
        "invalid_argument",
        field,
    )
    assert got.fields == {field: description}, got


@pytest.mark.parametrize(
    ("code", "description"), [("ZZZ", NOT_ISO), ("ABC", NOT_ISO), ("XAU", NO_MINOR_UNIT)]
)
def test_payment_currency_must_be_iso(server: RunningServer, code: str, description: str) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sid, iid = created.subscription.subscription_id, created.invoice.invoice_id
    got = assert_fails(
        lambda: pay(p, sid, iid, 100, currency=code), INVALID, "invalid_argument", "currency"
    )
    assert got.fields == {"currency": description}, got
    assert get_invoice(p, sid, iid).amounts.amount_paid == 0


# --- amounts are counted in the currency's minor unit ----------------------------


def _invoice_in(
    server: RunningServer, code: str, amount: int, tax_rate: float, behavior: int
) -> tuple[Caller, subscription_pb2.Subscription, invoice_pb2.Invoice]:
    """The first invoice of a subscription to a plan priced ``amount`` in ``code``."""
    shop = make_shop(server, wholesale=False)  # platform fee 15%
    p = shop.platform
    plan_id = shop.plan(prices={"XX": _priced(code, amount)})
    created = subscribe(
        p,
        plan_id,
        region="XX",
        tax_rate=tax_rate,
        tax_type=E.TAX_TYPE_VAT,
        tax_behavior=behavior,
    )
    return p, created.subscription, created.invoice


@pytest.mark.parametrize(
    ("amount", "tax_rate", "behavior", "tax", "total", "fee"),
    [
        # 1000 * 0.0875 = 87.5 yen: rounded half up to a whole yen, 88.
        (1000, 0.0875, E.TAX_BEHAVIOR_EXCLUSIVE, 88, 1088, 150),
        (1000, 0.10, E.TAX_BEHAVIOR_EXCLUSIVE, 100, 1100, 150),
        # 1099 yen with 10% in it: 1099 / 1.1 = 999.09..., tax 99.9 -> 100;
        # the fee is on the 999 of revenue: 149.85 -> 150.
        (1099, 0.10, E.TAX_BEHAVIOR_INCLUSIVE, 100, 1099, 150),
        # 1 yen at 50%: 0.5 yen rounds up to a whole yen.
        (1, 0.5, E.TAX_BEHAVIOR_EXCLUSIVE, 1, 2, 0),
    ],
)
def test_yen_amounts_are_whole_yen(
    server: RunningServer,
    amount: int,
    tax_rate: float,
    behavior: int,
    tax: int,
    total: int,
    fee: int,
) -> None:
    p, sub, invoice = _invoice_in(server, "JPY", amount, tax_rate, behavior)
    assert sub.currency == "JPY" and invoice.currency == "JPY"
    a = invoice.amounts
    assert (a.subtotal, a.tax_amount, a.total_amount, a.amount_due) == (amount, tax, total, total)
    assert invoice.plan.platform_fee_amount == fee

    paid = pay(p, sub.subscription_id, invoice.invoice_id, total, currency="JPY").payment
    assert (paid.amount, paid.currency) == (total, "JPY")
    settled = get_invoice(p, sub.subscription_id, invoice.invoice_id)
    assert (settled.amounts.amount_paid, settled.amounts.amount_due) == (total, 0)
    assert settled.payment_status == E.PAYMENT_STATUS_PAID


def test_a_yen_price_reads_back_as_written(server: RunningServer) -> None:
    shop = make_shop(server, wholesale=False)
    p = shop.platform
    plan_id = shop.plan(prices={"JP": _priced("JPY", 1000)})
    plan = p(p.catalog.GetPlan, catalog_pb2.GetPlanRequest(plan_id=plan_id)).plan
    [phase] = plan.prices["JP"].phases
    assert (phase.price.price_in_cents, phase.price.currency_code) == (1000, "JPY")
    publisher = shop.tenancy.publisher
    product = publisher(
        publisher.catalog.CreateProduct,
        product_request(prices={"JP": _yen(980)}, price_wholesale=_yen(500)),
    ).product
    assert product.prices["JP"] == _yen(980)
    assert product.price_wholesale == _yen(500)


@pytest.mark.parametrize(
    ("amount", "tax_rate", "behavior", "tax", "total", "fee"),
    [
        # 12.345 BHD is 12345 fils; 12345 * 0.0875 = 1080.1875 fils -> 1080.
        (12345, 0.0875, E.TAX_BEHAVIOR_EXCLUSIVE, 1080, 13425, 1852),
        # 1.000 BHD at 10%: exactly 100 fils (0.100 BHD).
        (1000, 0.10, E.TAX_BEHAVIOR_EXCLUSIVE, 100, 1100, 150),
        # 5 fils at 10%: 0.5 fils rounds half up to one fil.
        (5, 0.10, E.TAX_BEHAVIOR_EXCLUSIVE, 1, 6, 1),
    ],
)
def test_dinar_amounts_are_whole_fils(
    server: RunningServer,
    amount: int,
    tax_rate: float,
    behavior: int,
    tax: int,
    total: int,
    fee: int,
) -> None:
    p, sub, invoice = _invoice_in(server, "BHD", amount, tax_rate, behavior)
    assert minor_units("BHD") == 3
    assert sub.currency == "BHD" and invoice.currency == "BHD"
    a = invoice.amounts
    assert (a.subtotal, a.tax_amount, a.total_amount) == (amount, tax, total)
    assert invoice.plan.platform_fee_amount == fee
    paid = pay(p, sub.subscription_id, invoice.invoice_id, total, currency="BHD").payment
    assert (paid.amount, paid.currency) == (total, "BHD")
