"""Every RPC of every bento.v1 service, called by every kind of caller.

The callers: an admin key; the platform key of the platform that owns the
world below and the key of another platform; the publisher key of the app
whose product the world sells and the key of another app; and callers with
no, a revoked, or a wrong credential. The expected outcome of each (RPC,
caller) pair is written down here, from the roles and tenants that the
protos' doc comments and the README describe, independently of the
server's own role matrix:

- ``OK``: the call succeeds and its answer is about the world's object;
- ``DENIED``: the role may never call the RPC: PERMISSION_DENIED;
- ``hidden(reason)``: the role may call it but the object is another
  tenant's: NOT_FOUND with the object's ``*_not_found`` reason;
- ``UNSEEN``: a listing the caller may make, which leaves the world out;
- ``invalid(field)``: the role may call it but not for the world's tenant:
  INVALID_ARGUMENT naming the field (a webhook endpoint for another tenant).

Nothing refused or hidden carries any of the world's data. Anyone without a
valid credential gets UNAUTHENTICATED, whatever the RPC.

The world: a platform selling a plan of one app's product; a subscription
with its first invoice paid by a payment, hence an activation session with a
code; quota usage and a feature of the subscription's own; a webhook
endpoint of the platform's, made before all that, and its deliveries of the
events all that made. Every refusal is tried first, on the world's own objects, and
then the world must be exactly as it was. Then the permitted callers call,
on fresh objects where a call spends what it touches (a code, a
cancellation, an unpaid invoice).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message

from bento.v1 import (
    activation_pb2,
    catalog_pb2,
    common_pb2,
    entitlement_pb2,
    enums_pb2,
    event_pb2,
    invoice_pb2,
    payment_pb2,
    settlement_pb2,
    subscription_pb2,
    tenant_pb2,
    test_clock_pb2,
    webhook_pb2,
)
from bento_server.services import base as services_base
from tests.billing_support import pay, subscribe
from tests.helpers.paging import every
from tests.helpers.rpcs import rpcs
from tests.support import (
    Caller,
    RunningServer,
    basic,
    failure,
    make_tenancy,
    plan_request,
    product_request,
    start_server,
    unique,
)

E = enums_pb2
PACKAGE = "bento.v1"
PROTOS = Path(__file__).resolve().parent.parent / "protos" / "bento" / "v1"

# --- every RPC, from the generated descriptors ------------------------------------------


RPCS = {rpc.full: rpc for rpc in rpcs()}


def stub(caller: Caller, service: str) -> Any:
    (rpc,) = {r.stub for r in RPCS.values() if r.service == f"{PACKAGE}.{service}"}
    return rpc(caller.channel)


# --- the callers and the outcomes -------------------------------------------------------------

ADMIN = "admin"
PLATFORM = "platform"  # the key of the platform that owns the world
OTHER_PLATFORM = "other platform"
PUBLISHER = "publisher"  # the key of the app whose product the world sells
OTHER_PUBLISHER = "other publisher"
TENANT_CALLERS = (ADMIN, PLATFORM, OTHER_PLATFORM, PUBLISHER, OTHER_PUBLISHER)
NO_CREDENTIAL = "no credential"
REVOKED = "revoked key"
WRONG_SECRET = "wrong secret"
UNAUTHENTICATED_CALLERS = (NO_CREDENTIAL, REVOKED, WRONG_SECRET)
ROLE_OF = {
    ADMIN: "admin",
    PLATFORM: "platform",
    OTHER_PLATFORM: "platform",
    PUBLISHER: "publisher",
    OTHER_PUBLISHER: "publisher",
}


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok, denied, hidden, unseen
    reason: str = ""

    def __repr__(self) -> str:
        return f"{self.kind}({self.reason})" if self.reason else self.kind


OK = Outcome("ok")
DENIED = Outcome("denied")
UNSEEN = Outcome("unseen")


def hidden(reason: str) -> Outcome:
    return Outcome("hidden", reason)


def invalid(field: str) -> Outcome:
    return Outcome("invalid", field)


# --- the world -----------------------------------------------------------------------------


@dataclass
class World:
    server: RunningServer
    callers: dict[str, Caller]
    platform_id: str
    app_id: str
    product_id: str
    product_name: str
    plan_id: str
    plan_name: str
    user: str  # the session_id of the world's subscriber
    subscription_id: str
    invoice_id: str
    payment_id: str
    activation_session_id: str
    code: str
    custom_feature: str
    spare_key_id: str  # a key the refused callers try to revoke
    platform_name: str
    app_name: str
    endpoint_id: str = ""  # the platform's webhook endpoint
    endpoint_url: str = ""
    delivery_id: str = ""  # its delivery of the world's first event
    revoked: str = ""  # KEY_ID:SECRET of a revoked platform key
    wrong: str = ""  # a real key's ID with a wrong secret

    @property
    def owner(self) -> Caller:
        return self.callers[PLATFORM]

    def private(self) -> list[str]:
        """What of the world a caller outside it must never be shown."""
        return [
            self.user,
            self.product_name,
            self.plan_name,
            self.platform_name,
            self.app_name,
            self.code,
            self.endpoint_url,
        ]

    # Fresh objects for the permitted callers of calls that spend what they touch.

    def buy(self, user: str | None = None) -> Paid:
        """A subscription whose first invoice a payment paid: active, with a session."""
        p = self.owner
        created = subscribe(p, self.plan_id, session_id=user)
        sub_id, invoice = created.subscription.subscription_id, created.invoice
        paid = pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount)
        (url,) = paid.activation_urls
        code = url.activation_url.rsplit("=", 1)[1]
        (opened,) = p(
            stub(p, "EventService").ListEvents,
            event_pb2.ListEventsRequest(
                subscription_id=sub_id, types=["activation.session.created"]
            ),
        ).events
        return Paid(
            sub_id,
            invoice.invoice_id,
            paid.payment.payment_id,
            opened.activation_session_id,
            code,
        )

    def unpaid(self) -> tuple[str, str, int]:
        created = subscribe(self.owner, self.plan_id)
        invoice = created.invoice
        return (
            created.subscription.subscription_id,
            invoice.invoice_id,
            invoice.amounts.total_amount,
        )

    def paused(self) -> str:
        sub_id = self.buy().subscription_id
        p = self.owner
        p(
            p.subscriptions.PauseSubscription,
            subscription_pb2.PauseSubscriptionRequest(subscription_id=sub_id),
        )
        return sub_id

    def custom(self) -> str:
        code = unique("custom").replace("-", "_")
        p = self.owner
        p(p.subscriptions.SetSubscriptionFeature, set_feature(self.subscription_id, code))
        return code

    def endpoint(self) -> str:
        """A webhook endpoint of the world's platform."""
        p = self.owner
        return p(
            stub(p, "WebhookService").CreateWebhookEndpoint,
            webhook_pb2.CreateWebhookEndpointRequest(url=hook_url()),
        ).endpoint.endpoint_id

    def spare_key(self) -> str:
        admin = self.callers[ADMIN]
        return admin(
            admin.tenant.CreateApiKey,
            tenant_pb2.CreateApiKeyRequest(role=E.ROLE_PLATFORM, tenant_id=self.platform_id),
        ).key_id


