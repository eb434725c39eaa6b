"""The seed's activation flow over the wire: a paid first invoice opens a
session with one single-use code per app, publishers exchange and confirm
them, codes expire on the test clock and platforms regenerate them."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from bento.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    common_pb2,
    enums_pb2,
    event_pb2,
    event_pb2_grpc,
    invoice_pb2,
    subscription_pb2,
    tenant_pb2,
)
from bento_server.store.database import connect
from bento_server.store.migrations import LATEST_VERSION
from bento_server.store.models import SchemaVersion, Subscription
from tests.billing_support import advance, get_subscription, list_invoices, now, pay, subscribe
from tests.support import (
    Caller,
    RunningServer,
    Tenancy,
    assert_fails,
    handed_out,
    make_tenancy,
    phases,
    plan_request,
    product_request,
    run_cli,
    unique,
)
from tests.test_billing_consistency import events_of

E = enums_pb2
DAY = 86_400
WEEK = timedelta(days=7)
CODE = re.compile(r"AC_[A-Z0-9]{8}_[A-Z0-9]{8}")
NOT_FOUND = grpc.StatusCode.NOT_FOUND
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
INVALID = grpc.StatusCode.INVALID_ARGUMENT
DENIED = grpc.StatusCode.PERMISSION_DENIED
WELL_SHAPED_UNKNOWN_CODE = "AC_ZZZZ0000_0000ZZZZ"
UNKNOWN_SESSION = "AS0000000000000000042"


# --- calling ActivationService ----------------------------------------------------------


def _stub(caller: Caller) -> activation_pb2_grpc.ActivationServiceStub:
    return activation_pb2_grpc.ActivationServiceStub(caller.channel)


def get_session(caller: Caller, session_id: str) -> activation_pb2.ActivationSession:
    return caller(
        _stub(caller).GetActivationSession,
        activation_pb2.GetActivationSessionRequest(activation_session_id=session_id),
    ).activation_session


def exchange(caller: Caller, code: str) -> activation_pb2.ExchangeActivationCodeResponse:
    return caller(
        _stub(caller).ExchangeActivationCode,
        activation_pb2.ExchangeActivationCodeRequest(activation_code=code),
    )


def update_item(
    caller: Caller, session_id: str, app_id: str, status: int, **fields: Any
) -> activation_pb2.UpdateActivationItemResponse:
    return caller(
        _stub(caller).UpdateActivationItem,
        activation_pb2.UpdateActivationItemRequest(
            activation_session_id=session_id, item_id=app_id, status=status, **fields
        ),
    )


def regenerate(
    caller: Caller, session_id: str, **fields: Any
) -> activation_pb2.RegenerateActivationCodesResponse:
    return caller(
        _stub(caller).RegenerateActivationCodes,
        activation_pb2.RegenerateActivationCodesRequest(activation_session_id=session_id, **fields),
    )


def activation_status(caller: Caller, subscription_id: str) -> int:
    return get_subscription(caller, subscription_id).activation_status


def typed_events(caller: Caller, subscription_id: str, event_type: str) -> list[event_pb2.Event]:
    return [e for e in events_of(caller, subscription_id) if e.type == event_type]


def item_jtis(event: event_pb2.Event) -> dict[str, str]:
    """app_id -> jti from an event's `activation_session` snapshot."""
    return {i["app_id"]: i["jti"] for i in event.data["activation_session"]["items"]}


def plus(instant: timestamp_pb2.Timestamp, delta: timedelta) -> timestamp_pb2.Timestamp:
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(instant.ToDatetime() + delta)
    return result


# --- a two-app bundle -------------------------------------------------------------------


@dataclass
class Bundle:
    """A platform selling a plan of two products, one of each of two apps."""

    tenancy: Tenancy
    admin: Caller
    platform: Caller
    products: dict[str, Any]  # app_id -> the created Product
    templates: dict[str, str]  # app_id -> activation_url_template
    app_names: dict[str, str]
    plan_id: str

    @property
    def apps(self) -> list[str]:
        return [self.tenancy.app_id, self.tenancy.other_app_id]

    def publisher_of(self, app_id: str) -> Caller:
        t = self.tenancy
        return t.publisher if app_id == t.app_id else t.other_publisher


def make_bundle(server: RunningServer, **plan_overrides: Any) -> Bundle:
    t = make_tenancy(server)
    products = {}
    templates = {}
    names = {}
    for app_id, publisher, tier in (
        (t.app_id, t.publisher, "basic_tier1"),
        (t.other_app_id, t.other_publisher, "premium_tier2"),
    ):
        metadata = {"tier": tier, "ads_supported": tier.startswith("basic")}
        request = product_request(internal_id=tier, description=f"{tier} plan")
        request.product.metadata.update(metadata)
        products[app_id] = publisher(publisher.catalog.CreateProduct, request).product
        app = t.admin(t.admin.tenant.GetApp, tenant_pb2.GetAppRequest(app_id=app_id)).app
        templates[app_id] = app.activation_url_template
        names[app_id] = app.name
    request = plan_request([products[a].product_id for a in (t.app_id, t.other_app_id)])
    for name, value in plan_overrides.items():
        setattr(request.plan, name, value)
    plan_id = t.platform(t.platform.catalog.CreatePlan, request).plan.plan_id
    return Bundle(t, t.admin, t.platform, products, templates, names, plan_id)


