"""What the benchmarks start from: subscriptions on a one-product plan, made
through the API like any client would."""

from __future__ import annotations

import grpc

from bento.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    common_pb2,
    enums_pb2,
    subscription_pb2,
    subscription_pb2_grpc,
    tenant_pb2,
    tenant_pb2_grpc,
)


async def subscriptions(
    channel: grpc.aio.Channel, admin: list[tuple[str, str]], sessions: list[str]
) -> list[subscription_pb2.Subscription]:
    """One subscription per session ID, on a new platform's monthly plan."""
    tenants = tenant_pb2_grpc.TenantServiceStub(channel)
    catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
    subs = subscription_pb2_grpc.SubscriptionServiceStub(channel)
    platform = (
        await tenants.CreatePlatform(tenant_pb2.CreatePlatformRequest(name="bench"), metadata=admin)
    ).platform
    app = (
        await tenants.CreateApp(
            tenant_pb2.CreateAppRequest(name="bench", activation_url_template="https://x/{code}"),
            metadata=admin,
        )
    ).app
    product = (
        await catalog.CreateProduct(
            catalog_pb2.CreateProductRequest(
                product=catalog_pb2.Product(app_id=app.app_id, name="bench")
            ),
            metadata=admin,
        )
    ).product
    phases = catalog_pb2.RegionPrices(
        phases=[
            catalog_pb2.PricePhase(
                order=1, price=common_pb2.Price(price_in_cents=999, currency_code="USD")
            )
        ]
    )
    plan = (
        await catalog.CreatePlan(
            catalog_pb2.CreatePlanRequest(
                plan=catalog_pb2.Plan(
                    platform_id=platform.platform_id,
                    name="bench",
                    product_ids=[product.product_id],
                    billing_frequency=common_pb2.BillingFrequency(
                        unit=enums_pb2.BILLING_UNIT_MONTH, value=1
                    ),
                    prices={"US": phases},
                )
            ),
            metadata=admin,
        )
    ).plan
    return [
        (
            await subs.CreateSubscription(
                subscription_pb2.CreateSubscriptionRequest(
                    session_id=session, plan_id=plan.plan_id
                ),
                metadata=admin,
            )
        ).subscription
        for session in sessions
    ]