@dataclass(frozen=True)
class Paid:
    subscription_id: str
    invoice_id: str
    payment_id: str
    activation_session_id: str
    code: str


def hook_url() -> str:
    """An https URL on a name that never resolves: the matrix's server sends
    webhooks only to public addresses, and nothing is there to receive."""
    return f"https://{unique('hooks')}.invalid/bento"


def set_feature(subscription_id: str, code: str) -> subscription_pb2.SetSubscriptionFeatureRequest:
    return subscription_pb2.SetSubscriptionFeatureRequest(
        subscription_id=subscription_id,
        feature=common_pb2.Feature(code=code, name="Custom", kind=E.FEATURE_KIND_ACCESS),
    )


def build_world(server: RunningServer) -> World:
    t = make_tenancy(server)
    admin = t.admin
    product = t.publisher(t.publisher.catalog.CreateProduct, product_request()).product
    # The other app sells something too, so its publisher's views are not empty.
    t.other_publisher(t.other_publisher.catalog.CreateProduct, product_request())
    plan = t.platform(
        t.platform.catalog.CreatePlan, plan_request([product.product_id], can_pause=True)
    ).plan
    callers = {
        ADMIN: admin,
        PLATFORM: t.platform,
        OTHER_PLATFORM: t.other_platform,
        PUBLISHER: t.publisher,
        OTHER_PUBLISHER: t.other_publisher,
    }
    world = World(
        server=server,
        callers=callers,
        platform_id=t.platform_id,
        app_id=t.app_id,
        product_id=product.product_id,
        product_name=product.name,
        plan_id=plan.plan_id,
        plan_name=plan.name,
        user=unique("user"),
        subscription_id="",
        invoice_id="",
        payment_id="",
        activation_session_id="",
        code="",
        custom_feature="world_custom",
        spare_key_id="",
        platform_name=admin(
            admin.tenant.GetPlatform, tenant_pb2.GetPlatformRequest(platform_id=t.platform_id)
        ).platform.name,
        app_name=admin(admin.tenant.GetApp, tenant_pb2.GetAppRequest(app_id=t.app_id)).app.name,
    )
    # The platform's endpoint, made first: the world's events are its own.
    world.endpoint_url = hook_url()
    world.endpoint_id = t.platform(
        stub(t.platform, "WebhookService").CreateWebhookEndpoint,
        webhook_pb2.CreateWebhookEndpointRequest(
            url=world.endpoint_url, description="the world's endpoint"
        ),
    ).endpoint.endpoint_id
    paid = world.buy(world.user)
    world.subscription_id, world.invoice_id = paid.subscription_id, paid.invoice_id
    world.payment_id, world.activation_session_id = paid.payment_id, paid.activation_session_id
    world.code = paid.code
    p = t.platform
    p(
        stub(p, "EntitlementService").RecordUsage,
        entitlement_pb2.RecordUsageRequest(
            subscription_id=world.subscription_id, feature_code="downloads", quantity=2
        ),
    )
    p(p.subscriptions.SetSubscriptionFeature, set_feature(world.subscription_id, "world_custom"))
    world.spare_key_id = world.spare_key()
    revoked = admin(
        admin.tenant.CreateApiKey,
        tenant_pb2.CreateApiKeyRequest(role=E.ROLE_PLATFORM, tenant_id=t.platform_id),
    )
    admin(admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id=revoked.key_id))
    world.revoked = f"{revoked.key_id}:{revoked.secret}"
    assert t.platform.credential is not None
    world.wrong = t.platform.credential.split(":")[0] + ":not-the-secret"
    world.delivery_id = first_attempted(world)
    # A platform of its own for the other platform, so its views are not empty.
    other_product = t.other_publisher(
        t.other_publisher.catalog.CreateProduct, product_request()
    ).product
    t.other_platform(t.other_platform.catalog.CreatePlan, plan_request([other_product.product_id]))
    return world


def first_attempted(w: World) -> str:
    """The endpoint's delivery of the world's first event, once every
    delivery of the world's events has had its first attempt (nothing
    listens at the endpoint's URL): until the test clock moves, no more
    attempts are due and the deliveries stay as they are."""
    admin = w.callers[ADMIN]
    list_deliveries = stub(admin, "WebhookService").ListWebhookDeliveries
    request = webhook_pb2.ListWebhookDeliveriesRequest(endpoint_id=w.endpoint_id, page_size=100)
    give_up = time.monotonic() + 30
    while True:
        deliveries = admin(list_deliveries, request).deliveries
        if deliveries and all(d.attempts > 0 for d in deliveries):
            return deliveries[0].delivery_id
        assert time.monotonic() < give_up, f"the world's deliveries were not tried: {deliveries}"
        time.sleep(0.1)


# --- the table ---------------------------------------------------------------------------------

