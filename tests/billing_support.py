"""Building blocks of the billing tests: a platform with a plan, subscribing, paying."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import timestamp_pb2

from bento.v1 import (
    enums_pb2,
    invoice_pb2,
    payment_pb2,
    subscription_pb2,
    tenant_pb2,
    test_clock_pb2,
)
from tests.support import (
    Caller,
    RunningServer,
    Tenancy,
    make_key,
    make_tenancy,
    plan_request,
    product_request,
    unique,
)


@dataclass
class Shop:
    """A platform (fee 15%) selling plans of one publisher's product."""

    tenancy: Tenancy
    platform: Caller
    admin: Caller
    product_id: str
    plan_id: str

    def plan(self, **overrides: Any) -> str:
        request = plan_request([self.product_id], **overrides)
        return self.platform(self.platform.catalog.CreatePlan, request).plan.plan_id


def make_shop(
    server: RunningServer,
    single_active: bool = False,
    wholesale: bool = True,
    **plan_overrides: Any,
) -> Shop:
    """``wholesale=False``: the product has no wholesale price, so its plans
    may be priced in any currency."""
    tenancy = make_tenancy(server)
    platform = tenancy.platform
    if single_active:
        created = tenancy.admin(
            tenancy.admin.tenant.CreatePlatform,
            tenant_pb2.CreatePlatformRequest(
                name=unique("single"), fee_rate=0.15, single_active_subscription=True
            ),
        ).platform
        platform = server.caller(
            make_key(tenancy.admin, enums_pb2.ROLE_PLATFORM, created.platform_id)
        )
    request = product_request()
    if not wholesale:
        request.product.ClearField("price_wholesale")
    product = tenancy.publisher(tenancy.publisher.catalog.CreateProduct, request).product
    shop = Shop(tenancy, platform, tenancy.admin, product.product_id, "")
    shop.plan_id = shop.plan(**plan_overrides)
    return shop


def subscribe(
    caller: Caller,
    plan_id: str,
    session_id: str | None = None,
    key: str | None = None,
    **fields: Any,
) -> subscription_pb2.CreateSubscriptionResponse:
    request = subscription_pb2.CreateSubscriptionRequest(
        session_id=session_id or unique("session"), plan_id=plan_id, **fields
    )
    return caller(caller.subscriptions.CreateSubscription, request, key=key)


def pay(
    caller: Caller,
    subscription_id: str,
    invoice_id: str,
    amount: int,
    status: int = enums_pb2.PAYMENT_RECORD_STATUS_SUCCEEDED,
    key: str | None = None,
    **fields: Any,
) -> payment_pb2.CreatePaymentResponse:
    request = payment_pb2.CreatePaymentRequest(
        subscription_id=subscription_id,
        invoice_id=invoice_id,
        amount=amount,
        status=status,
        **fields,
    )
    return caller(caller.payments.CreatePayment, request, key=key)


def paid_subscriptions(shop: Shop, count: int) -> list[subscription_pb2.CreateSubscriptionResponse]:
    """``count`` subscriptions of the shop's plan, each first invoice paid in full."""
    created = [subscribe(shop.platform, shop.plan_id) for _ in range(count)]
    for c in created:
        sid = c.subscription.subscription_id
        pay(shop.platform, sid, c.invoice.invoice_id, c.invoice.amounts.total_amount)
    return created


def get_subscription(caller: Caller, subscription_id: str) -> subscription_pb2.Subscription:
    return caller(
        caller.subscriptions.GetSubscription,
        subscription_pb2.GetSubscriptionRequest(subscription_id=subscription_id),
    ).subscription


def get_invoice(caller: Caller, subscription_id: str, invoice_id: str) -> invoice_pb2.Invoice:
    return caller(
        caller.invoices.GetInvoice,
        invoice_pb2.GetInvoiceRequest(subscription_id=subscription_id, invoice_id=invoice_id),
    ).invoice


def list_invoices(caller: Caller, subscription_id: str) -> list[invoice_pb2.Invoice]:
    return list(
        caller(
            caller.invoices.ListInvoices,
            invoice_pb2.ListInvoicesRequest(subscription_id=subscription_id, page_size=100),
        ).invoices
    )


def now(admin: Caller) -> timestamp_pb2.Timestamp:
    return admin(admin.test_clock.GetTime, test_clock_pb2.GetTimeRequest()).now


def advance(admin: Caller, seconds: int) -> timestamp_pb2.Timestamp:
    # The move answers once the server's due work is done: on the session's
    # shared server that is every earlier test's (daily plans renew every
    # day), which in the long run can take more than a usual deadline.
    return admin(
        admin.test_clock.AdvanceTime,
        test_clock_pb2.AdvanceTimeRequest(seconds=seconds),
        timeout=300,
    ).now
