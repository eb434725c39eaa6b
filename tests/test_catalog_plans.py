"""CatalogService over the wire: plans."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2

from bento.v1 import catalog_pb2, common_pb2, enums_pb2, tenant_pb2
from tests.helpers.catalog import cad, create_product, struct
from tests.helpers.paging import pages
from tests.support import (
    Caller,
    RpcFailure,
    RunningServer,
    Tenancy,
    assert_fails,
    make_tenancy,
    phases,
    plan_request,
    product_request,
    unique,
    usd,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DENIED = grpc.StatusCode.PERMISSION_DENIED

ACTIVE = enums_pb2.PLAN_STATUS_ACTIVE
INACTIVE = enums_pb2.PLAN_STATUS_INACTIVE


def cad_phases(*spec: tuple[int, int | None]) -> catalog_pb2.RegionPrices:
    """Like ``phases`` but in Canadian dollars."""
    result = catalog_pb2.RegionPrices()
    for order, (cents, cycles) in enumerate(spec, start=1):
        phase = result.phases.add(order=order, price=cad(cents))
        if cycles is not None:
            phase.billing_cycles = cycles
    return result


def create_plan(
    caller: Caller, product_ids: list[str], platform_id: str = "", **overrides: Any
) -> catalog_pb2.Plan:
    request = plan_request(product_ids, platform_id, **overrides)
    return caller(caller.catalog.CreatePlan, request).plan


def get_plan(caller: Caller, plan_id: str, region: str = "") -> catalog_pb2.Plan:
    return caller(
        caller.catalog.GetPlan, catalog_pb2.GetPlanRequest(plan_id=plan_id, region=region)
    ).plan


def update_plan(caller: Caller, plan: catalog_pb2.Plan, paths: list[str]) -> catalog_pb2.Plan:
    request = catalog_pb2.UpdatePlanRequest(
        plan=plan, update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    return caller(caller.catalog.UpdatePlan, request).plan


def list_plans(
    caller: Caller, page_size: int = 100, **filters: Any
) -> tuple[list[catalog_pb2.Plan], int]:
    """Every plan the caller lists with ``filters``, paging to the end, and the total."""
    plans: list[catalog_pb2.Plan] = []
    totals: set[int] = set()
    request = catalog_pb2.ListPlansRequest(page_size=page_size, **filters)
    for page in pages(partial(caller, caller.catalog.ListPlans), request):
        assert len(page.plans) <= page_size
        plans.extend(page.plans)
        totals.add(page.total)
    assert len(totals) == 1, f"total changed between pages: {totals}"
    return plans, totals.pop()


def listed_ids(caller: Caller, **filters: Any) -> list[str]:
    plans, total = list_plans(caller, **filters)
    assert total == len(plans)
    return [plan.plan_id for plan in plans]


def without_items(plan: catalog_pb2.Plan) -> catalog_pb2.Plan:
    copy = catalog_pb2.Plan()
    copy.CopyFrom(plan)
    copy.ClearField("plan_items")
    return copy


def assert_only(got: RpcFailure, field: str) -> None:
    """The BadRequest names ``field`` and nothing else but parts of it.

    A missing billing_frequency is also reported as a missing unit and value.
    """
    assert field in got.fields, got
    assert all(f == field or f.startswith(f"{field}.") for f in got.fields), got


def one_product(t: Tenancy) -> str:
    return create_product(t.publisher).product_id


def product_without_wholesale(caller: Caller) -> str:
    """A product a plan may price in any currency: it has no wholesale price
    (one with a price is sold only in the currency of that price)."""
    request = product_request()
    request.product.ClearField("price_wholesale")
    return caller(caller.catalog.CreateProduct, request).product.product_id


# --- create and get ----------------------------------------------------------


def test_create_plan_round_trips_every_field(server: RunningServer) -> None:
    t = make_tenancy(server)
    first = product_without_wholesale(t.publisher)
    second = product_without_wholesale(t.other_publisher)
    name = unique("plan")
    # CA's phases arrive out of order; they are stored and answered by `order`.
    ca = catalog_pb2.RegionPrices()
    ca.phases.add(order=2, price=cad(1899))
    ca.phases.add(order=1, price=cad(1099), billing_cycles=2)
    localizations = {
        "en-us": common_pb2.Localization(display_name="Bundle", description="Everything"),
        "fr-ca": common_pb2.Localization(display_name="Forfait", description="Tout"),
    }
    metadata = struct(campaign="spring", weight=2, flags={"promo": True}, tags=["x"])
    created = create_plan(
        t.platform,
        [second, first],
        name=name,
        plan_type=enums_pb2.PLAN_TYPE_BUNDLE,
        billing_frequency=common_pb2.BillingFrequency(unit=enums_pb2.BILLING_UNIT_MONTH, value=3),
        free_trial_days=14,
        grace_period_days=5,
        prices={"US": phases((999, 3), (1699, None)), "CA": ca},
        localizations=localizations,
        tier=2,
        can_pause=True,
        metadata=metadata,
    )

    assert created.plan_id
    assert created.platform_id == t.platform_id
    assert created.name == name
    assert created.plan_type == enums_pb2.PLAN_TYPE_BUNDLE
    assert created.status == ACTIVE, "plans are active by default"
    assert created.billing_frequency == common_pb2.BillingFrequency(
        unit=enums_pb2.BILLING_UNIT_MONTH, value=3
    )
    assert (created.free_trial_days, created.grace_period_days, created.tier) == (14, 5, 2)
    assert set(created.prices) == {"US", "CA"}

    us = created.prices["US"].phases
    assert [p.order for p in us] == [1, 2]
    assert [p.price for p in us] == [usd(999), usd(1699)]
    assert us[0].HasField("billing_cycles") and us[0].billing_cycles == 3
    assert not us[1].HasField("billing_cycles"), "the last phase runs forever"
    ca_out = created.prices["CA"].phases
    assert [p.order for p in ca_out] == [1, 2]
    assert [p.price for p in ca_out] == [cad(1099), cad(1899)]
    assert ca_out[0].billing_cycles == 2 and not ca_out[1].HasField("billing_cycles")
    phase_ids = [p.phase_id for p in [*us, *ca_out]]
    assert all(phase_ids), "every phase gets an ID"
    assert len(set(phase_ids)) == 4, "phase IDs are distinct"
    assert all(re.fullmatch("[0-9a-f]{16}", p) for p in phase_ids), "16 lower-case hex digits"

    assert dict(created.localizations) == localizations
    assert list(created.product_ids) == [second, first], "product order is kept"
    assert list(created.plan_items) == [], "CreatePlan answers without plan items"
    assert created.end_behavior == enums_pb2.END_BEHAVIOR_ROLL, "roll by default"
    assert created.can_pause is True
    assert created.HasField("can_cancel") and created.can_cancel is True, "defaults to true"
    assert created.free is False
    assert created.metadata == metadata
    assert created.created_at.seconds > 0 and created.updated_at == created.created_at

    got = get_plan(t.platform, created.plan_id)
    assert without_items(got) == created
    assert [item.product_id for item in got.plan_items] == [second, first]
    assert without_items(get_plan(t.admin, created.plan_id)) == created


def test_create_plan_defaults_and_explicit_values(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    defaults = create_plan(
        t.platform,
        [product],
        plan_type=enums_pb2.PLAN_TYPE_UNSPECIFIED,
        grace_period_days=0,
        tier=0,
        localizations={},
    )
    assert defaults.plan_type == enums_pb2.PLAN_TYPE_SINGLE
    assert defaults.status == ACTIVE
    assert defaults.end_behavior == enums_pb2.END_BEHAVIOR_ROLL
    assert (defaults.can_pause, defaults.can_cancel, defaults.free) == (False, True, False)
    assert (defaults.free_trial_days, defaults.grace_period_days, defaults.tier) == (0, 0, 0)
    assert dict(defaults.localizations) == {}
    assert defaults.metadata == struct_pb2.Struct()

    explicit = create_plan(
        t.platform,
        [product],
        status=INACTIVE,
        end_behavior=enums_pb2.END_BEHAVIOR_CLOSE,
        can_cancel=False,
        billing_frequency=common_pb2.BillingFrequency(unit=enums_pb2.BILLING_UNIT_YEAR, value=36),
        free_trial_days=365,
        grace_period_days=365,
    )
    assert explicit.status == INACTIVE
    assert explicit.end_behavior == enums_pb2.END_BEHAVIOR_CLOSE
    assert explicit.HasField("can_cancel") and explicit.can_cancel is False
    assert explicit.billing_frequency.unit == enums_pb2.BILLING_UNIT_YEAR
    assert explicit.billing_frequency.value == 36
    assert (explicit.free_trial_days, explicit.grace_period_days) == (365, 365)
    assert without_items(get_plan(t.platform, explicit.plan_id)) == explicit


def test_create_free_plan(server: RunningServer) -> None:
    t = make_tenancy(server)
    request = plan_request([one_product(t)], free=True, prices={})
    request.plan.ClearField("billing_frequency")
    free = t.platform(t.platform.catalog.CreatePlan, request).plan
    assert free.free is True
    assert dict(free.prices) == {}
    assert free.billing_frequency == common_pb2.BillingFrequency(
        unit=enums_pb2.BILLING_UNIT_MONTH, value=1
    ), "a free plan without a frequency gets monthly periods"
    assert without_items(get_plan(t.platform, free.plan_id)) == free


def test_platform_defaults_to_its_own_platform_and_cannot_create_for_another(
    server: RunningServer,
) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    implicit = create_plan(t.platform, [product])
    explicit = create_plan(t.platform, [product], t.platform_id)
    assert implicit.platform_id == explicit.platform_id == t.platform_id

    for platform_id in (t.other_platform_id, "PL404"):
        assert_fails(
            lambda platform_id=platform_id: create_plan(t.platform, [product], platform_id),
            NOT_FOUND,
            "platform_not_found",
        )
    assert listed_ids(t.admin, platform_id=t.other_platform_id) == []
    assert listed_ids(t.platform) == [implicit.plan_id, explicit.plan_id]


def test_admin_must_name_an_existing_platform(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    got = assert_fails(
        lambda: create_plan(t.admin, [product], ""), INVALID, "invalid_argument", "plan.platform_id"
    )
    assert set(got.fields) == {"plan.platform_id"}
    assert_fails(lambda: create_plan(t.admin, [product], "PL404"), NOT_FOUND, "platform_not_found")
    assert_fails(
        lambda: t.admin(t.admin.catalog.CreatePlan, catalog_pb2.CreatePlanRequest()),
        INVALID,
        "invalid_argument",
        "plan",
    )
    made = create_plan(t.admin, [product], t.other_platform_id)
    assert made.platform_id == t.other_platform_id
    assert listed_ids(t.other_platform) == [made.plan_id]
    assert listed_ids(t.platform) == []


def test_publishers_may_not_write_plans(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    plan = create_plan(t.platform, [product])
    for platform_id in ("", t.platform_id):
        assert_fails(
            lambda platform_id=platform_id: create_plan(t.publisher, [product], platform_id),
            DENIED,
            "permission_denied",
        )
    assert_fails(
        lambda: update_plan(
            t.publisher, catalog_pb2.Plan(plan_id=plan.plan_id, name="x"), ["name"]
        ),
        DENIED,
        "permission_denied",
    )
    assert listed_ids(t.platform) == [plan.plan_id]
    assert get_plan(t.publisher, plan.plan_id).name == plan.name


def test_unknown_product_is_not_found_and_nothing_is_stored(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    assert_fails(
        lambda: create_plan(t.platform, [product, "PR404"]), NOT_FOUND, "product_not_found"
    )
    assert_fails(lambda: create_plan(t.platform, ["PR404"]), NOT_FOUND, "product_not_found")
    assert list_plans(t.platform) == ([], 0)


def test_get_plan_resolves_items_with_products_apps_and_regional_prices(
    server: RunningServer,
) -> None:
    t = make_tenancy(server)
    app = t.admin(t.admin.tenant.GetApp, tenant_pb2.GetAppRequest(app_id=t.app_id)).app
    other_app = t.admin(t.admin.tenant.GetApp, tenant_pb2.GetAppRequest(app_id=t.other_app_id)).app
    priced_both = create_product(
        t.publisher,
        prices={"US": usd(999), "CA": cad(1299)},
        localizations={"en-us": common_pb2.Localization(display_name="Basic")},
    )
    us_only = create_product(t.other_publisher, prices={"US": usd(1500)}, price_wholesale=usd(700))
    plan = create_plan(t.platform, [priced_both.product_id, us_only.product_id])

    got = get_plan(t.platform, plan.plan_id)
    assert without_items(got) == plan
    assert list(got.product_ids) == [priced_both.product_id, us_only.product_id]
    assert [item.product_id for item in got.plan_items] == list(got.product_ids)
    for item, product, owner in (
        (got.plan_items[0], priced_both, app),
        (got.plan_items[1], us_only, other_app),
    ):
        assert item.app_id == product.app_id == owner.app_id
        assert item.name == product.name
        assert item.status == enums_pb2.PRODUCT_STATUS_ACTIVE
        assert item.price_wholesale == product.price_wholesale
        assert dict(item.localizations) == dict(product.localizations)
        assert list(item.features) == list(product.features)
        assert item.app.app_id == owner.app_id
        assert item.app.name == owner.name
        assert item.app.activation_url_template == owner.activation_url_template
        assert item.app.activation_url_template == "https://app.example/activate?code={code}"
    # No region means US.
    assert got.plan_items[0].price == usd(999)
    assert got.plan_items[1].price == usd(1500)
    assert get_plan(t.platform, plan.plan_id, "US") == got

    canada = get_plan(t.platform, plan.plan_id, "CA")
    assert canada.plan_items[0].price == cad(1299)
    assert not canada.plan_items[1].HasField("price"), "no price where the product has none"
    assert dict(canada.prices) == dict(plan.prices), "the plan's own prices are not trimmed"
    nowhere = get_plan(t.platform, plan.plan_id, "DE")
    assert not any(item.HasField("price") for item in nowhere.plan_items)

    for region in ("us", "U", "US-CA"):
        got_error = assert_fails(
            lambda region=region: get_plan(t.platform, plan.plan_id, region),
            INVALID,
            "invalid_argument",
            "region",
        )
        assert set(got_error.fields) == {"region"}


def test_get_unknown_or_missing_plan(server: RunningServer) -> None:
    t = make_tenancy(server)
    for caller in (t.admin, t.platform, t.publisher):
        assert_fails(lambda c=caller: get_plan(c, "00000000deadbeef"), NOT_FOUND, "plan_not_found")
    assert_fails(lambda: get_plan(t.admin, ""), INVALID, "invalid_argument", "plan_id")


# --- tenants -----------------------------------------------------------------


def test_another_platform_cannot_see_or_change_a_plan(server: RunningServer) -> None:
    t = make_tenancy(server)
    plan = create_plan(t.platform, [one_product(t)])
    other = t.other_platform
    assert_fails(lambda: get_plan(other, plan.plan_id), NOT_FOUND, "plan_not_found")
    for paths in (["name"], ["status"]):
        assert_fails(
            lambda paths=paths: update_plan(
                other,
                catalog_pb2.Plan(plan_id=plan.plan_id, name="Hijacked", status=INACTIVE),
                paths,
            ),
            NOT_FOUND,
            "plan_not_found",
        )
    assert without_items(get_plan(t.platform, plan.plan_id)) == plan
    assert listed_ids(other) == []
    assert listed_ids(t.platform) == [plan.plan_id]


def test_publisher_reads_only_plans_that_include_its_products(server: RunningServer) -> None:
    t = make_tenancy(server)
    mine = one_product(t)
    theirs = create_product(t.other_publisher).product_id
    with_mine = create_plan(t.platform, [mine])
    with_theirs = create_plan(t.platform, [theirs])
    with_both = create_plan(t.other_platform, [theirs, mine])

    got = get_plan(t.publisher, with_mine.plan_id)
    assert without_items(got) == with_mine
    assert [item.product_id for item in got.plan_items] == [mine]
    # A plan that also holds another app's product shows all its items.
    both = get_plan(t.publisher, with_both.plan_id)
    assert [item.product_id for item in both.plan_items] == [theirs, mine]
    assert_fails(lambda: get_plan(t.publisher, with_theirs.plan_id), NOT_FOUND, "plan_not_found")

    assert listed_ids(t.publisher) == [with_mine.plan_id, with_both.plan_id]
    assert listed_ids(t.other_publisher) == [with_theirs.plan_id, with_both.plan_id]
    plans, _ = list_plans(t.publisher)
    assert all(list(plan.plan_items) == [] for plan in plans)


# --- list --------------------------------------------------------------------


def test_list_plans_for_a_platform_pages_through_its_own(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    created = [create_plan(t.platform, [product]).plan_id for _ in range(4)]
    create_plan(t.other_platform, [product])

    seen: list[str] = []
    walked = list(
        pages(
            partial(t.platform, t.platform.catalog.ListPlans),
            catalog_pb2.ListPlansRequest(page_size=1),
        )
    )
    for page in walked:
        assert page.total == 4, "total counts every match, not the page"
        assert len(page.plans) == 1
        for plan in page.plans:
            assert list(plan.plan_items) == [], "ListPlans never resolves items"
            assert list(plan.product_ids) == [product]
            assert plan.platform_id == t.platform_id
            assert set(plan.prices) == {"US"}
        seen.extend(plan.plan_id for plan in page.plans)
    assert seen == created, "plans are listed oldest first"
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert len(walked) == 4, "the last page has no next token"
    assert listed_ids(t.platform) == created, "the order is stable"
    assert listed_ids(t.platform, platform_id=t.platform_id) == created


def test_list_plans_region_filter(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = product_without_wholesale(t.publisher)
    us = create_plan(t.platform, [product], prices={"US": phases((999, None))}).plan_id
    ca = create_plan(t.platform, [product], prices={"CA": cad_phases((1299, None))}).plan_id
    both = create_plan(
        t.platform,
        [product],
        prices={"US": phases((500, 1), (999, None)), "CA": cad_phases((1299, None))},
    ).plan_id
    free = create_plan(t.platform, [product], free=True, prices={}).plan_id

    plans, total = list_plans(t.platform, region=["US"])
    assert [p.plan_id for p in plans] == [us, both, free]
    assert total == 3
    by_id = {p.plan_id: p for p in plans}
    assert set(by_id[us].prices) == {"US"}
    assert set(by_id[both].prices) == {"US"}, "prices hold only the requested regions"
    assert [p.price for p in by_id[both].prices["US"].phases] == [usd(500), usd(999)]
    assert dict(by_id[free].prices) == {}

    plans, total = list_plans(t.platform, region=["CA"])
    assert ([p.plan_id for p in plans], total) == ([ca, both, free], 3)
    assert all(set(p.prices) <= {"CA"} for p in plans)

    plans, _ = list_plans(t.platform, region=["US", "CA"])
    assert [p.plan_id for p in plans] == [us, ca, both, free]
    assert set({p.plan_id: p for p in plans}[both].prices) == {"US", "CA"}

    assert listed_ids(t.platform, region=["DE"]) == [free], "free plans are always included"
    plans, _ = list_plans(t.platform)
    assert [p.plan_id for p in plans] == [us, ca, both, free]
    assert set({p.plan_id: p for p in plans}[both].prices) == {"US", "CA"}

    # Paging keeps the filter.
    paged, total = list_plans(t.platform, page_size=1, region=["US"])
    assert ([p.plan_id for p in paged], total) == ([us, both, free], 3)

    for regions, field in ((["us"], "region[0]"), (["US", "C A"], "region[1]")):
        assert_fails(
            lambda regions=regions: list_plans(t.platform, region=regions),
            INVALID,
            "invalid_argument",
            field,
        )


def test_list_plans_language_filter(server: RunningServer) -> None:
    t = make_tenancy(server)
    texts = {
        "en-us": common_pb2.Localization(display_name="Bundle"),
        "fr-ca": common_pb2.Localization(display_name="Forfait"),
        "de": common_pb2.Localization(display_name="Paket"),
    }
    plan = create_plan(t.platform, [one_product(t)], localizations=texts)

    def texts_for(languages: list[str]) -> dict[str, common_pb2.Localization]:
        plans, total = list_plans(t.platform, language=languages)
        assert ([p.plan_id for p in plans], total) == ([plan.plan_id], 1)
        return dict(plans[0].localizations)

    assert texts_for([]) == texts
    assert texts_for(["fr-ca"]) == {"fr-ca": texts["fr-ca"]}
    assert texts_for(["en-us", "de"]) == {"en-us": texts["en-us"], "de": texts["de"]}
    assert texts_for(["es"]) == {}, "a plan without the language is still listed"
    assert dict(get_plan(t.platform, plan.plan_id).localizations) == texts
    assert_fails(
        lambda: list_plans(t.platform, language=["EN"]), INVALID, "invalid_argument", "language[0]"
    )


def test_list_plans_status_filter(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    active = create_plan(t.platform, [product]).plan_id
    inactive = create_plan(t.platform, [product], status=INACTIVE).plan_id
    deprecated = create_plan(t.platform, [product], status=enums_pb2.PLAN_STATUS_DEPRECATED).plan_id

    assert listed_ids(t.platform, status=ACTIVE) == [active]
    assert listed_ids(t.platform, status=INACTIVE) == [inactive]
    assert listed_ids(t.platform, status=enums_pb2.PLAN_STATUS_DEPRECATED) == [deprecated]
    assert listed_ids(t.platform) == [active, inactive, deprecated]
    assert listed_ids(t.publisher, status=INACTIVE) == [inactive]
    assert_fails(lambda: list_plans(t.platform, status=99), INVALID, "invalid_argument", "status")


def test_list_plans_platform_filter(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    mine = [create_plan(t.platform, [product]).plan_id for _ in range(2)]
    theirs = [create_plan(t.other_platform, [product]).plan_id]

    assert listed_ids(t.admin, platform_id=t.platform_id) == mine
    assert listed_ids(t.admin, platform_id=t.other_platform_id) == theirs
    admin_all = listed_ids(t.admin)
    assert set(mine + theirs) <= set(admin_all)
    assert admin_all == sorted(admin_all)

    assert listed_ids(t.platform, platform_id=t.platform_id) == mine
    for platform_id in (t.other_platform_id, "PL404"):
        assert_fails(
            lambda platform_id=platform_id: list_plans(t.platform, platform_id=platform_id),
            NOT_FOUND,
            "platform_not_found",
        )


def test_list_plans_refuses_foreign_page_tokens_and_bad_sizes(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    create_product(t.publisher)
    for _ in range(2):
        create_plan(t.platform, [product])
    platform = t.platform

    first = platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest(page_size=1))
    assert first.next_page_token
    products = t.admin(
        t.admin.catalog.ListProducts, catalog_pb2.ListProductsRequest(app_id=t.app_id, page_size=1)
    )
    assert products.next_page_token
    platforms = t.admin(t.admin.tenant.ListPlatforms, tenant_pb2.ListPlatformsRequest(page_size=1))
    assert platforms.next_page_token

    bad_requests: list[tuple[Caller, catalog_pb2.ListPlansRequest]] = [
        (platform, catalog_pb2.ListPlansRequest(page_token="garbage")),
        (platform, catalog_pb2.ListPlansRequest(page_token=products.next_page_token)),
        (platform, catalog_pb2.ListPlansRequest(page_token=platforms.next_page_token)),
        (platform, catalog_pb2.ListPlansRequest(page_token=first.next_page_token, status=ACTIVE)),
        (platform, catalog_pb2.ListPlansRequest(page_token=first.next_page_token, region=["US"])),
        (t.other_platform, catalog_pb2.ListPlansRequest(page_token=first.next_page_token)),
    ]
    for caller, request in bad_requests:
        assert_fails(
            lambda c=caller, r=request: c(c.catalog.ListPlans, r),
            INVALID,
            "invalid_page_token",
            "page_token",
        )
    follow = platform(
        platform.catalog.ListPlans,
        catalog_pb2.ListPlansRequest(page_size=1, page_token=first.next_page_token),
    )
    assert [p.plan_id for p in follow.plans] != [p.plan_id for p in first.plans]
    assert (len(follow.plans), follow.total) == (1, 2)

    big = platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest(page_size=1000))
    assert (len(big.plans), big.total, big.next_page_token) == (2, 2, "")
    assert_fails(
        lambda: platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest(page_size=-1)),
        INVALID,
        "invalid_argument",
        "page_size",
    )


# --- bad input ---------------------------------------------------------------

Mutate = Callable[[catalog_pb2.Plan, str], None]


def set_fields(**values: Any) -> Mutate:
    def mutate(plan: catalog_pb2.Plan, _: str) -> None:
        for name, value in values.items():
            field = getattr(plan, name)
            if isinstance(value, dict):
                field.clear()
                for key, item in value.items():
                    field[key].CopyFrom(item)
            elif hasattr(value, "CopyFrom"):
                field.CopyFrom(value)
            else:
                setattr(plan, name, value)

    return mutate


def set_frequency(unit: int, value: int) -> Mutate:
    return set_fields(billing_frequency=common_pb2.BillingFrequency(unit=unit, value=value))


def set_products(*spec: str) -> Mutate:
    """Product IDs, where "P" is the test's product."""

    def mutate(plan: catalog_pb2.Plan, product_id: str) -> None:
        del plan.product_ids[:]
        plan.product_ids.extend(product_id if s == "P" else s for s in spec)

    return mutate