Build = Callable[[World], Message]
Shows = Callable[[World, Any], bool]


@dataclass(frozen=True)
class Case:
    """One RPC: what each caller gets, a request that targets the world,
    and how to tell that an answer is about the world."""

    method: str
    expect: tuple[Outcome, Outcome, Outcome, Outcome, Outcome]  # in TENANT_CALLERS' order
    request: Build
    shows: Shows
    # A request on fresh objects, for the permitted callers of calls that
    # spend what they touch; the refused callers always aim at the world.
    fresh: Build | None = None

    def outcome(self, caller: str) -> Outcome:
        return self.expect[TENANT_CALLERS.index(caller)]


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def admin_only(method: str, request: Build, shows: Shows, fresh: Build | None = None) -> Case:
    return Case(method, (OK, DENIED, DENIED, DENIED, DENIED), request, shows, fresh)


def billing(
    method: str, reason: str, request: Build, shows: Shows, fresh: Build | None = None
) -> Case:
    """Admins and the owning platform; another platform sees nothing."""
    return Case(method, (OK, OK, hidden(reason), DENIED, DENIED), request, shows, fresh)


def sub_shown(w: World, r: Any) -> bool:
    return bool(r.subscription.platform_id == w.platform_id and r.subscription.plan_id == w.plan_id)


def paid_with(paid: Callable[[Paid], Message]) -> Build:
    return lambda w: paid(w.buy())


def events_shown(w: World, r: Any) -> bool:
    return any(e.subscription_id == w.subscription_id for e in r.events)


def mark_paid(subscription_id: str, invoice_id: str) -> invoice_pb2.UpdateInvoiceRequest:
    return invoice_pb2.UpdateInvoiceRequest(
        subscription_id=subscription_id,
        invoice_id=invoice_id,
        payment_status=E.PAYMENT_STATUS_PAID,
    )


def payment(subscription_id: str, invoice_id: str, amount: int) -> payment_pb2.CreatePaymentRequest:
    return payment_pb2.CreatePaymentRequest(
        subscription_id=subscription_id,
        invoice_id=invoice_id,
        amount=amount,
        status=E.PAYMENT_RECORD_STATUS_SUCCEEDED,
    )


def confirm(session_id: str, app_id: str) -> activation_pb2.UpdateActivationItemRequest:
    return activation_pb2.UpdateActivationItemRequest(
        activation_session_id=session_id,
        item_id=app_id,
        status=E.ACTIVATION_ITEM_STATUS_ACTIVATED,
        user_id="matrix-user",
    )


def webhooks(
    method: str, reason: str, request: Build, shows: Shows, fresh: Build | None = None
) -> Case:
    """The platform's own endpoint (or its deliveries): admins and the
    platform; every other tenant, publishers included, finds nothing."""
    return Case(
        W + method, (OK, OK, hidden(reason), hidden(reason), hidden(reason)), request, shows, fresh
    )


ENDPOINT_HIDDEN = "webhook_endpoint_not_found"
DELIVERY_HIDDEN = "webhook_delivery_not_found"

