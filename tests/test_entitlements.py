"""Entitlements and quotas over the wire: checks as the server answers
them (the access cache and batched reads on PostgreSQL, every change seen
by the very next check, refusals of bad requests, scoping to the caller);
quota usage, overrides, re-syncs and resets. Every reason a check gives is
tests/usecases/test_entitlements.py's."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import timestamp_pb2

from bento.v1 import (
    common_pb2,
    entitlement_pb2,
    entitlement_pb2_grpc,
    enums_pb2,
    subscription_pb2,
)
from tests.billing_support import (
    Shop,
    get_subscription,
    make_shop,
    now,
    pay,
    subscribe,
)
from tests.support import (
    Caller,
    RunningServer,
    assert_fails,
    failure,
    product_request,
    unique,
)
from tests.test_billing_clock import advance_to
from tests.test_billing_consistency import events_of

E = enums_pb2
S = subscription_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DAY = 86_400

ACTIVE = E.ACCESS_REASON_SUBSCRIPTION_ACTIVE
TRIALING = E.ACCESS_REASON_TRIALING
GRACE = E.ACCESS_REASON_GRACE_PERIOD
CANCELED = E.ACCESS_REASON_CANCELED_UNTIL_PERIOD_END
FREE = E.ACCESS_REASON_FREE_PLAN
NO_SUBSCRIPTION = E.ACCESS_REASON_NO_SUBSCRIPTION
PAUSED = E.ACCESS_REASON_PAUSED
UNPAID = E.ACCESS_REASON_UNPAID
ENDED = E.ACCESS_REASON_ENDED


# --- helpers ----------------------------------------------------------------


def stub(caller: Caller) -> entitlement_pb2_grpc.EntitlementServiceStub:
    return entitlement_pb2_grpc.EntitlementServiceStub(caller.channel)


def check(
    caller: Caller,
    session_id: str,
    *,
    product_id: str | None = None,
    feature_code: str | None = None,
    platform_id: str = "",
) -> entitlement_pb2.CheckAccessResponse:
    request = entitlement_pb2.CheckAccessRequest(session_id=session_id, platform_id=platform_id)
    if product_id is not None:
        request.product_id = product_id
    if feature_code is not None:
        request.feature_code = feature_code
    return stub(caller).CheckAccess(request, metadata=caller.metadata(), timeout=30)


def check_both(
    caller: Caller, session_id: str, product_id: str, platform_id: str = ""
) -> entitlement_pb2.CheckAccessResponse:
    """Checks the product and its features `hd` and `downloads`; all three must agree."""
    by_product = check(caller, session_id, product_id=product_id, platform_id=platform_id)
    for code in ("hd", "downloads"):
        by_feature = check(caller, session_id, feature_code=code, platform_id=platform_id)
        assert by_feature == by_product, (code, by_feature, by_product)
    return by_product


def answer(
    allowed: bool,
    reason: int,
    subscription_id: str = "",
    plan_id: str = "",
    expires_at: timestamp_pb2.Timestamp | None = None,
) -> entitlement_pb2.CheckAccessResponse:
    return entitlement_pb2.CheckAccessResponse(
        allowed=allowed,
        reason=reason,
        subscription_id=subscription_id,
        plan_id=plan_id,
        expires_at=expires_at,
    )


def entitlements(
    caller: Caller, session_id: str, platform_id: str = ""
) -> list[entitlement_pb2.Entitlement]:
    return list(
        stub(caller)
        .ListEntitlements(
            entitlement_pb2.ListEntitlementsRequest(session_id=session_id, platform_id=platform_id),
            metadata=caller.metadata(),
            timeout=30,
        )
        .entitlements
    )


def record(
    caller: Caller, subscription_id: str, code: str, quantity: int, key: str | None = None
) -> entitlement_pb2.RecordUsageResponse:
    return stub(caller).RecordUsage(
        entitlement_pb2.RecordUsageRequest(
            subscription_id=subscription_id, feature_code=code, quantity=quantity
        ),
        metadata=caller.metadata(key),
        timeout=30,
    )


def usage(
    caller: Caller, subscription_id: str, code: str = ""
) -> list[entitlement_pb2.FeatureUsage]:
    return list(
        stub(caller)
        .GetUsage(
            entitlement_pb2.GetUsageRequest(subscription_id=subscription_id, feature_code=code),
            metadata=caller.metadata(),
            timeout=30,
        )
        .usages
    )


def used(caller: Caller, subscription_id: str, code: str = "downloads") -> int:
    (found,) = usage(caller, subscription_id, code)
    return found.used


def quota(
    code: str, limit: int, reset: int = E.RESET_INTERVAL_MONTH, name: str = ""
) -> common_pb2.Feature:
    return common_pb2.Feature(
        code=code, name=name, kind=E.FEATURE_KIND_QUOTA, limit=limit, reset_interval=reset
    )


def set_feature(
    caller: Caller, subscription_id: str, feature: common_pb2.Feature
) -> subscription_pb2.SubscriptionFeature:
    return caller(
        caller.subscriptions.SetSubscriptionFeature,
        subscription_pb2.SetSubscriptionFeatureRequest(
            subscription_id=subscription_id, feature=feature
        ),
    ).feature


def remove_feature(
    caller: Caller, subscription_id: str, code: str
) -> subscription_pb2.SubscriptionFeature:
    return caller(
        caller.subscriptions.RemoveSubscriptionFeature,
        subscription_pb2.RemoveSubscriptionFeatureRequest(
            subscription_id=subscription_id, feature_code=code
        ),
    ).feature


def features(caller: Caller, subscription_id: str) -> list[subscription_pb2.SubscriptionFeature]:
    return list(
        caller(
            caller.subscriptions.ListSubscriptionFeatures,
            subscription_pb2.ListSubscriptionFeaturesRequest(subscription_id=subscription_id),
        ).features
    )


def sync_features(
    caller: Caller, subscription_id: str
) -> list[subscription_pb2.SubscriptionFeature]:
    return list(
        caller(
            caller.subscriptions.SyncSubscriptionFeatures,
            subscription_pb2.SyncSubscriptionFeaturesRequest(subscription_id=subscription_id),
        ).features
    )


def cancel(
    caller: Caller, subscription_id: str, cancel_now: bool = False
) -> subscription_pb2.Subscription:
    return caller(
        caller.subscriptions.CancelSubscription,
        subscription_pb2.CancelSubscriptionRequest(
            subscription_id=subscription_id, cancel_now=cancel_now
        ),
    ).subscription


def pause(caller: Caller, subscription_id: str) -> subscription_pb2.Subscription:
    return caller(
        caller.subscriptions.PauseSubscription,
        subscription_pb2.PauseSubscriptionRequest(subscription_id=subscription_id),
    ).subscription


def paid(shop: Shop, plan_id: str = "", session_id: str = "") -> subscription_pb2.Subscription:
    """A subscription to ``plan_id`` (default: the shop's plan) with its first invoice paid."""
    p = shop.platform
    created = subscribe(p, plan_id or shop.plan_id, session_id=session_id or None)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    return get_subscription(p, sub_id)


def other_product(shop: Shop) -> str:
    publisher = shop.tenancy.publisher
    return publisher(publisher.catalog.CreateProduct, product_request()).product.product_id


def at(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def rethrown_reason(error: grpc.RpcError) -> str:
    def rethrow() -> None:
        raise error

    return failure(rethrow).reason


# --- CheckAccess: what the server adds --------------------------------------


def test_a_change_is_visible_to_the_very_next_check(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sub_id, session_id = created.subscription.subscription_id, created.subscription.session_id
    assert not check(p, session_id, product_id=shop.product_id).allowed
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    got = check(p, session_id, product_id=shop.product_id)
    assert (got.allowed, got.reason, got.subscription_id) == (True, ACTIVE, sub_id)
    cancel(p, sub_id, cancel_now=True)
    got = check(p, session_id, product_id=shop.product_id)
    assert (got.allowed, got.reason, got.subscription_id) == (False, ENDED, sub_id)
    assert not check(p, session_id, feature_code="hd").allowed


def test_concurrent_checks_each_get_their_own_answer(server: RunningServer) -> None:
    """Many checks at once, of different users, products and features (on
    PostgreSQL they share database round trips): each answer is the one the
    same check gets alone."""
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    active = [paid(shop) for _ in range(3)]
    paused = paid(shop)
    pause(p, paused.subscription_id)
    pending = subscribe(p, shop.plan_id).subscription
    asked = []
    for sub in (*active, paused, pending):
        asked += [
            (sub.session_id, {"product_id": shop.product_id}),
            (sub.session_id, {"feature_code": "hd"}),
            (sub.session_id, {"feature_code": "no-such-feature"}),
            (sub.session_id, {"product_id": other_product(shop)}),
        ]
    asked.append((unique("session"), {"product_id": shop.product_id}))
    alone = [check(p, session, **target) for session, target in asked]
    assert sum(a.allowed for a in alone) == 6  # three users, by product and by feature
    assert {a.reason for a in alone} == {ACTIVE, PAUSED, UNPAID, NO_SUBSCRIPTION}

    for _ in range(4):
        # A write first, so that nothing is answered from memory.
        subscribe(p, shop.plan_id)
        together: list[entitlement_pb2.CheckAccessResponse | None] = [None] * len(asked)
        barrier = threading.Barrier(len(asked))

        def ask(n: int) -> None:
            session, target = asked[n]
            barrier.wait()
            together[n] = check(p, session, **target)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(asked))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert together == alone


# --- CheckAccess: scoping and input -------------------------------------------


def test_checks_are_scoped_to_the_platform(server: RunningServer) -> None:
    shop = make_shop(server)
    t = shop.tenancy
    sub = paid(shop)
    expected = answer(True, ACTIVE, sub.subscription_id, shop.plan_id, sub.period.end)

    # Another platform's user of the same session ID is its own.
    assert check_both(t.other_platform, sub.session_id, shop.product_id) == answer(
        False, NO_SUBSCRIPTION
    )
    # A platform key that names its own platform gets the same answer.
    assert (
        check(shop.platform, sub.session_id, product_id=shop.product_id, platform_id=t.platform_id)
        == expected
    )

    admin = shop.admin
    got = failure(lambda: check(admin, sub.session_id, product_id=shop.product_id))
    assert (got.code, got.reason) == (INVALID, "invalid_argument")
    assert "platform_id" in got.fields
    assert check_both(admin, sub.session_id, shop.product_id, t.platform_id) == expected
    assert check_both(admin, sub.session_id, shop.product_id, t.other_platform_id) == answer(
        False, NO_SUBSCRIPTION
    )

    assert_fails(
        lambda: check(t.publisher, sub.session_id, product_id=shop.product_id),
        grpc.StatusCode.PERMISSION_DENIED,
        "permission_denied",
    )


def test_an_admin_naming_an_unknown_platform_gets_not_found(server: RunningServer) -> None:
    admin = server.admin()
    assert_fails(
        lambda: check(admin, unique("session"), product_id="PRx", platform_id="PLnosuchplatform"),
        NOT_FOUND,
        "platform_not_found",
    )
    assert_fails(
        lambda: entitlements(admin, unique("session"), "PLnosuchplatform"),
        NOT_FOUND,
        "platform_not_found",
    )


def test_check_access_refuses_bad_input(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    cases = [
        (lambda: check(p, "", product_id=shop.product_id), "session_id"),
        (lambda: check(p, unique("session")), "target"),
        (lambda: check(p, unique("session"), feature_code="Not A Code!"), "feature_code"),
    ]
    for call, field in cases:
        assert_fails(call, INVALID, "invalid_argument", field)


# --- ListEntitlements ---------------------------------------------------------


def test_list_entitlements_of_a_paid_subscription(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub = paid(shop)
    sub_id = sub.subscription_id
    record(p, sub_id, "downloads", 3)

    found = entitlements(p, sub.session_id)
    assert len(found) == 3, found
    by_code = {e.feature.code if e.HasField("feature") else "": e for e in found}
    assert set(by_code) == {"", "hd", "downloads"}
    for entry in found:
        assert (entry.product_id, entry.app_id) == (shop.product_id, shop.tenancy.app_id)
        assert (entry.subscription_id, entry.plan_id, entry.reason) == (
            sub_id,
            shop.plan_id,
            ACTIVE,
        )
        assert entry.expires_at == sub.period.end
    assert not by_code[""].HasField("feature")
    hd = by_code["hd"]
    assert (hd.feature.kind, hd.feature.name) == (E.FEATURE_KIND_ACCESS, "HD")
    downloads = by_code["downloads"]
    assert downloads.feature == common_pb2.Feature(
        code="downloads",
        name="Downloads",
        kind=E.FEATURE_KIND_QUOTA,
        limit=10,
        reset_interval=E.RESET_INTERVAL_MONTH,
    )
    assert (downloads.used, downloads.remaining) == (3, 7)
    assert downloads.HasField("resets_at")
    assert downloads.resets_at == usage(p, sub_id, "downloads")[0].resets_at

    # The admin names the platform; another platform sees nothing of it.
    assert entitlements(shop.admin, sub.session_id, shop.tenancy.platform_id) == found
    assert entitlements(shop.tenancy.other_platform, sub.session_id) == []
    assert_fails(
        lambda: entitlements(shop.admin, sub.session_id),
        INVALID,
        "invalid_argument",
        "platform_id",
    )
    assert_fails(lambda: entitlements(p, ""), INVALID, "invalid_argument", "session_id")
    assert_fails(
        lambda: entitlements(shop.tenancy.publisher, sub.session_id),
        grpc.StatusCode.PERMISSION_DENIED,
        "permission_denied",
    )


def test_list_entitlements_leaves_out_what_grants_nothing(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    pending = subscribe(p, shop.plan_id).subscription
    assert entitlements(p, pending.session_id) == []
    sub = paid(shop)
    pause(p, sub.subscription_id)
    assert entitlements(p, sub.session_id) == []
    assert entitlements(p, unique("session")) == []


def test_list_entitlements_orders_products_first_then_by_feature_code(
    server: RunningServer,
) -> None:
    shop = make_shop(server)
    p = shop.platform
    in_order = [(shop.product_id, ""), (shop.product_id, "downloads"), (shop.product_id, "hd")]
    free_plan = shop.plan(free=True, prices={})
    found = entitlements(p, unique("session"))
    assert [(e.product_id, e.feature.code) for e in found] == in_order
    assert {e.plan_id for e in found} == {free_plan}
    sub = paid(shop)
    found = entitlements(p, sub.session_id)
    assert [(e.product_id, e.feature.code, e.reason) for e in found] == [
        (product_id, code, ACTIVE) for product_id, code in in_order
    ] + [(product_id, code, FREE) for product_id, code in in_order]


def test_free_plans_appear_in_list_entitlements(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    free_plan = shop.plan(free=True, prices={})
    found = entitlements(p, unique("session"))
    assert {(e.product_id, e.feature.code) for e in found} == {
        (shop.product_id, ""),
        (shop.product_id, "hd"),
        (shop.product_id, "downloads"),
    }
    for entry in found:
        assert (entry.subscription_id, entry.plan_id, entry.reason) == ("", free_plan, FREE)
        assert not entry.HasField("expires_at")
    downloads = next(e for e in found if e.feature.code == "downloads")
    assert (downloads.feature.limit, downloads.feature.kind) == (10, E.FEATURE_KIND_QUOTA)
    # A subscriber holds both grants: the subscription's and the free plan's.
    sub = paid(shop)
    reasons = sorted((e.reason, e.subscription_id) for e in entitlements(p, sub.session_id))
    assert reasons == [(ACTIVE, sub.subscription_id)] * 3 + [(FREE, "")] * 3
    assert entitlements(shop.tenancy.other_platform, unique("session")) == []


def test_a_free_plans_quota_has_its_whole_limit_remaining(server: RunningServer) -> None:
    shop = make_shop(server)
    shop.plan(free=True, prices={})
    (downloads,) = [
        e for e in entitlements(shop.platform, unique("session")) if e.feature.code == "downloads"
    ]
    assert (downloads.feature.limit, downloads.used, downloads.remaining) == (10, 0, 10)


# --- quotas -------------------------------------------------------------------


def test_record_usage_spends_a_quota_up_to_its_limit(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub_id = paid(shop).subscription_id

    first = record(p, sub_id, "downloads", 3)
    assert (first.subscription_id, first.feature_code) == (sub_id, "downloads")
    assert (first.used, first.limit, first.remaining) == (3, 10, 7)
    assert first.HasField("resets_at")
    second = record(p, sub_id, "downloads", 4)
    assert (second.used, second.remaining) == (7, 3)
    assert_fails(
        lambda: record(p, sub_id, "downloads", 4),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "quota_exceeded",
    )
    (downloads,) = usage(p, sub_id)
    assert (downloads.feature_code, downloads.name) == ("downloads", "Downloads")
    assert (downloads.limit, downloads.used, downloads.remaining) == (10, 7, 3)
    assert downloads.reset_interval == E.RESET_INTERVAL_MONTH
    assert downloads.resets_at == first.resets_at

    # Giving back, never below zero.
    assert record(p, sub_id, "downloads", -2).used == 5
    back = record(p, sub_id, "downloads", -100)
    assert (back.used, back.remaining) == (0, 10)
    assert used(p, sub_id) == 0
    # Exactly the limit fits.
    assert record(p, sub_id, "downloads", 10).remaining == 0


def test_record_usage_refusals(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub_id = paid(shop).subscription_id
    assert_fails(lambda: record(p, sub_id, "downloads", 0), INVALID, "invalid_argument", "quantity")
    assert_fails(lambda: record(p, sub_id, "uploads", 1), NOT_FOUND, "feature_not_found")
    assert_fails(lambda: record(p, sub_id, "hd", 1), INVALID, "invalid_argument", "feature_code")
    assert_fails(lambda: usage(p, sub_id, "uploads"), NOT_FOUND, "feature_not_found")
    assert_fails(
        lambda: record(p, "SUBnosuchsubscription", "downloads", 1),
        NOT_FOUND,
        "subscription_not_found",
    )
    # Another platform's subscription does not exist for this one.
    other = shop.tenancy.other_platform
    assert_fails(lambda: record(other, sub_id, "downloads", 1), NOT_FOUND, "subscription_not_found")
    assert_fails(lambda: usage(other, sub_id), NOT_FOUND, "subscription_not_found")
    assert_fails(
        lambda: record(shop.tenancy.publisher, sub_id, "downloads", 1),
        grpc.StatusCode.PERMISSION_DENIED,
        "permission_denied",
    )
    assert used(p, sub_id) == 0
    # The admin may use any platform's subscription.
    assert record(shop.admin, sub_id, "downloads", 2).used == 2


def test_usage_needs_a_subscription_that_grants_access(server: RunningServer) -> None:
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    pending = subscribe(p, shop.plan_id).subscription.subscription_id
    assert_fails(
        lambda: record(p, pending, "downloads", 1),
        grpc.StatusCode.FAILED_PRECONDITION,
        "subscription_inactive",
    )
    sub_id = paid(shop).subscription_id
    record(p, sub_id, "downloads", 2)
    pause(p, sub_id)
    assert_fails(
        lambda: record(p, sub_id, "downloads", 1),
        grpc.StatusCode.FAILED_PRECONDITION,
        "subscription_inactive",
    )
    assert used(p, pending) == 0
    assert used(p, sub_id) == 2


def test_record_usage_honours_the_idempotency_key(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub_id = paid(shop).subscription_id
    key = uuid.uuid4().hex
    first = record(p, sub_id, "downloads", 3, key=key)
    again = record(p, sub_id, "downloads", 3, key=key)
    assert again == first
    assert used(p, sub_id) == 3
    assert_fails(
        lambda: record(p, sub_id, "downloads", 4, key=key), INVALID, "idempotency_key_reused"
    )
    assert used(p, sub_id) == 3


def test_fifty_concurrent_uses_never_pass_the_limit(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub_id = paid(shop).subscription_id
    overridden = set_feature(p, sub_id, quota("downloads", 10))
    assert overridden.feature.limit == 10
    credential = p.credential
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        caller = server.caller(credential)
        barrier.wait()
        try:
            record(caller, sub_id, "downloads", 1)
            outcome = "ok"
        except grpc.RpcError as error:
            outcome = rethrown_reason(error)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 50
    assert outcomes.count("ok") == 10, outcomes
    assert outcomes.count("quota_exceeded") == 40, outcomes
    (downloads,) = usage(p, sub_id)
    assert (downloads.used, downloads.remaining) == (10, 0)


# --- overrides and re-sync ------------------------------------------------------


def test_overrides_custom_features_removal_and_sync(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub = paid(shop)
    sub_id, session_id = sub.subscription_id, sub.session_id

    held = features(p, sub_id)
    assert [(f.feature.code, f.source) for f in held] == [
        ("downloads", S.SUBSCRIPTION_FEATURE_SOURCE_PLAN),
        ("hd", S.SUBSCRIPTION_FEATURE_SOURCE_PLAN),
    ]
    assert all(list(f.product_ids) == [shop.product_id] for f in held)
    assert (held[0].feature.limit, held[0].plan_limit) == (10, 10)

    record(p, sub_id, "downloads", 8)
    override = set_feature(p, sub_id, quota("downloads", 20))
    assert override.source == S.SUBSCRIPTION_FEATURE_SOURCE_OVERRIDE
    assert (override.feature.limit, override.plan_limit, override.used) == (20, 10, 8)
    assert override.feature.name == "Downloads"
    assert list(override.product_ids) == [shop.product_id]
    assert record(p, sub_id, "downloads", 12).used == 20
    assert_fails(
        lambda: record(p, sub_id, "downloads", 1),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "quota_exceeded",
    )
    record(p, sub_id, "downloads", -5)  # 15 used

    assert check(p, session_id, feature_code="extra_storage") == answer(False, NO_SUBSCRIPTION)
    custom = set_feature(p, sub_id, quota("extra_storage", 5, name="Extra storage"))
    assert custom.source == S.SUBSCRIPTION_FEATURE_SOURCE_CUSTOM
    assert (custom.feature.limit, custom.plan_limit, list(custom.product_ids)) == (5, 0, [])
    assert custom.feature.kind == E.FEATURE_KIND_QUOTA
    assert check(p, session_id, feature_code="extra_storage") == answer(
        True, ACTIVE, sub_id, shop.plan_id, sub.period.end
    )
    assert record(p, sub_id, "extra_storage", 5).remaining == 0
    custom_entry = [e for e in entitlements(p, session_id) if e.feature.code == "extra_storage"]
    assert [(e.product_id, e.feature.limit, e.used) for e in custom_entry] == [("", 5, 5)]

    assert_fails(
        lambda: set_feature(p, sub_id, quota("hd", 5)), INVALID, "invalid_argument", "feature.kind"
    )

    removed = remove_feature(p, sub_id, "extra_storage")
    assert (removed.feature.code, removed.used) == ("extra_storage", 5)
    assert_fails(lambda: record(p, sub_id, "extra_storage", 1), NOT_FOUND, "feature_not_found")
    assert_fails(lambda: remove_feature(p, sub_id, "extra_storage"), NOT_FOUND, "feature_not_found")
    assert check(p, session_id, feature_code="extra_storage") == answer(False, NO_SUBSCRIPTION)

    # A removed plan feature stays removed until the next sync; the product stays.
    remove_feature(p, sub_id, "hd")
    set_feature(p, sub_id, quota("extra_storage", 5))
    assert check(p, session_id, feature_code="hd") == answer(False, NO_SUBSCRIPTION)
    assert check(p, session_id, product_id=shop.product_id).allowed

    synced = sync_features(p, sub_id)
    assert [(f.feature.code, f.source) for f in synced] == [
        ("downloads", S.SUBSCRIPTION_FEATURE_SOURCE_PLAN),
        ("hd", S.SUBSCRIPTION_FEATURE_SOURCE_PLAN),
    ]
    downloads = synced[0]
    assert (downloads.feature.limit, downloads.plan_limit, downloads.used) == (10, 10, 15)
    assert features(p, sub_id) == synced
    (after,) = usage(p, sub_id)
    assert (after.limit, after.used, after.remaining) == (10, 15, 0)
    assert_fails(
        lambda: record(p, sub_id, "downloads", 1),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "quota_exceeded",
    )
    assert check(p, session_id, feature_code="hd").allowed
    assert check(p, session_id, feature_code="extra_storage") == answer(False, NO_SUBSCRIPTION)

    other = shop.tenancy.other_platform
    assert_fails(
        lambda: set_feature(other, sub_id, quota("downloads", 99)),
        NOT_FOUND,
        "subscription_not_found",
    )


# --- resets ---------------------------------------------------------------------


def test_a_monthly_quota_resets_after_its_window(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub_id = paid(shop).subscription_id
    record(p, sub_id, "downloads", 6)
    (before,) = usage(p, sub_id)
    assert before.used == 6
    resets_at = before.resets_at
    span = at(resets_at) - at(now(shop.admin))
    assert timedelta(days=28) <= span <= timedelta(days=31)

    advance_to(shop.admin, resets_at, extra_seconds=1)
    (after,) = usage(p, sub_id)
    assert (after.used, after.remaining) == (0, 10)
    assert timedelta(days=28) <= at(after.resets_at) - at(resets_at) <= timedelta(days=31)
    resets = [e for e in events_of(p, sub_id) if e.type == "usage.reset"]
    assert [e.data["feature_code"] for e in resets] == ["downloads"]
    assert resets[0].data["used_before"] == 6


def test_a_daily_quota_resets_at_the_next_utc_midnight(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub_id = paid(shop).subscription_id
    today = at(now(shop.admin))
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)

    daily = set_feature(p, sub_id, quota("api_calls", 3, E.RESET_INTERVAL_DAY))
    assert at(daily.resets_at) == midnight
    assert record(p, sub_id, "api_calls", 3).remaining == 0
    assert_fails(
        lambda: record(p, sub_id, "api_calls", 1),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "quota_exceeded",
    )
    advance_to(shop.admin, daily.resets_at, extra_seconds=1)
    (after,) = usage(p, sub_id, "api_calls")
    assert (after.used, after.remaining) == (0, 3)
    assert at(after.resets_at) == midnight + timedelta(days=1)
    assert record(p, sub_id, "api_calls", 1).used == 1