def code_of(bundle: Bundle, url: common_pb2.ActivationUrl) -> str:
    """The code inside an activation URL, checked against the app's template."""
    prefix, _, suffix = bundle.templates[url.app_id].partition("{code}")
    assert url.activation_url.startswith(prefix) and url.activation_url.endswith(suffix), url
    code = url.activation_url[len(prefix) : len(url.activation_url) - len(suffix)]
    assert CODE.fullmatch(code), code
    assert url.activation_url == bundle.templates[url.app_id].replace("{code}", code)
    return handed_out(code)


@dataclass
class Paid:
    """A subscription to a bundle whose first invoice is paid."""

    subscription_id: str
    invoice_id: str
    session_id: str
    codes: dict[str, str]  # app_id -> code
    urls: list[common_pb2.ActivationUrl]
    paid_at: timestamp_pb2.Timestamp


def session_created(caller: Caller, subscription_id: str) -> event_pb2.Event:
    (created,) = typed_events(caller, subscription_id, "activation.session.created")
    return created


def buy(bundle: Bundle) -> Paid:
    p = bundle.platform
    created = subscribe(p, bundle.plan_id)
    sub_id, invoice = created.subscription.subscription_id, created.invoice
    assert list(created.activation_urls) == []  # no trial: nothing until paid
    paid_at = now(bundle.admin)
    response = pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount)
    urls = list(response.activation_urls)
    codes = {u.app_id: code_of(bundle, u) for u in urls}
    event = session_created(p, sub_id)
    return Paid(sub_id, invoice.invoice_id, event.activation_session_id, codes, urls, paid_at)


def reason_of(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, error
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return f"no reason: {error.code()}"


# --- the seed's flow ----------------------------------------------------------------------


def test_paying_a_two_app_bundle_opens_a_session_with_one_code_per_app(
    server: RunningServer,
) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    created = subscribe(p, b.plan_id)
    sub_id, invoice = created.subscription.subscription_id, created.invoice
    assert created.subscription.activation_status == E.ACTIVATION_STATUS_PENDING
    assert list(created.activation_urls) == []
    assert typed_events(p, sub_id, "activation.session.created") == []
    paid_at = now(b.admin)
    response = pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount)

    # One activation URL per app, in the plan's order, valid 7 days.
    urls = list(response.activation_urls)
    assert [u.app_id for u in urls] == b.apps
    for url in urls:
        product = b.products[url.app_id]
        assert (url.app_name, url.product_id, url.product_name) == (
            b.app_names[url.app_id],
            product.product_id,
            product.name,
        )
        assert url.expires_at == plus(paid_at, WEEK)
    codes = {u.app_id: code_of(b, u) for u in urls}
    assert len(set(codes.values())) == 2
    assert activation_status(p, sub_id) == E.ACTIVATION_STATUS_PENDING

    # The platform and each publisher see the session's event with each jti.
    event = session_created(p, sub_id)
    session_id = event.activation_session_id
    assert session_id.startswith("AS")
    assert sorted(event.app_ids) == sorted(b.apps)
    jtis = item_jtis(event)
    assert set(jtis) == set(b.apps) and all(j.startswith("at_") for j in jtis.values())
    assert len(set(jtis.values())) == 2
    assert event.data["activation_session"]["status"] == "pending"
    for publisher in (t.publisher, t.other_publisher):
        assert session_created(publisher, sub_id).event_id == event.event_id
    for code in codes.values():
        assert code not in str(event)

    session = get_session(p, session_id)
    assert get_session(b.admin, session_id) == session
    assert (session.activation_session_id, session.subscription_id, session.invoice_id) == (
        session_id,
        sub_id,
        invoice.invoice_id,
    )
    assert (session.platform_id, session.session_id) == (
        t.platform_id,
        created.subscription.session_id,
    )
    assert session.platform_name.startswith("platform-")
    assert session.status == E.ACTIVATION_STATUS_PENDING
    assert (session.progress.items_total, session.progress.items_activated) == (2, 0)
    assert session.expires_at == plus(paid_at, WEEK)
    assert session.created_at == paid_at
    assert [i.app_id for i in session.activation_items] == b.apps
    for item in session.activation_items:
        product = b.products[item.app_id]
        assert (item.app_name, item.product_id, item.product_name) == (
            b.app_names[item.app_id],
            product.product_id,
            product.name,
        )
        assert item.status == E.ACTIVATION_ITEM_STATUS_PENDING
        assert item.jti == jtis[item.app_id]
        assert item.expires_at == plus(paid_at, WEEK)
        assert not item.HasField("exchanged_at") and not item.HasField("activated_at")
    for code in codes.values():
        assert code not in str(session)
        assert hashlib.sha256(code.encode()).hexdigest() not in str(session)


