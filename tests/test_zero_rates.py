"""A rate given as -0.0 is 0 and is stored and answered as +0.0, never -0."""

from __future__ import annotations

import math

from bento.v1 import enums_pb2, subscription_pb2, tenant_pb2
from tests.billing_support import get_invoice, get_subscription, make_shop, subscribe
from tests.support import RunningServer, make_key, plan_request, unique

E = enums_pb2


def positive_zero(value: float) -> bool:
    return value == 0.0 and math.copysign(1, value) == 1


def test_a_fee_rate_of_minus_zero_is_stored_as_zero(server: RunningServer) -> None:
    assert not positive_zero(-0.0)
    admin = server.admin()
    created = admin(
        admin.tenant.CreatePlatform,
        tenant_pb2.CreatePlatformRequest(name=unique("platform"), fee_rate=-0.0),
    ).platform
    assert positive_zero(created.fee_rate), created
    got = admin(
        admin.tenant.GetPlatform, tenant_pb2.GetPlatformRequest(platform_id=created.platform_id)
    ).platform
    assert positive_zero(got.fee_rate), got

    # Its invoices copy the fee rate: 0, so no fee.
    shop = make_shop(server)
    platform = server.caller(make_key(admin, E.ROLE_PLATFORM, created.platform_id))
    plan_id = platform(platform.catalog.CreatePlan, plan_request([shop.product_id])).plan.plan_id
    invoice = subscribe(platform, plan_id).invoice
    assert positive_zero(invoice.plan.platform_fee_rate), invoice.plan
    assert invoice.plan.platform_fee_amount == 0


def test_a_tax_rate_of_minus_zero_is_stored_as_zero(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id, tax_rate=-0.0, tax_behavior=E.TAX_BEHAVIOR_EXCLUSIVE)
    sub, invoice = created.subscription, created.invoice
    assert positive_zero(sub.tax.rate), sub.tax
    assert positive_zero(invoice.tax.rate), invoice.tax
    assert invoice.amounts.tax_amount == 0
    assert positive_zero(get_subscription(p, sub.subscription_id).tax.rate)
    assert positive_zero(get_invoice(p, sub.subscription_id, invoice.invoice_id).tax.rate)

    # Set to 0.0875 and back to -0.0 by UpdateSubscription: 0 again.
    for rate in (0.0875, -0.0):
        updated = p(
            p.subscriptions.UpdateSubscription,
            subscription_pb2.UpdateSubscriptionRequest(
                subscription_id=sub.subscription_id, tax_rate=rate
            ),
        ).subscription
        assert updated.tax.rate == rate
    assert positive_zero(updated.tax.rate), updated.tax
    assert positive_zero(get_subscription(p, sub.subscription_id).tax.rate)