def raw_phases(*spec: tuple[int, int | None, str, int]) -> catalog_pb2.RegionPrices:
    """Phases from (order, billing_cycles or None, currency, cents) tuples."""
    result = catalog_pb2.RegionPrices()
    for order, cycles, currency, cents in spec:
        phase = result.phases.add(
            order=order, price=common_pb2.Price(price_in_cents=cents, currency_code=currency)
        )
        if cycles is not None:
            phase.billing_cycles = cycles
    return result


def clear_frequency(plan: catalog_pb2.Plan, _: str) -> None:
    plan.ClearField("billing_frequency")


MONTH = enums_pb2.BILLING_UNIT_MONTH

BAD_PLANS: list[tuple[str, Mutate, str]] = [
    ("empty name", set_fields(name=""), "plan.name"),
    ("blank name", set_fields(name="  "), "plan.name"),
    ("long name", set_fields(name="x" * 201), "plan.name"),
    ("NUL in name", set_fields(name="a\x00b"), "plan.name"),
    ("plan type 99", set_fields(plan_type=99), "plan.plan_type"),
    ("status 99", set_fields(status=99), "plan.status"),
    ("end behavior 99", set_fields(end_behavior=99), "plan.end_behavior"),
    ("no billing frequency", clear_frequency, "plan.billing_frequency"),
    ("frequency 0", set_frequency(MONTH, 0), "plan.billing_frequency.value"),
    ("frequency 37", set_frequency(MONTH, 37), "plan.billing_frequency.value"),
    ("frequency -1", set_frequency(MONTH, -1), "plan.billing_frequency.value"),
    (
        "unit unspecified",
        set_frequency(enums_pb2.BILLING_UNIT_UNSPECIFIED, 1),
        "plan.billing_frequency.unit",
    ),
    ("unit 99", set_frequency(99, 1), "plan.billing_frequency.unit"),
    ("trial -1", set_fields(free_trial_days=-1), "plan.free_trial_days"),
    ("trial 366", set_fields(free_trial_days=366), "plan.free_trial_days"),
    ("grace -1", set_fields(grace_period_days=-1), "plan.grace_period_days"),
    ("grace 366", set_fields(grace_period_days=366), "plan.grace_period_days"),
    ("tier -1", set_fields(tier=-1), "plan.tier"),
    ("no products", set_products(), "plan.product_ids"),
    ("duplicate products", set_products("P", "P"), "plan.product_ids"),
    ("bad product id", set_products("P", "PR 1"), "plan.product_ids[1]"),
    ("not free, no prices", set_fields(prices={}), "plan.prices"),
    ("free with prices", set_fields(free=True), "plan.prices"),
    (
        "forever phase not last",
        set_fields(prices={"US": phases((999, None), (1699, 3))}),
        "plan.prices[US].phases[0].billing_cycles",
    ),
    (
        "duplicate phase orders",
        set_fields(prices={"US": raw_phases((1, 3, "USD", 999), (1, None, "USD", 1699))}),
        "plan.prices[US]",
    ),
    (
        "mixed currencies",
        set_fields(prices={"US": raw_phases((1, 3, "USD", 999), (2, None, "CAD", 1699))}),
        "plan.prices[US]",
    ),
    (
        "region without phases",
        set_fields(prices={"US": catalog_pb2.RegionPrices()}),
        "plan.prices[US]",
    ),
    ("lower-case region", set_fields(prices={"us": phases((999, None))}), "plan.prices[us]"),
    (
        "zero billing cycles",
        set_fields(prices={"US": phases((999, 0), (1699, None))}),
        "plan.prices[US].phases[0].billing_cycles",
    ),
    (
        "phase order 0",
        set_fields(prices={"US": raw_phases((0, None, "USD", 999))}),
        "plan.prices[US].phases[0].order",
    ),
    (
        "bad phase currency",
        set_fields(prices={"US": raw_phases((1, None, "usd", 999))}),
        "plan.prices[US].phases[0].price.currency_code",
    ),
    (
        "negative phase price",
        set_fields(prices={"US": raw_phases((1, None, "USD", -1))}),
        "plan.prices[US].phases[0].price.price_in_cents",
    ),
    (
        "upper-case language",
        set_fields(localizations={"EN": common_pb2.Localization(display_name="x")}),
        "plan.localizations[EN]",
    ),
    ("huge metadata", set_fields(metadata=struct(blob="x" * 17_000)), "plan.metadata"),
]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [(mutate, field) for _, mutate, field in BAD_PLANS],
    ids=[case for case, _, _ in BAD_PLANS],
)
def test_create_plan_refuses_bad_fields(server: RunningServer, mutate: Mutate, field: str) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    request = plan_request([product])
    mutate(request.plan, product)
    got = assert_fails(
        lambda: t.platform(t.platform.catalog.CreatePlan, request),
        INVALID,
        "invalid_argument",
        field,
    )
    assert_only(got, field)
    assert list_plans(t.platform) == ([], 0), "a refused plan must not be stored"