S = "bento.v1.SubscriptionService/"
W = "bento.v1.WebhookService/"
X = "bento.v1.SettlementService/"
# A period that holds every allocation of the world, wherever the test clock is.
EVER = {
    "period_start": timestamp_pb2.Timestamp(seconds=1_577_836_800),  # 2020-01-01
    "period_end": timestamp_pb2.Timestamp(seconds=4_102_444_800),  # 2100-01-01
}
PLATFORM_HIDDEN = "platform_not_found"
APP_HIDDEN = "app_not_found"
CASES = [
    # TenantService: admins only.
    admin_only(
        "bento.v1.TenantService/CreatePlatform",
        lambda w: tenant_pb2.CreatePlatformRequest(name=unique("platform"), fee_rate=0.1),
        lambda w, r: r.platform.platform_id.startswith("PL"),
    ),
    admin_only(
        "bento.v1.TenantService/GetPlatform",
        lambda w: tenant_pb2.GetPlatformRequest(platform_id=w.platform_id),
        lambda w, r: r.platform.name == w.platform_name,
    ),
    admin_only(
        "bento.v1.TenantService/ListPlatforms",
        lambda w: tenant_pb2.ListPlatformsRequest(page_size=100),
        lambda w, r: w.platform_id in [p.platform_id for p in r.platforms],
    ),
    admin_only(
        "bento.v1.TenantService/CreateApp",
        lambda w: tenant_pb2.CreateAppRequest(
            name=unique("app"), activation_url_template="https://x.example/a?c={code}"
        ),
        lambda w, r: r.app.app_id.startswith("AP"),
    ),
    admin_only(
        "bento.v1.TenantService/GetApp",
        lambda w: tenant_pb2.GetAppRequest(app_id=w.app_id),
        lambda w, r: r.app.name == w.app_name,
    ),
    admin_only(
        "bento.v1.TenantService/ListApps",
        lambda w: tenant_pb2.ListAppsRequest(page_size=100),
        lambda w, r: w.app_id in [a.app_id for a in r.apps],
    ),
    admin_only(
        "bento.v1.TenantService/CreateApiKey",
        lambda w: tenant_pb2.CreateApiKeyRequest(role=E.ROLE_PLATFORM, tenant_id=w.platform_id),
        lambda w, r: bool(r.secret) and r.api_key.tenant_id == w.platform_id,
    ),
    admin_only(
        "bento.v1.TenantService/RevokeApiKey",
        lambda w: tenant_pb2.RevokeApiKeyRequest(key_id=w.spare_key_id),
        lambda w, r: r.api_key.HasField("revoked_at"),
        fresh=lambda w: tenant_pb2.RevokeApiKeyRequest(key_id=w.spare_key()),
    ),
    admin_only(
        "bento.v1.TenantService/ListApiKeys",
        lambda w: tenant_pb2.ListApiKeysRequest(tenant_id=w.platform_id, page_size=100),
        lambda w, r: w.spare_key_id in [k.key_id for k in r.api_keys],
    ),
    # CatalogService: publishers keep their app's products, platforms their
    # plans. Platforms read every product: they choose what to bundle.
    Case(
        "bento.v1.CatalogService/CreateProduct",
        (OK, DENIED, DENIED, OK, hidden("app_not_found")),
        lambda w: product_request(app_id=w.app_id),
        lambda w, r: r.product.app_id == w.app_id,
    ),
    Case(
        "bento.v1.CatalogService/GetProduct",
        (OK, OK, OK, OK, hidden("product_not_found")),
        lambda w: catalog_pb2.GetProductRequest(product_id=w.product_id),
        lambda w, r: r.product.name == w.product_name,
    ),
    Case(
        "bento.v1.CatalogService/ListProducts",
        (OK, OK, OK, OK, hidden("app_not_found")),
        lambda w: catalog_pb2.ListProductsRequest(app_id=w.app_id, page_size=100),
        lambda w, r: w.product_id in [p.product_id for p in r.products],
    ),
    Case(
        "bento.v1.CatalogService/UpdateProduct",
        (OK, DENIED, DENIED, OK, hidden("product_not_found")),
        lambda w: catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(product_id=w.product_id, description=unique("d")),
            update_mask=mask("description"),
        ),
        lambda w, r: r.product.name == w.product_name,
    ),
    Case(
        "bento.v1.CatalogService/CreatePlan",
        (OK, OK, hidden("platform_not_found"), DENIED, DENIED),
        lambda w: plan_request([w.product_id], w.platform_id),
        lambda w, r: r.plan.platform_id == w.platform_id,
    ),
    Case(
        "bento.v1.CatalogService/GetPlan",
        (OK, OK, hidden("plan_not_found"), OK, hidden("plan_not_found")),
        lambda w: catalog_pb2.GetPlanRequest(plan_id=w.plan_id),
        lambda w, r: r.plan.name == w.plan_name,
    ),
    Case(
        "bento.v1.CatalogService/ListPlans",
        (OK, OK, UNSEEN, OK, UNSEEN),
        lambda w: catalog_pb2.ListPlansRequest(page_size=100),
        lambda w, r: w.plan_id in [p.plan_id for p in r.plans],
    ),
    Case(
        "bento.v1.CatalogService/UpdatePlan",
        (OK, OK, hidden("plan_not_found"), DENIED, DENIED),
        lambda w: catalog_pb2.UpdatePlanRequest(
            plan=catalog_pb2.Plan(plan_id=w.plan_id, grace_period_days=5),
            update_mask=mask("grace_period_days"),
        ),
        lambda w, r: r.plan.name == w.plan_name,
    ),
    # SubscriptionService: admins and the platform that sells the plan.
    billing(
        S + "CreateSubscription",
        "plan_not_found",
        lambda w: subscription_pb2.CreateSubscriptionRequest(
            session_id=unique("user"), plan_id=w.plan_id
        ),
        sub_shown,
    ),
    billing(
        S + "GetSubscription",
        "subscription_not_found",
        lambda w: subscription_pb2.GetSubscriptionRequest(subscription_id=w.subscription_id),
        lambda w, r: r.subscription.session_id == w.user,
    ),
    Case(
        S + "ListSubscriptions",
        (OK, OK, UNSEEN, DENIED, DENIED),
        lambda w: subscription_pb2.ListSubscriptionsRequest(page_size=100),
        lambda w, r: w.subscription_id in [s.subscription_id for s in r.subscriptions],
    ),
    billing(
        S + "UpdateSubscription",
        "subscription_not_found",
        lambda w: subscription_pb2.UpdateSubscriptionRequest(
            subscription_id=w.subscription_id, payment_method_id=unique("pm")
        ),
        lambda w, r: r.subscription.session_id == w.user,
    ),
    billing(
        S + "CancelSubscription",
        "subscription_not_found",
        lambda w: subscription_pb2.CancelSubscriptionRequest(subscription_id=w.subscription_id),
        lambda w, r: sub_shown(w, r) and r.subscription.cancellation.cancel_at_period_end,
        fresh=paid_with(
            lambda p: subscription_pb2.CancelSubscriptionRequest(subscription_id=p.subscription_id)
        ),
    ),
    billing(
        S + "PauseSubscription",
        "subscription_not_found",
        lambda w: subscription_pb2.PauseSubscriptionRequest(subscription_id=w.subscription_id),
        lambda w, r: sub_shown(w, r) and r.subscription.status == E.SUBSCRIPTION_STATUS_PAUSED,
        fresh=paid_with(
            lambda p: subscription_pb2.PauseSubscriptionRequest(subscription_id=p.subscription_id)
        ),
    ),
    billing(
        S + "ResumeSubscription",
        "subscription_not_found",
        lambda w: subscription_pb2.ResumeSubscriptionRequest(subscription_id=w.subscription_id),
        lambda w, r: sub_shown(w, r) and r.subscription.status == E.SUBSCRIPTION_STATUS_ACTIVE,
        fresh=lambda w: subscription_pb2.ResumeSubscriptionRequest(subscription_id=w.paused()),
    ),
    billing(
        S + "RenewSubscription",
        "subscription_not_found",
        lambda w: subscription_pb2.RenewSubscriptionRequest(
            subscription_id=w.subscription_id, cycles=1
        ),
        lambda w, r: sub_shown(w, r) and len(r.invoices) == 1,
        fresh=paid_with(
            lambda p: subscription_pb2.RenewSubscriptionRequest(
                subscription_id=p.subscription_id, cycles=1
            )
        ),
    ),
    billing(
        S + "ListSubscriptionFeatures",
        "subscription_not_found",
        lambda w: subscription_pb2.ListSubscriptionFeaturesRequest(
            subscription_id=w.subscription_id
        ),
        lambda w, r: w.custom_feature in [f.feature.code for f in r.features],
    ),
    billing(
        S + "SetSubscriptionFeature",
        "subscription_not_found",
        lambda w: set_feature(w.subscription_id, "matrix_set"),
        lambda w, r: r.feature.feature.code == "matrix_set",
    ),
    billing(
        S + "RemoveSubscriptionFeature",
        "subscription_not_found",
        lambda w: subscription_pb2.RemoveSubscriptionFeatureRequest(
            subscription_id=w.subscription_id, feature_code=w.custom_feature
        ),
        lambda w, r: r.feature.feature.code.startswith("custom_"),
        fresh=lambda w: subscription_pb2.RemoveSubscriptionFeatureRequest(
            subscription_id=w.subscription_id, feature_code=w.custom()
        ),
    ),
    billing(
        S + "SyncSubscriptionFeatures",
        "subscription_not_found",
        lambda w: subscription_pb2.SyncSubscriptionFeaturesRequest(
            subscription_id=w.subscription_id
        ),
        lambda w, r: "downloads" in [f.feature.code for f in r.features],
    ),
    # InvoiceService and PaymentService: the same owners.
    billing(
        "bento.v1.InvoiceService/GetInvoice",
        "invoice_not_found",
        lambda w: invoice_pb2.GetInvoiceRequest(
            subscription_id=w.subscription_id, invoice_id=w.invoice_id
        ),
        lambda w, r: r.invoice.session_id == w.user,
    ),
    billing(
        "bento.v1.InvoiceService/ListInvoices",
        "subscription_not_found",
        lambda w: invoice_pb2.ListInvoicesRequest(subscription_id=w.subscription_id),
        lambda w, r: w.invoice_id in [i.invoice_id for i in r.invoices],
    ),
    billing(
        "bento.v1.InvoiceService/UpdateInvoice",
        "subscription_not_found",
        lambda w: mark_paid(w.subscription_id, w.invoice_id),
        lambda w, r: (
            r.invoice.payment_status == E.PAYMENT_STATUS_PAID and len(r.activation_urls) == 1
        ),
        fresh=lambda w: mark_paid(*w.unpaid()[:2]),
    ),
    billing(
        "bento.v1.PaymentService/CreatePayment",
        "subscription_not_found",
        lambda w: payment(w.subscription_id, w.invoice_id, 100),
        lambda w, r: r.payment.platform_id == w.platform_id and len(r.activation_urls) == 1,
        fresh=lambda w: payment(*w.unpaid()),
    ),
    billing(
        "bento.v1.PaymentService/GetPayment",
        "payment_not_found",
        lambda w: payment_pb2.GetPaymentRequest(
            subscription_id=w.subscription_id, invoice_id=w.invoice_id, payment_id=w.payment_id
        ),
        lambda w, r: r.payment.payment_id == w.payment_id,
    ),
    billing(
        "bento.v1.PaymentService/ListPayments",
        "invoice_not_found",
        lambda w: payment_pb2.ListPaymentsRequest(
            subscription_id=w.subscription_id, invoice_id=w.invoice_id
        ),
        lambda w, r: [p.payment_id for p in r.payments] == [w.payment_id],
    ),
    # ActivationService: the session's platform and the publishers of its
    # apps read it and confirm items; publishers exchange codes of their own
    # app; the platform regenerates them.
    Case(
        "bento.v1.ActivationService/GetActivationSession",
        (
            OK,
            OK,
            hidden("activation_session_not_found"),
            OK,
            hidden("activation_session_not_found"),
        ),
        lambda w: activation_pb2.GetActivationSessionRequest(
            activation_session_id=w.activation_session_id
        ),
        lambda w, r: r.activation_session.session_id == w.user,
    ),
    Case(
        "bento.v1.ActivationService/ExchangeActivationCode",
        (OK, DENIED, DENIED, OK, hidden("activation_code_not_found")),
        lambda w: activation_pb2.ExchangeActivationCodeRequest(activation_code=w.code),
        lambda w, r: r.app_id == w.app_id and r.product_id == w.product_id,
        fresh=paid_with(
            lambda p: activation_pb2.ExchangeActivationCodeRequest(activation_code=p.code)
        ),
    ),
    Case(
        "bento.v1.ActivationService/UpdateActivationItem",
        (
            OK,
            OK,
            hidden("activation_session_not_found"),
            OK,
            hidden("activation_session_not_found"),
        ),
        lambda w: confirm(w.activation_session_id, w.app_id),
        lambda w, r: (
            r.activation_item.app_id == w.app_id
            and r.activation_session_status == E.ACTIVATION_STATUS_COMPLETED
        ),
        fresh=lambda w: confirm(w.buy().activation_session_id, w.app_id),
    ),
    Case(
        "bento.v1.ActivationService/RegenerateActivationCodes",
        (OK, OK, hidden("activation_session_not_found"), DENIED, DENIED),
        lambda w: activation_pb2.RegenerateActivationCodesRequest(
            activation_session_id=w.activation_session_id, regenerate_all=True, force=True
        ),
        lambda w, r: r.subscription_id.startswith("SUB") and len(r.activation_urls) == 1,
        fresh=paid_with(
            lambda p: activation_pb2.RegenerateActivationCodesRequest(
                activation_session_id=p.activation_session_id, regenerate_all=True, force=True
            )
        ),
    ),
    # EntitlementService: a platform's questions about its own users.
    billing(
        "bento.v1.EntitlementService/CheckAccess",
        "platform_not_found",
        lambda w: entitlement_pb2.CheckAccessRequest(
            session_id=w.user, product_id=w.product_id, platform_id=w.platform_id
        ),
        lambda w, r: r.allowed and r.subscription_id == w.subscription_id,
    ),
    billing(
        "bento.v1.EntitlementService/ListEntitlements",
        "platform_not_found",
        lambda w: entitlement_pb2.ListEntitlementsRequest(
            session_id=w.user, platform_id=w.platform_id
        ),
        lambda w, r: w.subscription_id in [e.subscription_id for e in r.entitlements],
    ),
    billing(
        "bento.v1.EntitlementService/RecordUsage",
        "subscription_not_found",
        lambda w: entitlement_pb2.RecordUsageRequest(
            subscription_id=w.subscription_id, feature_code="downloads", quantity=1
        ),
        lambda w, r: r.subscription_id == w.subscription_id and r.limit == 10,
    ),
    billing(
        "bento.v1.EntitlementService/GetUsage",
        "subscription_not_found",
        lambda w: entitlement_pb2.GetUsageRequest(subscription_id=w.subscription_id),
        lambda w, r: "downloads" in [u.feature_code for u in r.usages],
    ),
    # EventService: everyone, each seeing only its own.
    Case(
        "bento.v1.EventService/ListEvents",
        (OK, OK, UNSEEN, OK, UNSEEN),
        lambda w: event_pb2.ListEventsRequest(page_size=100),
        events_shown,
    ),
    Case(
        "bento.v1.EventService/WatchEvents",
        (OK, OK, UNSEEN, OK, UNSEEN),
        lambda w: event_pb2.WatchEventsRequest(),
        events_shown,
    ),
    # TestClockService: admins only.
    admin_only(
        "bento.v1.TestClockService/GetTime",
        lambda w: test_clock_pb2.GetTimeRequest(),
        lambda w, r: r.now.seconds > 0,
    ),
    admin_only(
        "bento.v1.TestClockService/AdvanceTime",
        lambda w: test_clock_pb2.AdvanceTimeRequest(seconds=1),
        lambda w, r: r.now.seconds > 0,
    ),
    # WebhookService: every role keeps the endpoints of its own tenant, and
    # admins any; only admins make one for another tenant.
    Case(
        W + "CreateWebhookEndpoint",
        (OK, OK, invalid("tenant_id"), invalid("tenant_id"), invalid("tenant_id")),
        lambda w: webhook_pb2.CreateWebhookEndpointRequest(url=hook_url(), tenant_id=w.platform_id),
        lambda w, r: r.endpoint.tenant_id == w.platform_id and r.secret.startswith("whsec_"),
    ),
    webhooks(
        "GetWebhookEndpoint",
        ENDPOINT_HIDDEN,
        lambda w: webhook_pb2.GetWebhookEndpointRequest(endpoint_id=w.endpoint_id),
        lambda w, r: r.endpoint.url == w.endpoint_url,
    ),
    Case(
        W + "ListWebhookEndpoints",
        (OK, OK, UNSEEN, UNSEEN, UNSEEN),
        lambda w: webhook_pb2.ListWebhookEndpointsRequest(page_size=100),
        lambda w, r: w.endpoint_id in [e.endpoint_id for e in r.endpoints],
    ),
    webhooks(
        "UpdateWebhookEndpoint",
        ENDPOINT_HIDDEN,
        lambda w: webhook_pb2.UpdateWebhookEndpointRequest(
            endpoint=webhook_pb2.WebhookEndpoint(
                endpoint_id=w.endpoint_id, description=unique("d")
            ),
            update_mask=mask("description"),
        ),
        lambda w, r: r.endpoint.url == w.endpoint_url,
    ),
    webhooks(
        "RotateWebhookSecret",
        ENDPOINT_HIDDEN,
        lambda w: webhook_pb2.RotateWebhookSecretRequest(endpoint_id=w.endpoint_id),
        lambda w, r: r.endpoint.url == w.endpoint_url and r.secret.startswith("whsec_"),
    ),
    webhooks(
        "DeleteWebhookEndpoint",
        ENDPOINT_HIDDEN,
        lambda w: webhook_pb2.DeleteWebhookEndpointRequest(endpoint_id=w.endpoint_id),
        lambda w, r: r.endpoint.tenant_id == w.platform_id,
        fresh=lambda w: webhook_pb2.DeleteWebhookEndpointRequest(endpoint_id=w.endpoint()),
    ),
    webhooks(
        "ListWebhookDeliveries",
        ENDPOINT_HIDDEN,
        lambda w: webhook_pb2.ListWebhookDeliveriesRequest(
            endpoint_id=w.endpoint_id, page_size=100
        ),
        lambda w, r: w.delivery_id in [d.delivery_id for d in r.deliveries],
    ),
    webhooks(
        "RetryWebhookDelivery",
        DELIVERY_HIDDEN,
        lambda w: webhook_pb2.RetryWebhookDeliveryRequest(delivery_id=w.delivery_id),
        lambda w, r: (
            r.delivery.endpoint_id == w.endpoint_id
            and r.delivery.state == webhook_pb2.WEBHOOK_DELIVERY_STATE_PENDING
        ),
    ),
    webhooks(
        "ReplayWebhookEvents",
        ENDPOINT_HIDDEN,
        lambda w: webhook_pb2.ReplayWebhookEventsRequest(endpoint_id=w.endpoint_id),
        lambda w, r: r.scheduled > 0,
    ),
    webhooks(
        "SendTestWebhook",
        ENDPOINT_HIDDEN,
        lambda w: webhook_pb2.SendTestWebhookRequest(endpoint_id=w.endpoint_id),
        # Nothing answers at the endpoint's URL: the answer says why.
        lambda w, r: (
            not r.delivered and r.status_code == 0 and w.endpoint_url.split("/")[2] in r.error
        ),
    ),
    # SettlementService: platforms read their platform's statements,
    # publishers their app's, admins any; every other tenant finds nothing.
    Case(
        X + "GetStatement",
        (OK, OK, hidden(PLATFORM_HIDDEN), hidden(PLATFORM_HIDDEN), hidden(PLATFORM_HIDDEN)),
        lambda w: settlement_pb2.GetStatementRequest(tenant_id=w.platform_id, **EVER),
        lambda w, r: any(
            line.plan_id == w.plan_id and line.counterpart_id == w.app_id
            for line in r.statement.lines
        ),
    ),
    Case(
        X + "ListAllocations",
        (OK, hidden(APP_HIDDEN), hidden(APP_HIDDEN), OK, hidden(APP_HIDDEN)),
        lambda w: settlement_pb2.ListAllocationsRequest(tenant_id=w.app_id, page_size=100, **EVER),
        lambda w, r: any(
            a.subscription_id == w.subscription_id
            and [s.app_id for s in a.publisher_shares] == [w.app_id]
            for a in r.allocations
        ),
    ),
]