def test_the_seeds_flow_exchange_and_confirm_both_apps(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    paid = buy(b)
    sub_id, session_id, codes = paid.subscription_id, paid.session_id, paid.codes
    jtis = item_jtis(session_created(p, sub_id))
    platform_name = get_session(p, session_id).platform_name

    # The first publisher exchanges its code.
    advance(b.admin, 600)
    exchanged_at = now(b.admin)
    first = exchange(t.publisher, codes[t.app_id])
    product = b.products[t.app_id]
    assert (first.activation_session_id, first.app_id, first.product_id) == (
        session_id,
        t.app_id,
        product.product_id,
    )
    assert (first.subscription_id, first.platform_id, first.platform_name) == (
        sub_id,
        t.platform_id,
        platform_name,
    )
    assert first.product.product_id == product.product_id
    assert (first.product.product_name, first.product.name) == (product.name, product.name)
    assert (first.product.description, first.product.internal_id) == (
        "basic_tier1 plan",
        "basic_tier1",
    )
    assert (first.product.product_type, first.product.status) == ("streaming", product.status)
    assert dict(first.product.metadata) == {"tier": "basic_tier1", "ads_supported": True}
    assert first.jti == jtis[t.app_id]
    assert first.exchanged_at == exchanged_at
    assert first.expires_at == plus(paid.paid_at, WEEK)
    assert get_session(p, session_id).activation_items[0].exchanged_at == exchanged_at

    confirmed = update_item(
        t.publisher, session_id, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED, user_id="user_123"
    )
    assert confirmed.activation_session_id == session_id
    assert confirmed.activation_session_status == E.ACTIVATION_STATUS_PARTIAL
    item = confirmed.activation_item
    assert (item.app_id, item.status, item.user_id) == (
        t.app_id,
        E.ACTIVATION_ITEM_STATUS_ACTIVATED,
        "user_123",
    )
    assert item.activated_at == exchanged_at and item.exchanged_at == exchanged_at
    partial = get_session(p, session_id)
    assert partial.status == E.ACTIVATION_STATUS_PARTIAL
    assert (partial.progress.items_total, partial.progress.items_activated) == (2, 1)
    assert activation_status(p, sub_id) == E.ACTIVATION_STATUS_PARTIAL

    # The second publisher exchanges and confirms: completed.
    second = exchange(t.other_publisher, codes[t.other_app_id])
    assert (second.app_id, second.jti) == (t.other_app_id, jtis[t.other_app_id])
    assert second.product.internal_id == "premium_tier2"
    done = update_item(
        t.other_publisher,
        session_id,
        t.other_app_id,
        E.ACTIVATION_ITEM_STATUS_ACTIVATED,
        user_id="user_456",
    )
    assert done.activation_session_status == E.ACTIVATION_STATUS_COMPLETED
    completed = get_session(p, session_id)
    assert completed.status == E.ACTIVATION_STATUS_COMPLETED
    assert (completed.progress.items_total, completed.progress.items_activated) == (2, 2)
    assert [i.user_id for i in completed.activation_items] == ["user_123", "user_456"]
    assert activation_status(p, sub_id) == E.ACTIVATION_STATUS_COMPLETED

    updates = typed_events(p, sub_id, "activation.item.updated")
    assert [e.data["activation_item"]["app_id"] for e in updates] == [
        t.app_id,
        t.app_id,
        t.other_app_id,
        t.other_app_id,
    ]
    assert [e.data["change"] for e in updates if "change" in e.data] == ["exchanged"] * 2
    assert updates[-1].data["session_status"] == "completed"


def test_the_subscription_names_its_session_and_follows_it(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    created = subscribe(p, b.plan_id)
    sub_id = created.subscription.subscription_id
    assert created.subscription.activation.activation_session_id == ""
    paid = pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    session_id = session_created(p, sub_id).activation_session_id
    # Every answer with the subscription names its session: no digging in
    # the event log for it.
    sub = get_subscription(p, sub_id)
    assert sub.activation.activation_session_id == session_id
    assert get_session(p, sub.activation.activation_session_id).subscription_id == sub_id
    codes = {u.app_id: code_of(b, u) for u in paid.activation_urls}

    def in_step(expected: int) -> None:
        assert get_session(p, session_id).status == expected
        assert get_subscription(p, sub_id).activation_status == expected

    # An exchange is not an activation: the publisher has still to confirm.
    exchange(t.publisher, codes[t.app_id])
    in_step(E.ACTIVATION_STATUS_PENDING)
    update_item(t.publisher, session_id, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED)
    in_step(E.ACTIVATION_STATUS_PARTIAL)
    exchange(t.other_publisher, codes[t.other_app_id])
    update_item(t.other_publisher, session_id, t.other_app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED)
    in_step(E.ACTIVATION_STATUS_COMPLETED)
    listed = p(
        p.subscriptions.ListSubscriptions,
        subscription_pb2.ListSubscriptionsRequest(session_id=created.subscription.session_id),
    ).subscriptions
    assert [s.activation.activation_session_id for s in listed] == [session_id]


def test_a_plan_change_that_adds_an_app_names_its_new_session(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    # Cheaper than the bundle, so the change leaves an invoice to pay.
    single = plan_request([b.products[t.app_id].product_id], prices={"US": phases((100, None))})
    single_id = p(p.catalog.CreatePlan, single).plan.plan_id
    created = subscribe(p, single_id)
    sub_id = created.subscription.subscription_id
    paid = pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    (url,) = paid.activation_urls
    first = get_subscription(p, sub_id).activation.activation_session_id
    assert first == session_created(p, sub_id).activation_session_id
    exchange(t.publisher, code_of(b, url))
    update_item(t.publisher, first, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED)
    assert activation_status(p, sub_id) == E.ACTIVATION_STATUS_COMPLETED

    # To the bundle: paying the change opens a session for the app it adds.
    changed = p(
        p.subscriptions.UpdateSubscription,
        subscription_pb2.UpdateSubscriptionRequest(subscription_id=sub_id, plan_id=b.plan_id),
    )
    invoice = changed.invoice
    added = pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount)
    (url,) = added.activation_urls
    assert url.app_id == t.other_app_id
    second = get_subscription(p, sub_id).activation.activation_session_id
    assert second not in ("", first)
    assert get_session(p, second).status == E.ACTIVATION_STATUS_PENDING
    # One app activated, one to go, over both sessions: partial, not pending.
    sub = get_subscription(p, sub_id)
    assert (sub.activation.activation_session_id, sub.activation_status) == (
        second,
        E.ACTIVATION_STATUS_PARTIAL,
    )
    # A store from before that rule held pending here: migrating it again
    # gives such a subscription the status its items say.
    store = connect(server.database_url)
    try:
        with store.write():
            Subscription.update(activation_status="pending").where(
                Subscription.id == sub_id
            ).execute()
            SchemaVersion.delete().where(SchemaVersion.version >= 11).execute()
    finally:
        store.close()
    assert activation_status(p, sub_id) == E.ACTIVATION_STATUS_PENDING
    migrated = run_cli("migrate", "--database", server.database_url).stdout
    assert f"schema at version {LATEST_VERSION} (was 10)" in migrated
    assert activation_status(p, sub_id) == E.ACTIVATION_STATUS_PARTIAL
    exchange(t.other_publisher, code_of(b, url))
    update_item(t.other_publisher, second, t.other_app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED)
    assert activation_status(p, sub_id) == E.ACTIVATION_STATUS_COMPLETED


def test_migrating_names_the_sessions_opened_before(server: RunningServer) -> None:
    """Subscriptions from before they named their activation session get
    their latest one when the schema is migrated."""
    b = make_bundle(server)
    p = b.platform
    paid = buy(b)
    regenerate(p, paid.session_id, regenerate_all=True, force=True)
    store = connect(server.database_url)
    try:
        with store.write():
            Subscription.update(activation_session_id=None).execute()
            SchemaVersion.delete().where(SchemaVersion.version >= 9).execute()
    finally:
        store.close()
    assert get_subscription(p, paid.subscription_id).activation.activation_session_id == ""
    assert (
        f"schema at version {LATEST_VERSION} (was 8)"
        in run_cli("migrate", "--database", server.database_url).stdout
    )
    sub = get_subscription(p, paid.subscription_id)
    assert sub.activation.activation_session_id == paid.session_id


def test_update_invoice_paid_returns_activation_urls(server: RunningServer) -> None:
    b = make_bundle(server)
    p = b.platform
    created = subscribe(p, b.plan_id)
    sub_id, invoice_id = created.subscription.subscription_id, created.invoice.invoice_id
    issued_at = now(b.admin)
    updated = p(
        p.invoices.UpdateInvoice,
        invoice_pb2.UpdateInvoiceRequest(
            subscription_id=sub_id, invoice_id=invoice_id, payment_status=E.PAYMENT_STATUS_PAID
        ),
    )
    assert updated.invoice.payment_status == E.PAYMENT_STATUS_PAID
    urls = list(updated.activation_urls)
    assert [u.app_id for u in urls] == b.apps
    assert all(u.expires_at == plus(issued_at, WEEK) for u in urls)
    codes = [code_of(b, u) for u in urls]
    assert len(set(codes)) == 2
    event = session_created(p, sub_id)
    session = get_session(p, event.activation_session_id)
    assert (session.invoice_id, session.status) == (invoice_id, E.ACTIVATION_STATUS_PENDING)
    assert {i.app_id: i.jti for i in session.activation_items} == item_jtis(event)


def test_a_trial_returns_activation_urls_at_once(server: RunningServer) -> None:
    b = make_bundle(server, free_trial_days=7)
    started = now(b.admin)
    created = subscribe(b.platform, b.plan_id)
    assert created.subscription.status == E.SUBSCRIPTION_STATUS_TRIALING
    urls = list(created.activation_urls)
    assert [u.app_id for u in urls] == b.apps
    assert all(u.expires_at == plus(started, WEEK) for u in urls)
    codes = [code_of(b, u) for u in urls]
    assert len(set(codes)) == 2


def test_a_trial_opens_one_session_and_the_first_charge_opens_none(
    server: RunningServer,
) -> None:
    b = make_bundle(server, free_trial_days=7)
    p = b.platform
    started = now(b.admin)
    created = subscribe(p, b.plan_id)
    sub = created.subscription
    assert sub.status == E.SUBSCRIPTION_STATUS_TRIALING
    assert sub.activation_status == E.ACTIVATION_STATUS_PENDING
    event = session_created(p, sub.subscription_id)  # opened at once, not at payment
    session = get_session(p, event.activation_session_id)
    assert session.invoice_id == created.invoice.invoice_id
    assert created.invoice.plan.billing_cycle == 0
    assert [i.app_id for i in session.activation_items] == b.apps
    assert session.expires_at == plus(started, WEEK)

    advance(b.admin, 7 * DAY + 60)  # the trial ends: the first charge is issued
    first_charge = list_invoices(p, sub.subscription_id)[0]
    assert first_charge.plan.billing_cycle == 1
    paid = pay(p, sub.subscription_id, first_charge.invoice_id, first_charge.amounts.total_amount)
    assert list(paid.activation_urls) == []
    assert len(typed_events(p, sub.subscription_id, "activation.session.created")) == 1
    assert get_session(p, event.activation_session_id).invoice_id == created.invoice.invoice_id


# --- refusals -----------------------------------------------------------------------------


def test_unknown_and_foreign_codes_are_not_found(server: RunningServer) -> None:
    b = make_bundle(server)
    t = b.tenancy
    paid = buy(b)
    code = paid.codes[t.app_id]
    unknown = assert_fails(
        lambda: exchange(t.publisher, WELL_SHAPED_UNKNOWN_CODE),
        NOT_FOUND,
        "activation_code_not_found",
    )
    for made_up in ("nonsense", code[:-1] + ("A" if code[-1] != "A" else "B")):
        assert_fails(lambda: exchange(t.publisher, made_up), NOT_FOUND, "activation_code_not_found")
    # Another app's publisher learns nothing, not even that the code exists.
    foreign = assert_fails(
        lambda: exchange(t.other_publisher, code), NOT_FOUND, "activation_code_not_found"
    )
    assert foreign.message == unknown.message
    for platform in (t.platform, t.other_platform):
        assert_fails(lambda: exchange(platform, code), DENIED, "permission_denied")
    assert_fails(lambda: exchange(t.publisher, ""), INVALID, "invalid_argument", "activation_code")
    # Nothing was spent.
    session = get_session(b.platform, paid.session_id)
    assert not any(i.HasField("exchanged_at") for i in session.activation_items)
    assert typed_events(b.platform, paid.subscription_id, "activation.item.updated") == []


def test_an_exchanged_code_is_spent(server: RunningServer) -> None:
    b = make_bundle(server)
    t = b.tenancy
    paid = buy(b)
    code = paid.codes[t.app_id]
    assert exchange(t.publisher, code).app_id == t.app_id
    assert_fails(lambda: exchange(t.publisher, code), PRECONDITION, "activation_code_already_used")
    assert_fails(
        lambda: exchange(t.publisher, f"  {code} "), PRECONDITION, "activation_code_already_used"
    )
    # Still nothing to see for another app's publisher.
    assert_fails(lambda: exchange(t.other_publisher, code), NOT_FOUND, "activation_code_not_found")
    # The other app's code is its own and still unspent.
    assert exchange(t.other_publisher, paid.codes[t.other_app_id]).app_id == t.other_app_id


def test_a_code_is_taken_in_any_case(server: RunningServer) -> None:
    b = make_bundle(server)
    t = b.tenancy
    paid = buy(b)
    code = paid.codes[t.app_id]
    assert code == code.upper()
    got = exchange(t.publisher, f" {code.lower()} ")
    assert (got.activation_session_id, got.app_id) == (paid.session_id, t.app_id)
    # It is the same code: spent, in whatever case it comes again.
    for again in (code, code.lower(), code.capitalize()):
        assert_fails(
            lambda: exchange(t.publisher, again), PRECONDITION, "activation_code_already_used"
        )
    other = paid.codes[t.other_app_id]
    mixed = "".join(c.lower() if n % 2 else c for n, c in enumerate(other))
    assert exchange(t.other_publisher, mixed).app_id == t.other_app_id


def test_update_item_refusals_and_a_failure(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    paid = buy(b)
    sid = paid.session_id
    assert_fails(
        lambda: update_item(t.publisher, sid, t.app_id, E.ACTIVATION_ITEM_STATUS_FAILED),
        INVALID,
        "invalid_argument",
        "error_reason",
    )
    assert_fails(
        lambda: update_item(
            t.publisher, sid, t.app_id, E.ACTIVATION_ITEM_STATUS_FAILED, error_reason="   "
        ),
        INVALID,
        "invalid_argument",
        "error_reason",
    )
    for status in (E.ACTIVATION_ITEM_STATUS_PENDING, E.ACTIVATION_ITEM_STATUS_EXPIRED):
        assert_fails(
            lambda: update_item(t.publisher, sid, t.app_id, status),
            INVALID,
            "invalid_argument",
            "status",
        )
    assert_fails(
        lambda: update_item(t.other_publisher, sid, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED),
        NOT_FOUND,
        "activation_item_not_found",
    )
    assert_fails(
        lambda: update_item(t.other_platform, sid, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED),
        NOT_FOUND,
        "activation_session_not_found",
    )
    untouched = get_session(p, sid)
    assert untouched.status == E.ACTIVATION_STATUS_PENDING
    assert [i.status for i in untouched.activation_items] == [E.ACTIVATION_ITEM_STATUS_PENDING] * 2
    assert typed_events(p, paid.subscription_id, "activation.item.updated") == []

    failed = update_item(
        t.publisher,
        sid,
        t.app_id,
        E.ACTIVATION_ITEM_STATUS_FAILED,
        error_reason="account_creation_failed",
    )
    assert failed.activation_session_status == E.ACTIVATION_STATUS_FAILED
    assert failed.activation_item.status == E.ACTIVATION_ITEM_STATUS_FAILED
    assert failed.activation_item.error_reason == "account_creation_failed"
    session = get_session(p, sid)
    assert session.status == E.ACTIVATION_STATUS_FAILED
    assert session.activation_items[0].error_reason == "account_creation_failed"
    assert (session.progress.items_total, session.progress.items_activated) == (2, 0)
    assert activation_status(p, paid.subscription_id) == E.ACTIVATION_STATUS_FAILED
    (event,) = typed_events(p, paid.subscription_id, "activation.item.updated")
    assert event.data["session_status"] == "failed"
    assert event.data["activation_item"]["error_reason"] == "account_creation_failed"


def test_unknown_and_foreign_sessions_are_not_found(server: RunningServer) -> None:
    b = make_bundle(server)
    t = b.tenancy
    paid = buy(b)
    sid = paid.session_id
    activated = E.ACTIVATION_ITEM_STATUS_ACTIVATED
    for caller in (t.platform, t.publisher, t.admin):
        assert_fails(
            lambda: get_session(caller, UNKNOWN_SESSION),
            NOT_FOUND,
            "activation_session_not_found",
        )
        assert_fails(
            lambda: update_item(caller, UNKNOWN_SESSION, t.app_id, activated),
            NOT_FOUND,
            "activation_session_not_found",
        )
    for caller in (t.platform, t.admin):
        assert_fails(
            lambda: regenerate(caller, UNKNOWN_SESSION, regenerate_all=True, force=True),
            NOT_FOUND,
            "activation_session_not_found",
        )
    # The second platform cannot see, change or regenerate the first one's session.
    o = t.other_platform
    assert_fails(lambda: get_session(o, sid), NOT_FOUND, "activation_session_not_found")
    assert_fails(
        lambda: update_item(o, sid, t.app_id, activated), NOT_FOUND, "activation_session_not_found"
    )
    assert_fails(
        lambda: regenerate(o, sid, regenerate_all=True, force=True),
        NOT_FOUND,
        "activation_session_not_found",
    )
    assert get_session(t.publisher, sid).activation_session_id == sid

    # A session of a single-app plan is not the other publisher's business.
    single = t.platform(
        t.platform.catalog.CreatePlan, plan_request([b.products[t.app_id].product_id])
    ).plan.plan_id
    created = subscribe(t.platform, single)
    sub_id = created.subscription.subscription_id
    response = pay(
        t.platform, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount
    )
    assert [u.app_id for u in response.activation_urls] == [t.app_id]
    lone = session_created(t.platform, sub_id).activation_session_id
    assert_fails(
        lambda: get_session(t.other_publisher, lone), NOT_FOUND, "activation_session_not_found"
    )
    assert_fails(
        lambda: update_item(t.other_publisher, lone, t.other_app_id, activated),
        NOT_FOUND,
        "activation_session_not_found",
    )
    assert [i.app_id for i in get_session(t.publisher, lone).activation_items] == [t.app_id]
    assert get_session(t.platform, lone).status == E.ACTIVATION_STATUS_PENDING


def test_a_publisher_sees_only_its_own_items(server: RunningServer) -> None:
    b = make_bundle(server)
    t = b.tenancy
    paid = buy(b)
    for publisher, app_id in ((t.publisher, t.app_id), (t.other_publisher, t.other_app_id)):
        seen = get_session(publisher, paid.session_id)
        assert [i.app_id for i in seen.activation_items] == [app_id]


def test_activated_at_may_not_be_in_the_future(server: RunningServer) -> None:
    b = make_bundle(server)
    t = b.tenancy
    paid = buy(b)
    tomorrow = plus(now(b.admin), timedelta(days=1))
    assert_fails(
        lambda: update_item(
            t.publisher,
            paid.session_id,
            t.app_id,
            E.ACTIVATION_ITEM_STATUS_ACTIVATED,
            activated_at=tomorrow,
        ),
        INVALID,
        "invalid_argument",
        "activated_at",
    )


# --- expiry -------------------------------------------------------------------------------


def test_codes_expire_after_seven_days(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    paid = buy(b)
    advance(b.admin, 7 * DAY - 60)
    assert get_session(p, paid.session_id).status == E.ACTIVATION_STATUS_PENDING
    advance(b.admin, 120)  # 7 days and a minute
    for app_id, code in paid.codes.items():
        assert_fails(
            lambda: exchange(b.publisher_of(app_id), code), NOT_FOUND, "activation_code_not_found"
        )
    session = get_session(p, paid.session_id)
    assert session.status == E.ACTIVATION_STATUS_EXPIRED
    assert [i.status for i in session.activation_items] == [E.ACTIVATION_ITEM_STATUS_EXPIRED] * 2
    assert (session.progress.items_total, session.progress.items_activated) == (2, 0)
    assert activation_status(p, paid.subscription_id) == E.ACTIVATION_STATUS_EXPIRED
    (expired,) = typed_events(p, paid.subscription_id, "activation.item.updated")
    assert expired.data["change"] == "expired"
    assert sorted(expired.app_ids) == sorted(b.apps)
    # An expired item can no longer be confirmed.
    assert_fails(
        lambda: update_item(
            t.publisher, paid.session_id, t.app_id, E.ACTIVATION_ITEM_STATUS_ACTIVATED
        ),
        PRECONDITION,
        "invalid_status_transition",
    )


# --- regeneration -------------------------------------------------------------------------


def test_regenerating_valid_codes_needs_force(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    paid = buy(b)
    sid = paid.session_id
    assert_fails(lambda: regenerate(p, sid, regenerate_all=True), PRECONDITION, "codes_still_valid")
    assert_fails(lambda: regenerate(p, sid, app_ids=[t.app_id]), PRECONDITION, "codes_still_valid")
    old_jtis = item_jtis(session_created(p, paid.subscription_id))

    advance(b.admin, 3600)
    regenerated_at = now(b.admin)
    response = regenerate(p, sid, regenerate_all=True, force=True)
    assert (response.activation_session_id, response.subscription_id) == (
        sid,
        paid.subscription_id,
    )
    assert response.regenerated_count == 2
    urls = list(response.activation_urls)
    assert [u.app_id for u in urls] == b.apps
    for url, old in zip(urls, paid.urls, strict=True):
        assert (url.app_name, url.product_id, url.product_name) == (
            old.app_name,
            old.product_id,
            old.product_name,
        )
        assert url.expires_at == plus(regenerated_at, WEEK)
        assert url.expires_at != old.expires_at
    codes = {u.app_id: code_of(b, u) for u in urls}
    assert set(codes.values()).isdisjoint(paid.codes.values())

    for app_id, code in paid.codes.items():
        assert_fails(
            lambda: exchange(b.publisher_of(app_id), code), NOT_FOUND, "activation_code_not_found"
        )
    session = get_session(p, sid)
    assert session.status == E.ACTIVATION_STATUS_PENDING
    assert session.expires_at == plus(regenerated_at, WEEK)
    assert all(i.expires_at == plus(regenerated_at, WEEK) for i in session.activation_items)
    new_jtis = {i.app_id: i.jti for i in session.activation_items}
    assert all(new_jtis[a] != old_jtis[a] for a in b.apps)

    (event,) = typed_events(p, paid.subscription_id, "activation.codes.regenerated")
    assert event.activation_session_id == sid
    assert sorted(event.app_ids) == sorted(b.apps)
    assert item_jtis(event) == new_jtis
    for code in [*codes.values(), *paid.codes.values()]:
        assert code not in str(event)
    assert session_created(t.publisher, paid.subscription_id).activation_session_id == sid
    assert [e.event_id for e in typed_events(t.publisher, paid.subscription_id, event.type)] == [
        event.event_id
    ]


def test_regenerated_codes_exchange(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    paid = buy(b)
    advance(b.admin, 3600)
    regenerated_at = now(b.admin)
    response = regenerate(p, paid.session_id, app_ids=[t.other_app_id], force=True)
    (url,) = response.activation_urls
    fresh = code_of(b, url)
    new_jti = get_session(p, paid.session_id).activation_items[1].jti
    got = exchange(t.other_publisher, fresh)
    assert (got.app_id, got.jti) == (t.other_app_id, new_jti)
    assert got.expires_at == plus(regenerated_at, WEEK)
    # The app left alone keeps its first code.
    assert exchange(t.publisher, paid.codes[t.app_id]).app_id == t.app_id


def test_regenerating_one_app_leaves_the_other_alone(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    paid = buy(b)
    before = get_session(p, paid.session_id)
    response = regenerate(b.admin, paid.session_id, app_ids=[t.other_app_id], force=True)
    assert response.regenerated_count == 1
    (url,) = response.activation_urls
    assert url.app_id == t.other_app_id
    assert code_of(b, url) != paid.codes[t.other_app_id]
    assert_fails(
        lambda: exchange(t.other_publisher, paid.codes[t.other_app_id]),
        NOT_FOUND,
        "activation_code_not_found",
    )
    after = get_session(p, paid.session_id)
    assert after.activation_items[0] == before.activation_items[0]
    assert after.activation_items[1].jti != before.activation_items[1].jti
    assert after.status == E.ACTIVATION_STATUS_PENDING
    (event,) = typed_events(p, paid.subscription_id, "activation.codes.regenerated")
    assert list(event.app_ids) == [t.other_app_id]


def test_regenerating_after_expiry_needs_no_force(server: RunningServer) -> None:
    b = make_bundle(server)
    p = b.platform
    paid = buy(b)
    advance(b.admin, 7 * DAY + 60)
    assert get_session(p, paid.session_id).status == E.ACTIVATION_STATUS_EXPIRED
    regenerated_at = now(b.admin)
    response = regenerate(p, paid.session_id, regenerate_all=True)
    assert response.regenerated_count == 2
    assert [u.app_id for u in response.activation_urls] == b.apps
    assert all(u.expires_at == plus(regenerated_at, WEEK) for u in response.activation_urls)
    codes = [code_of(b, u) for u in response.activation_urls]
    assert set(codes).isdisjoint(paid.codes.values())
    session = get_session(p, paid.session_id)
    assert session.status == E.ACTIVATION_STATUS_PENDING
    assert [i.status for i in session.activation_items] == [E.ACTIVATION_ITEM_STATUS_PENDING] * 2
    assert session.expires_at == plus(regenerated_at, WEEK)
    assert activation_status(p, paid.subscription_id) == E.ACTIVATION_STATUS_PENDING


def test_regeneration_refusals(server: RunningServer) -> None:
    b = make_bundle(server)
    t, p = b.tenancy, b.platform
    paid = buy(b)
    sid = paid.session_id
    stranger = b.admin(
        b.admin.tenant.CreateApp,
        tenant_pb2.CreateAppRequest(
            name=unique("app"), activation_url_template="https://x.example/a?c={code}"
        ),
    ).app.app_id
    assert_fails(
        lambda: regenerate(p, sid, app_ids=[t.app_id, stranger], force=True),
        INVALID,
        "invalid_argument",
        "app_ids",
    )
    assert_fails(lambda: regenerate(p, sid), INVALID, "invalid_argument", "app_ids")
    assert_fails(lambda: regenerate(p, sid, force=True), INVALID, "invalid_argument", "app_ids")
    for publisher in (t.publisher, t.other_publisher):
        assert_fails(
            lambda: regenerate(publisher, sid, regenerate_all=True, force=True),
            DENIED,
            "permission_denied",
        )
    # Nothing changed: the first codes are the current ones.
    assert typed_events(p, paid.subscription_id, "activation.codes.regenerated") == []
    session = get_session(p, sid)
    assert {i.app_id: i.jti for i in session.activation_items} == item_jtis(
        session_created(p, paid.subscription_id)
    )
    assert session.expires_at == plus(paid.paid_at, WEEK)


# --- single use under contention ----------------------------------------------------------


def test_twenty_concurrent_exchanges_of_one_code_succeed_once(server: RunningServer) -> None:
    b = make_bundle(server)
    t = b.tenancy
    paid = buy(b)
    code = paid.codes[t.app_id]
    credential = t.publisher.credential
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        caller = server.caller(credential)
        barrier.wait()
        try:
            exchange(caller, code)
            outcome = "exchanged"
        except grpc.RpcError as error:
            outcome = reason_of(error)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("exchanged") == 1, outcomes
    assert outcomes.count("activation_code_already_used") == 19, outcomes
    stub = event_pb2_grpc.EventServiceStub(t.publisher.channel)
    listed = stub.ListEvents(
        event_pb2.ListEventsRequest(
            subscription_id=paid.subscription_id, types=["activation.item.updated"], page_size=100
        ),
        metadata=t.publisher.metadata(),
    ).events
    exchanges = [
        e
        for e in listed
        if e.data["change"] == "exchanged" and e.data["activation_item"]["app_id"] == t.app_id
    ]
    assert len(exchanges) == 1, listed
    jtis = item_jtis(session_created(b.platform, paid.subscription_id))
    assert exchanges[0].data["activation_item"]["jti"] == jtis[t.app_id]


# --- only hashes at rest ------------------------------------------------------------------


def sqlite_bytes(server: RunningServer) -> bytes:
    path = Path(server.database_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_the_database_holds_only_code_hashes(server: RunningServer) -> None:
    if not server.database_url.startswith("sqlite"):
        pytest.skip("reads the database's bytes from its file: SQLite only")
    b = make_bundle(server)
    paid = buy(b)
    regenerated = regenerate(b.platform, paid.session_id, app_ids=[b.tenancy.app_id], force=True)
    current = dict(paid.codes)
    current.update({u.app_id: code_of(b, u) for u in regenerated.activation_urls})
    issued = [*paid.codes.values(), *current.values()]
    assert len(set(issued)) == 3
    stored = sqlite_bytes(server)
    for code in issued:
        assert code.encode() not in stored, code
        assert code.replace("_", "").encode() not in stored, code
    for code in current.values():
        assert hashlib.sha256(code.encode()).hexdigest().encode() in stored, code


def test_an_idempotent_payment_stores_no_code(server: RunningServer) -> None:
    if not server.database_url.startswith("sqlite"):
        pytest.skip("reads the database's bytes from its file: SQLite only")
    b = make_bundle(server)
    p = b.platform
    created = subscribe(p, b.plan_id)
    sub_id, invoice = created.subscription.subscription_id, created.invoice
    response = pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount, key=unique("pay"))
    codes = [code_of(b, u) for u in response.activation_urls]
    assert len(codes) == 2
    stored = sqlite_bytes(server)
    for code in codes:
        assert hashlib.sha256(code.encode()).hexdigest().encode() in stored, code
        assert code.encode() not in stored, code