# --- update ------------------------------------------------------------------


def test_update_plan_renames_and_changes_status(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = one_product(t)
    plan = create_plan(t.platform, [product], can_pause=True)

    renamed = update_plan(
        t.platform,
        catalog_pb2.Plan(plan_id=plan.plan_id, name="Renamed", status=INACTIVE, tier=9),
        ["name"],
    )
    assert renamed.name == "Renamed"
    assert (renamed.status, renamed.tier) == (ACTIVE, plan.tier), "unmasked fields stay"
    expected = catalog_pb2.Plan()
    expected.CopyFrom(plan)
    expected.name = "Renamed"
    expected.updated_at.CopyFrom(renamed.updated_at)
    assert renamed == expected, "only the name changed; phase IDs are kept"
    assert renamed.updated_at.ToMicroseconds() >= plan.updated_at.ToMicroseconds()
    assert listed_ids(t.platform, status=ACTIVE) == [plan.plan_id]

    inactive = update_plan(
        t.platform, catalog_pb2.Plan(plan_id=plan.plan_id, status=INACTIVE), ["status"]
    )
    assert (inactive.status, inactive.name) == (INACTIVE, "Renamed")
    assert listed_ids(t.platform, status=ACTIVE) == []
    assert listed_ids(t.platform, status=INACTIVE) == [plan.plan_id]
    assert get_plan(t.platform, plan.plan_id).status == INACTIVE

    changed = update_plan(
        t.admin,
        catalog_pb2.Plan(
            plan_id=plan.plan_id,
            billing_frequency=common_pb2.BillingFrequency(
                unit=enums_pb2.BILLING_UNIT_WEEK, value=2
            ),
            free_trial_days=30,
            can_pause=False,
            end_behavior=enums_pb2.END_BEHAVIOR_CLOSE,
            metadata=struct(note="changed"),
        ),
        [
            "billing_frequency",
            "free_trial_days",
            "can_pause",
            "can_cancel",
            "end_behavior",
            "metadata",
        ],
    )
    assert changed.billing_frequency == common_pb2.BillingFrequency(
        unit=enums_pb2.BILLING_UNIT_WEEK, value=2
    )
    assert (changed.free_trial_days, changed.can_pause) == (30, False)
    assert changed.can_cancel is False, "a masked, unset can_cancel is false on update"
    assert changed.end_behavior == enums_pb2.END_BEHAVIOR_CLOSE
    assert changed.metadata == struct(note="changed")
    assert changed.name == "Renamed" and changed.status == INACTIVE
    assert without_items(get_plan(t.platform, plan.plan_id)) == changed


def test_update_plan_replaces_products(server: RunningServer) -> None:
    t = make_tenancy(server)
    mine = one_product(t)
    theirs = create_product(t.other_publisher).product_id
    plan = create_plan(t.platform, [mine])
    assert listed_ids(t.publisher) == [plan.plan_id]
    assert listed_ids(t.other_publisher) == []

    both = update_plan(
        t.platform,
        catalog_pb2.Plan(plan_id=plan.plan_id, product_ids=[theirs, mine]),
        ["product_ids"],
    )
    assert list(both.product_ids) == [theirs, mine]
    got = get_plan(t.platform, plan.plan_id)
    assert [item.product_id for item in got.plan_items] == [theirs, mine]
    assert [item.app_id for item in got.plan_items] == [t.other_app_id, t.app_id]
    assert listed_ids(t.other_publisher) == [plan.plan_id]

    only_theirs = update_plan(
        t.platform, catalog_pb2.Plan(plan_id=plan.plan_id, product_ids=[theirs]), ["product_ids"]
    )
    assert list(only_theirs.product_ids) == [theirs]
    assert_fails(lambda: get_plan(t.publisher, plan.plan_id), NOT_FOUND, "plan_not_found")
    assert listed_ids(t.publisher) == []
    assert [p.product_ids[:] for p in list_plans(t.platform)[0]] == [[theirs]]

    assert_fails(
        lambda: update_plan(
            t.platform,
            catalog_pb2.Plan(plan_id=plan.plan_id, product_ids=[mine, "PR404"]),
            ["product_ids"],
        ),
        NOT_FOUND,
        "product_not_found",
    )
    assert list(get_plan(t.platform, plan.plan_id).product_ids) == [theirs], "nothing changed"
    for product_ids, field in (([], "plan.product_ids"), ([mine, mine], "plan.product_ids")):
        assert_fails(
            lambda ids=product_ids: update_plan(
                t.platform, catalog_pb2.Plan(plan_id=plan.plan_id, product_ids=ids), ["product_ids"]
            ),
            INVALID,
            "invalid_argument",
            field,
        )
    assert list(get_plan(t.platform, plan.plan_id).product_ids) == [theirs]


def test_update_plan_replaces_prices_and_the_region_filter_follows(server: RunningServer) -> None:
    t = make_tenancy(server)
    product = product_without_wholesale(t.publisher)
    plan = create_plan(t.platform, [product], prices={"US": phases((999, None))})
    assert listed_ids(t.platform, region=["US"]) == [plan.plan_id]
    assert listed_ids(t.platform, region=["CA"]) == []

    updated = update_plan(
        t.platform,
        catalog_pb2.Plan(plan_id=plan.plan_id, prices={"CA": cad_phases((500, 2), (1299, None))}),
        ["prices"],
    )
    assert set(updated.prices) == {"CA"}
    ca = updated.prices["CA"].phases
    assert [(p.order, p.price) for p in ca] == [(1, cad(500)), (2, cad(1299))]
    assert ca[0].billing_cycles == 2 and not ca[1].HasField("billing_cycles")
    assert all(p.phase_id for p in ca)
    old_ids = {p.phase_id for p in plan.prices["US"].phases}
    assert not old_ids & {p.phase_id for p in ca}

    assert listed_ids(t.platform, region=["US"]) == []
    assert listed_ids(t.platform, region=["CA"]) == [plan.plan_id]
    assert without_items(get_plan(t.platform, plan.plan_id)) == updated

    for prices, field in (
        ({}, "plan.prices"),
        ({"US": phases((999, None), (1, 2))}, "plan.prices[US].phases[0].billing_cycles"),
    ):
        assert_fails(
            lambda prices=prices: update_plan(
                t.platform, catalog_pb2.Plan(plan_id=plan.plan_id, prices=prices), ["prices"]
            ),
            INVALID,
            "invalid_argument",
            field,
        )
    assert listed_ids(t.platform, region=["CA"]) == [plan.plan_id], "refused updates change nothing"


def test_update_plan_to_free(server: RunningServer) -> None:
    t = make_tenancy(server)
    plan = create_plan(t.platform, [one_product(t)])
    got = assert_fails(
        lambda: update_plan(
            t.platform, catalog_pb2.Plan(plan_id=plan.plan_id, free=True), ["free"]
        ),
        INVALID,
        "invalid_argument",
        "plan.prices",
    )
    assert set(got.fields) == {"plan.prices"}
    assert get_plan(t.platform, plan.plan_id).free is False

    free = update_plan(
        t.platform, catalog_pb2.Plan(plan_id=plan.plan_id, free=True), ["free", "prices"]
    )
    assert free.free is True and dict(free.prices) == {}
    assert listed_ids(t.platform, region=["DE"]) == [plan.plan_id], "free plans match any region"
    assert listed_ids(t.platform, region=["US"]) == [plan.plan_id]

    assert_fails(
        lambda: update_plan(
            t.platform, catalog_pb2.Plan(plan_id=plan.plan_id, free=False), ["free"]
        ),
        INVALID,
        "invalid_argument",
        "plan.prices",
    )
    assert get_plan(t.platform, plan.plan_id).free is True


@pytest.mark.parametrize(
    ("paths", "plan", "field"),
    [
        ([], catalog_pb2.Plan(name="x"), "update_mask"),
        (["platform_id"], catalog_pb2.Plan(platform_id="PL1"), "update_mask"),
        (["plan_items"], catalog_pb2.Plan(), "update_mask"),
        (["plan_id"], catalog_pb2.Plan(), "update_mask"),
        (["bogus"], catalog_pb2.Plan(), "update_mask"),
        (["name", "bogus"], catalog_pb2.Plan(name="ok"), "update_mask"),
        (["name"], catalog_pb2.Plan(name=""), "plan.name"),
        (["status"], catalog_pb2.Plan(status=99), "plan.status"),
        (["billing_frequency"], catalog_pb2.Plan(), "plan.billing_frequency"),
        (
            ["billing_frequency"],
            catalog_pb2.Plan(billing_frequency=common_pb2.BillingFrequency(unit=MONTH, value=0)),
            "plan.billing_frequency.value",
        ),
        (["grace_period_days"], catalog_pb2.Plan(grace_period_days=366), "plan.grace_period_days"),
        (["prices"], catalog_pb2.Plan(prices={"us": phases((1, None))}), "plan.prices[us]"),
    ],
)
def test_update_plan_refuses_bad_masks_and_values(
    server: RunningServer, paths: list[str], plan: catalog_pb2.Plan, field: str
) -> None:
    t = make_tenancy(server)
    original = create_plan(t.platform, [one_product(t)])
    request = catalog_pb2.Plan()
    request.CopyFrom(plan)
    request.plan_id = original.plan_id
    got = assert_fails(
        lambda: update_plan(t.platform, request, paths), INVALID, "invalid_argument", field
    )
    assert_only(got, field)
    assert without_items(get_plan(t.platform, original.plan_id)) == original


def test_update_plan_needs_a_known_plan(server: RunningServer) -> None:
    t = make_tenancy(server)
    assert_fails(
        lambda: update_plan(t.platform, catalog_pb2.Plan(name="x"), ["name"]),
        INVALID,
        "invalid_argument",
        "plan.plan_id",
    )
    for caller in (t.admin, t.platform):
        assert_fails(
            lambda c=caller: update_plan(
                c, catalog_pb2.Plan(plan_id="00000000deadbeef", name="x"), ["name"]
            ),
            NOT_FOUND,
            "plan_not_found",
        )


# --- one currency per split ------------------------------------------------------


def test_a_plan_is_priced_in_its_products_wholesale_currency(server: RunningServer) -> None:
    """docs/rules.md, "Revenue distribution": each invoice splits in one
    currency, so a region priced in another currency than a product's
    wholesale price is refused, by every road that could make one."""
    t = make_tenancy(server)
    usd_wholesale = one_product(t)  # wholesale USD 456
    free_of_it = product_without_wholesale(t.other_publisher)
    p = t.platform

    request = plan_request(
        [free_of_it, usd_wholesale],
        prices={"US": phases((999, None)), "CA": cad_phases((1299, None))},
    )
    got = assert_fails(
        lambda: p(p.catalog.CreatePlan, request),
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_argument",
        "plan.prices[CA]",
    )
    assert usd_wholesale in got.fields["plan.prices[CA]"]
    assert "USD" in got.fields["plan.prices[CA]"] and "CAD" in got.fields["plan.prices[CA]"]

    # A CAD plan of the product without a wholesale price is fine ...
    plan = create_plan(p, [free_of_it], prices={"CA": cad_phases((1299, None))})
    # ... until a product with a USD wholesale price joins it,
    assert_fails(
        lambda: update_plan(
            p,
            catalog_pb2.Plan(plan_id=plan.plan_id, product_ids=[free_of_it, usd_wholesale]),
            ["product_ids"],
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_argument",
        "plan.prices[CA]",
    )
    # or its product gets a wholesale price in another currency.
    change = catalog_pb2.UpdateProductRequest(
        product=catalog_pb2.Product(product_id=free_of_it, price_wholesale=usd(300)),
        update_mask=field_mask_pb2.FieldMask(paths=["price_wholesale"]),
    )
    publisher = t.other_publisher
    assert_fails(
        lambda: publisher(publisher.catalog.UpdateProduct, change),
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_argument",
        "product.price_wholesale.currency_code",
    )
    assert get_plan(p, plan.plan_id).product_ids == [free_of_it], "nothing was written"
    change.product.price_wholesale.CopyFrom(cad(300))
    publisher(publisher.catalog.UpdateProduct, change)  # in the plan's currency it is fine