# --- calling -------------------------------------------------------------------------------------


def metadata_of(w: World, who: str) -> list[tuple[str, str]]:
    if who in TENANT_CALLERS:
        return w.callers[who].metadata()
    if who == NO_CREDENTIAL:
        return []
    return [("authorization", basic(w.revoked if who == REVOKED else w.wrong))]


def invoke(w: World, method: str, request: Message, who: str, key: str | None = None) -> Any:
    rpc = RPCS[method]
    assert request.DESCRIPTOR.full_name == rpc.input.full_name, (
        method,
        request.DESCRIPTOR.full_name,
    )
    call = getattr(rpc.stub(w.callers[ADMIN].channel), rpc.name)
    metadata = metadata_of(w, who)
    if key is not None:
        metadata.append(("idempotency-key", key))
    if not rpc.server_streaming:
        return call(request, metadata=metadata, timeout=30)
    # WatchEvents: the replay, up to the heartbeat that ends it.
    stream = call(request, metadata=metadata, timeout=30)
    replayed = []
    try:
        for message in stream:
            if message.HasField("heartbeat"):
                break
            replayed.append(message.event)
    finally:
        stream.cancel()
    return event_pb2.ListEventsResponse(events=replayed)


STATUS_OF = {
    DENIED.kind: (grpc.StatusCode.PERMISSION_DENIED, "permission_denied"),
    "unauthenticated": (grpc.StatusCode.UNAUTHENTICATED, "unauthenticated"),
    "revoked": (grpc.StatusCode.UNAUTHENTICATED, "api_key_revoked"),
}


