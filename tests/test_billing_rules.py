"""The money rules of docs/rules.md "Billing rules" where the wire has a
part in them: activation codes for the apps a plan change adds (the codes
are handed out in the answer), and the 10^12 limit on prices and payments
(refused as INVALID_ARGUMENT, never INTERNAL). The rules themselves run in
process in tests/usecases/test_billing_rules.py.

Every case measures from the shared test clock and moves it only forward."""

from __future__ import annotations

import grpc

from bento.v1 import catalog_pb2, common_pb2, enums_pb2
from tests.billing_support import (
    advance,
    get_invoice,
    get_subscription,
    make_shop,
    pay,
    subscribe,
)
from tests.support import (
    RunningServer,
    assert_fails,
    make_tenancy,
    phases,
    plan_request,
    product_request,
)
from tests.test_activation import buy, exchange, make_bundle, update_item
from tests.test_subscription_lifecycle import update

E = enums_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
MINUTE = 60
DAY = 86_400
LIMIT = 10**12


# --- helpers ------------------------------------------------------------------


def code_in(url: common_pb2.ActivationUrl) -> str:
    return url.activation_url.partition("code=")[2]


# --- activation for what a plan change adds -----------------------------------------


def test_a_paid_change_to_a_plan_with_a_new_app_opens_its_activation(
    server: RunningServer,
) -> None:
    """Paying a change from a single plan to a bundle with a second app issues a code for that app."""
    t = make_tenancy(server)
    p = t.platform
    first = t.publisher(t.publisher.catalog.CreateProduct, product_request()).product
    second = t.other_publisher(t.other_publisher.catalog.CreateProduct, product_request()).product
    single = p(
        p.catalog.CreatePlan,
        plan_request(
            [first.product_id],
            plan_type=E.PLAN_TYPE_SINGLE,
            prices={"US": phases((999, None))},
        ),
    ).plan.plan_id
    bundle = p(
        p.catalog.CreatePlan,
        plan_request([first.product_id, second.product_id], prices={"US": phases((1699, None))}),
    ).plan.plan_id

    created = subscribe(p, single)
    sid = created.subscription.subscription_id
    opened = pay(p, sid, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    assert [u.app_id for u in opened.activation_urls] == [t.app_id]

    advance(t.admin, DAY)
    changed = update(p, sid, plan_id=bundle)
    invoice = changed.invoice
    assert invoice.status == E.INVOICE_STATUS_OPEN
    assert invoice.amounts.total_amount > 0
    paid = pay(p, sid, invoice.invoice_id, invoice.amounts.total_amount)
    urls = list(paid.activation_urls)
    assert [u.app_id for u in urls] == [t.other_app_id], "no activation for the added app"
    bought = exchange(t.other_publisher, code_in(urls[0]))
    assert (bought.subscription_id, bought.app_id, bought.product_id) == (
        sid,
        t.other_app_id,
        second.product_id,
    )


def test_a_pending_subscription_that_changes_plan_then_pays_gets_activation(
    server: RunningServer,
) -> None:
    """A first payment made on the invoice of a pending plan change opens the activation session."""
    shop = make_shop(server)
    p = shop.platform
    other = shop.plan(prices={"US": phases((1699, None))})
    created = subscribe(p, shop.plan_id)
    sid = created.subscription.subscription_id
    changed = update(p, sid, plan_id=other)
    invoice = changed.invoice
    assert invoice.status == E.INVOICE_STATUS_OPEN

    paid = pay(p, sid, invoice.invoice_id, invoice.amounts.total_amount)
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_ACTIVE
    urls = list(paid.activation_urls)
    assert [u.app_id for u in urls] == [shop.tenancy.app_id], "the paid change opened no activation"
    assert code_in(urls[0])


def test_an_exchanged_codes_item_can_be_confirmed_after_seven_days(
    server: RunningServer,
) -> None:
    """An item whose code was exchanged in time can still be confirmed after the code's 7 days."""
    b = make_bundle(server)
    t = b.tenancy
    bought = buy(b)
    exchange(t.publisher, bought.codes[t.app_id])

    advance(b.admin, 7 * DAY + MINUTE)
    confirmed = update_item(
        t.publisher,
        bought.session_id,
        t.app_id,
        E.ACTIVATION_ITEM_STATUS_ACTIVATED,
        user_id="user_late",
    )
    assert confirmed.activation_item.status == E.ACTIVATION_ITEM_STATUS_ACTIVATED
    assert confirmed.activation_item.user_id == "user_late"


# --- limits -------------------------------------------------------------------------


def test_prices_and_payments_above_ten_to_the_twelve_are_invalid(server: RunningServer) -> None:
    """A plan priced 5*10^18 or a payment above 10^12 is refused INVALID_ARGUMENT, never INTERNAL."""
    shop = make_shop(server, prices={"US": phases((1699, None))})
    p = shop.platform

    def create_plan(cents: int) -> catalog_pb2.CreatePlanResponse:
        request = plan_request([shop.product_id], prices={"US": phases((cents, None))})
        return p(p.catalog.CreatePlan, request)

    for cents in (5 * 10**18, LIMIT + 1):
        assert_fails(lambda: create_plan(cents), INVALID, "invalid_argument")
    assert create_plan(LIMIT).plan.plan_id

    created = subscribe(p, shop.plan_id)
    sid, iid = created.subscription.subscription_id, created.invoice.invoice_id
    assert_fails(lambda: pay(p, sid, iid, LIMIT + 1), INVALID, "invalid_argument", "amount")
    assert get_invoice(p, sid, iid).amounts.amount_paid == 0