def unauthenticated(who: str) -> Outcome:
    return Outcome("revoked" if who == REVOKED else "unauthenticated")


def leaks(w: World, text: str) -> list[str]:
    return [private for private in w.private() if private in text]


def short(message: Any) -> str:
    text = " ".join(str(message).split())
    return text if len(text) < 300 else text[:300] + "..."


def refused(
    w: World,
    case: Case,
    who: str,
    expected: Outcome,
    request: Message | None = None,
    key: str | None = None,
) -> str | None:
    """Makes a call that must not reach the world; returns what went wrong."""
    if request is None:
        request = case.request(w)
    if expected == UNSEEN:
        try:
            response = invoke(w, case.method, request, who, key)
        except grpc.RpcError as error:
            return f"failed {error.code()}: {error.details()}"
        if case.shows(w, response) or leaks(w, str(response)):
            return f"shows the world: {leaks(w, str(response))} in {short(response)}"
        return None
    try:
        got = failure(lambda: invoke(w, case.method, request, who, key))
    except AssertionError:
        return "succeeded"
    if expected.kind == "hidden":
        want = (grpc.StatusCode.NOT_FOUND, expected.reason)
    elif expected.kind == "invalid":
        want = (grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument")
    else:
        want = STATUS_OF[expected.kind]
    if (got.code, got.reason, got.domain) != (*want, "bento"):
        return f"got {got.code.name} {got.reason!r}: {got.message}"
    if expected.kind == "invalid" and list(got.fields) != [expected.reason]:
        return f"INVALID_ARGUMENT names {sorted(got.fields)}, not only {expected.reason}"
    said = got.message + repr(got.fields)
    if leaks(w, said):
        return f"the error tells {leaks(w, said)}: {said}"
    return None


def reraise(error: BaseException) -> None:
    raise error


def permitted(w: World, case: Case, who: str) -> str | None:
    request = (case.fresh or case.request)(w)
    try:
        response = invoke(w, case.method, request, who)
    except grpc.RpcError as error:
        caught = error
        got = failure(lambda: reraise(caught))
        return f"failed {got.code.name} {got.reason!r}: {got.message}"
    if not case.shows(w, response):
        return f"answered without the world's object: {short(response)}"
    return None


# --- the world, as the admin sees it ---------------------------------------------------------


def every_event(w: World) -> list[str]:
    admin = w.callers[ADMIN]
    list_events = partial(admin, stub(admin, "EventService").ListEvents)
    return [
        str(e) for e in every(list_events, event_pb2.ListEventsRequest(page_size=100), "events")
    ]


def snapshot(w: World) -> list[str]:
    """Everything the refused calls could have touched."""
    reads: list[tuple[str, Message]] = [
        ("TenantService/ListPlatforms", tenant_pb2.ListPlatformsRequest(page_size=100)),
        ("TenantService/ListApps", tenant_pb2.ListAppsRequest(page_size=100)),
        (
            "TenantService/ListApiKeys",
            tenant_pb2.ListApiKeysRequest(include_revoked=True, page_size=100),
        ),
        ("CatalogService/ListProducts", catalog_pb2.ListProductsRequest(page_size=100)),
        ("CatalogService/ListPlans", catalog_pb2.ListPlansRequest(page_size=100)),
        ("CatalogService/GetProduct", catalog_pb2.GetProductRequest(product_id=w.product_id)),
        ("CatalogService/GetPlan", catalog_pb2.GetPlanRequest(plan_id=w.plan_id)),
        (
            "SubscriptionService/ListSubscriptions",
            subscription_pb2.ListSubscriptionsRequest(page_size=100),
        ),
        (
            "SubscriptionService/ListSubscriptionFeatures",
            subscription_pb2.ListSubscriptionFeaturesRequest(subscription_id=w.subscription_id),
        ),
        (
            "InvoiceService/ListInvoices",
            invoice_pb2.ListInvoicesRequest(subscription_id=w.subscription_id),
        ),
        (
            "PaymentService/ListPayments",
            payment_pb2.ListPaymentsRequest(
                subscription_id=w.subscription_id, invoice_id=w.invoice_id
            ),
        ),
        (
            "ActivationService/GetActivationSession",
            activation_pb2.GetActivationSessionRequest(
                activation_session_id=w.activation_session_id
            ),
        ),
        (
            "EntitlementService/GetUsage",
            entitlement_pb2.GetUsageRequest(subscription_id=w.subscription_id),
        ),
        ("TestClockService/GetTime", test_clock_pb2.GetTimeRequest()),
        ("WebhookService/ListWebhookEndpoints", webhook_pb2.ListWebhookEndpointsRequest()),
        (
            "WebhookService/ListWebhookDeliveries",
            webhook_pb2.ListWebhookDeliveriesRequest(page_size=100),
        ),
    ]
    seen = [str(invoke(w, f"{PACKAGE}.{method}", request, ADMIN)) for method, request in reads]
    return seen + every_event(w)


# --- the tests ------------------------------------------------------------------------------------


def test_the_table_names_every_rpc_once() -> None:
    # The generated descriptors hold what the protos declare: stale stubs
    # cannot hide an RPC from the table.
    declared = set()
    for proto in sorted(PROTOS.glob("*.proto")):
        text = proto.read_text()
        for service, body in re.findall(r"^service (\w+) \{(.*?)^\}", text, re.M | re.S):
            declared |= {f"{PACKAGE}.{service}/{rpc}" for rpc in re.findall(r"rpc (\w+)\(", body)}
    assert declared and set(RPCS) == declared
    methods = [case.method for case in CASES]
    assert len(methods) == len(set(methods)), "an RPC is in the table twice"
    assert set(methods) == set(RPCS), (
        f"missing from the table: {sorted(set(RPCS) - set(methods))}; "
        f"not an RPC: {sorted(set(methods) - set(RPCS))}"
    )


def test_every_read_is_declared_a_read_in_the_protos() -> None:
    """The protos are the one place that says which RPCs change state: the
    server, the clients and this matrix read ``idempotency_level`` from the
    descriptors. A read that forgot the option would run as a mutation (a
    write transaction, its answer stored under the caller's key), so every
    RPC whose name says it reads must declare it, and nothing else may."""
    reads = {m for m in RPCS if m.rsplit("/", 1)[1].startswith(("Get", "List", "Check", "Watch"))}
    declared = {m for m in RPCS if not services_base.is_mutation(m)}
    # Sending a test webhook twice is harmless: it is declared IDEMPOTENT.
    assert declared == reads | {f"{PACKAGE}.WebhookService/SendTestWebhook"}
    assert len(reads) > 20


def test_the_table_agrees_with_the_servers_roles() -> None:
    """Which roles may call what, as the table says and as the server's own
    matrix says: two accounts that must agree."""
    from bento_server.services.authorization import allowed_roles

    for case in CASES:
        for mine, other in ((PLATFORM, OTHER_PLATFORM), (PUBLISHER, OTHER_PUBLISHER)):
            # A role is refused whole or not at all: the tenant never matters.
            assert (case.outcome(mine) == DENIED) == (case.outcome(other) == DENIED), case
        assert case.outcome(ADMIN) == OK, case
        roles = {ROLE_OF[who] for who in TENANT_CALLERS if case.outcome(who) != DENIED}
        assert roles == set(allowed_roles(f"/{case.method}")), case.method


@pytest.fixture
def world(fresh_backend_url: str, tmp_path: Path) -> Iterator[World]:
    server = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        yield build_world(server)
    finally:
        server.stop()


def test_every_rpc_for_every_caller(world: World) -> None:
    w = world
    wrong: list[str] = []
    before = snapshot(w)
    # Every refusal first, aimed at the world's own objects.
    for case in CASES:
        for who in UNAUTHENTICATED_CALLERS:
            problem = refused(w, case, who, unauthenticated(who))
            if problem:
                wrong.append(f"{case.method} as {who}: {problem}")
        for who in TENANT_CALLERS:
            expected = case.outcome(who)
            if expected != OK:
                problem = refused(w, case, who, expected)
                if problem:
                    wrong.append(f"{case.method} as {who} (expected {expected}): {problem}")
    after = snapshot(w)
    changed = [f"{b}\n  became\n{a}" for b, a in zip(before, after, strict=False) if a != b]
    assert len(after) == len(before) and not changed, (
        "refused calls changed the world:\n" + "\n".join(changed)
    )
    # Then the permitted callers.
    for case in CASES:
        for who in TENANT_CALLERS:
            if case.outcome(who) == OK:
                problem = permitted(w, case, who)
                if problem:
                    wrong.append(f"{case.method} as {who} (expected ok): {problem}")
    # An idempotency key belongs to its caller: another caller sending the
    # same key and request is judged afresh, never handed the stored answer.
    for case in CASES:
        if not is_mutating(case.method):
            continue
        owner = next((c for c in TENANT_CALLERS[1:] if case.outcome(c) == OK), ADMIN)
        request = (case.fresh or case.request)(w)
        key = unique("matrix")
        first = invoke(w, case.method, request, owner, key)
        for who in UNAUTHENTICATED_CALLERS:
            problem = refused(w, case, who, unauthenticated(who), request, key)
            if problem:
                wrong.append(f"{case.method} as {who} with {owner}'s key: {problem}")
        for who in TENANT_CALLERS:
            expected = case.outcome(who)
            if expected != OK:
                problem = refused(w, case, who, expected, request, key)
                if problem:
                    wrong.append(f"{case.method} as {who} with {owner}'s key: {problem}")
        if invoke(w, case.method, request, owner, key) != without_secrets(first):
            wrong.append(f"{case.method}: the replay as {owner} is not the first answer")
    assert not wrong, "\n".join(wrong)


def without_secrets(answer: Message) -> Message:
    """An answer as a replay gives it: codes and secrets are shown only once."""
    replayed = type(answer)()
    replayed.CopyFrom(answer)
    for name in ("activation_urls", "secret"):
        if name in replayed.DESCRIPTOR.fields_by_name:
            replayed.ClearField(name)
    return replayed


def is_mutating(method: str) -> bool:
    """As the protos declare it: the same rule as the server's and clients'."""
    return services_base.is_mutation(method)
