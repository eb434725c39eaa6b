"""CatalogService over the wire: products."""

from __future__ import annotations

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
    RunningServer,
    assert_fails,
    make_tenancy,
    product_request,
    unique,
    usd,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DENIED = grpc.StatusCode.PERMISSION_DENIED

ACCESS = enums_pb2.FEATURE_KIND_ACCESS
QUOTA = enums_pb2.FEATURE_KIND_QUOTA


def get_product(caller: Caller, product_id: str) -> catalog_pb2.Product:
    return caller(
        caller.catalog.GetProduct, catalog_pb2.GetProductRequest(product_id=product_id)
    ).product


def update_product(
    caller: Caller, product: catalog_pb2.Product, paths: list[str]
) -> catalog_pb2.Product:
    request = catalog_pb2.UpdateProductRequest(
        product=product, update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    return caller(caller.catalog.UpdateProduct, request).product


def list_products(caller: Caller, app_id: str = "", page_size: int = 100) -> list[str]:
    """Every product ID the caller lists (optionally of one app), paging to the end."""
    seen: list[str] = []
    request = catalog_pb2.ListProductsRequest(app_id=app_id, page_size=page_size)
    for page in pages(partial(caller, caller.catalog.ListProducts), request):
        assert len(page.products) <= page_size
        seen.extend(p.product_id for p in page.products)
    return seen


# --- create and get ----------------------------------------------------------


def test_create_product_round_trips_every_field(server: RunningServer) -> None:
    t = make_tenancy(server)
    name = unique("product")
    features = [
        common_pb2.Feature(code="hd", name="HD", kind=ACCESS),
        common_pb2.Feature(
            code="downloads",
            name="Downloads",
            kind=QUOTA,
            limit=10,
            reset_interval=enums_pb2.RESET_INTERVAL_MONTH,
        ),
        common_pb2.Feature(
            code="api.calls_v2",
            name="API",
            kind=QUOTA,
            limit=5000,
            reset_interval=enums_pb2.RESET_INTERVAL_BILLING_PERIOD,
        ),
        common_pb2.Feature(code="seats", name="Seats", kind=QUOTA, limit=0),
    ]
    metadata = struct(
        sku="basic-1",
        seats=3,
        ratio=0.5,
        ads=True,
        nothing=None,
        tags=["a", "b"],
        nested={"k": "v"},
    )
    localizations = {
        "en-us": common_pb2.Localization(display_name="Basic", description="With ads"),
        "fr-ca": common_pb2.Localization(display_name="De base", description="Avec pubs"),
    }
    created = create_product(
        t.publisher,
        name=name,
        internal_id="basic_tier1",
        description="The basic tier",
        product_type="streaming",
        features=features,
        prices={"US": usd(999), "CA": cad(1299)},
        price_wholesale=usd(456),
        localizations=localizations,
        metadata=metadata,
    )

    assert created.product_id.startswith("PR")
    assert created.app_id == t.app_id
    assert (created.name, created.internal_id, created.description, created.product_type) == (
        name,
        "basic_tier1",
        "The basic tier",
        "streaming",
    )
    assert created.status == enums_pb2.PRODUCT_STATUS_ACTIVE, "products are active by default"
    assert [f.code for f in created.features] == ["hd", "downloads", "api.calls_v2", "seats"]
    hd, downloads, api, seats = created.features
    assert (hd.name, hd.kind, hd.limit) == ("HD", ACCESS, 0)
    # An access feature without a reset interval is stored as "never".
    assert hd.reset_interval == enums_pb2.RESET_INTERVAL_NEVER
    assert downloads == features[1]
    assert api == features[2]
    assert (seats.kind, seats.limit, seats.reset_interval) == (
        QUOTA,
        0,
        enums_pb2.RESET_INTERVAL_NEVER,
    )
    assert dict(created.prices) == {"US": usd(999), "CA": cad(1299)}
    assert created.price_wholesale == usd(456)
    assert dict(created.localizations) == localizations
    assert created.metadata == metadata
    assert created.metadata.fields["nested"].struct_value.fields["k"].string_value == "v"
    assert created.created_at.seconds > 0
    assert created.updated_at == created.created_at

    for reader in (t.publisher, t.admin, t.platform, t.other_platform):
        assert get_product(reader, created.product_id) == created


def test_create_product_with_explicit_status_and_no_optional_fields(server: RunningServer) -> None:
    t = make_tenancy(server)
    request = catalog_pb2.CreateProductRequest(
        product=catalog_pb2.Product(name="Bare", status=enums_pb2.PRODUCT_STATUS_INACTIVE)
    )
    created = t.publisher(t.publisher.catalog.CreateProduct, request).product
    assert created.status == enums_pb2.PRODUCT_STATUS_INACTIVE
    assert created.app_id == t.app_id
    assert (created.internal_id, created.description, created.product_type) == ("", "", "")
    assert list(created.features) == []
    assert dict(created.prices) == {}
    assert not created.HasField("price_wholesale")
    assert dict(created.localizations) == {}
    assert created.metadata == struct_pb2.Struct()
    assert get_product(t.publisher, created.product_id) == created


def test_admin_must_name_an_existing_app(server: RunningServer) -> None:
    t = make_tenancy(server)
    admin = t.admin
    created = create_product(admin, t.other_app_id, name="Admin made")
    assert created.app_id == t.other_app_id
    assert get_product(t.other_publisher, created.product_id).name == "Admin made"

    assert_fails(
        lambda: admin(admin.catalog.CreateProduct, product_request("")),
        INVALID,
        "invalid_argument",
        "product.app_id",
    )
    assert_fails(
        lambda: admin(admin.catalog.CreateProduct, product_request("AP404")),
        NOT_FOUND,
        "app_not_found",
    )
    assert_fails(
        lambda: admin(admin.catalog.CreateProduct, catalog_pb2.CreateProductRequest()),
        INVALID,
        "invalid_argument",
        "product",
    )
    assert list_products(admin, t.app_id) == []
    assert list_products(admin, t.other_app_id) == [created.product_id]


def test_publisher_defaults_to_its_own_app_and_cannot_create_for_another(
    server: RunningServer,
) -> None:
    t = make_tenancy(server)
    implicit = create_product(t.publisher, "")
    explicit = create_product(t.publisher, t.app_id)
    assert implicit.app_id == explicit.app_id == t.app_id

    for app_id in (t.other_app_id, "AP404"):
        assert_fails(
            lambda app_id=app_id: t.publisher(
                t.publisher.catalog.CreateProduct, product_request(app_id)
            ),
            NOT_FOUND,
            "app_not_found",
        )
    assert list_products(t.admin, t.other_app_id) == []
    assert list_products(t.admin, t.app_id) == [implicit.product_id, explicit.product_id]


def test_platform_keys_cannot_write_products_but_read_every_product(
    server: RunningServer,
) -> None:
    t = make_tenancy(server)
    mine = create_product(t.publisher)
    theirs = create_product(t.other_publisher)
    platform = t.platform

    for app_id in ("", t.app_id):
        assert_fails(
            lambda app_id=app_id: platform(platform.catalog.CreateProduct, product_request(app_id)),
            DENIED,
            "permission_denied",
        )
    renamed = catalog_pb2.Product(product_id=mine.product_id, name="Hijacked")
    assert_fails(lambda: update_product(platform, renamed, ["name"]), DENIED, "permission_denied")

    assert get_product(platform, mine.product_id) == mine
    assert get_product(platform, theirs.product_id) == theirs
    assert list_products(platform, t.app_id) == [mine.product_id]
    assert list_products(platform, t.other_app_id) == [theirs.product_id]
    everything = list_products(platform)
    assert mine.product_id in everything and theirs.product_id in everything
    assert get_product(t.admin, mine.product_id).name == mine.name, (
        "the refused update left no mark"
    )


def test_publisher_cannot_see_or_change_another_apps_product(server: RunningServer) -> None:
    t = make_tenancy(server)
    mine = create_product(t.publisher)
    theirs = create_product(t.other_publisher)
    publisher = t.publisher

    assert get_product(publisher, mine.product_id) == mine
    assert_fails(lambda: get_product(publisher, theirs.product_id), NOT_FOUND, "product_not_found")
    renamed = catalog_pb2.Product(product_id=theirs.product_id, name="Hijacked")
    assert_fails(
        lambda: update_product(publisher, renamed, ["name"]), NOT_FOUND, "product_not_found"
    )
    assert get_product(t.other_publisher, theirs.product_id) == theirs

    # A publisher lists its own app's products and nothing else.
    assert list_products(publisher) == [mine.product_id]
    assert list_products(publisher, t.app_id) == [mine.product_id]
    assert list_products(t.other_publisher) == [theirs.product_id]
    # Asking for another app's listing reveals nothing about it.
    assert_fails(lambda: list_products(publisher, t.other_app_id), NOT_FOUND, "app_not_found")


def test_get_unknown_or_missing_product(server: RunningServer) -> None:
    t = make_tenancy(server)
    for caller in (t.admin, t.platform, t.publisher):
        assert_fails(lambda c=caller: get_product(c, "PR404"), NOT_FOUND, "product_not_found")
    assert_fails(lambda: get_product(t.admin, ""), INVALID, "invalid_argument", "product_id")
    assert_fails(lambda: get_product(t.admin, "PR 1"), INVALID, "invalid_argument", "product_id")


# --- bad input ---------------------------------------------------------------


def feature(code: str = "hd", kind: int = ACCESS, **fields: Any) -> common_pb2.Feature:
    return common_pb2.Feature(code=code, name="F", kind=kind, **fields)


BAD_PRODUCTS: list[tuple[str, dict[str, Any], str]] = [
    ("empty name", {"name": ""}, "product.name"),
    ("blank name", {"name": "   "}, "product.name"),
    ("long name", {"name": "x" * 201}, "product.name"),
    ("NUL in name", {"name": "a\x00b"}, "product.name"),
    ("long internal id", {"internal_id": "x" * 201}, "product.internal_id"),
    ("long product type", {"product_type": "x" * 201}, "product.product_type"),
    ("long description", {"description": "x" * 10_001}, "product.description"),
    ("status 99", {"status": 99}, "product.status"),
    ("upper-case code", {"features": [feature("HD")]}, "product.features[0].code"),
    ("code with space", {"features": [feature("h d")]}, "product.features[0].code"),
    ("empty code", {"features": [feature("")]}, "product.features[0].code"),
    ("long code", {"features": [feature("a" * 65)]}, "product.features[0].code"),
    (
        "duplicate codes",
        {"features": [feature("hd"), feature("hd", QUOTA, limit=1)]},
        "product.features",
    ),
    (
        "kind unspecified",
        {"features": [feature(kind=enums_pb2.FEATURE_KIND_UNSPECIFIED)]},
        "product.features[0].kind",
    ),
    ("kind 99", {"features": [feature(kind=99)]}, "product.features[0].kind"),
    ("access with a limit", {"features": [feature(limit=5)]}, "product.features[0]"),
    (
        "access with a reset",
        {"features": [feature(reset_interval=enums_pb2.RESET_INTERVAL_DAY)]},
        "product.features[0]",
    ),
    (
        "negative limit",
        {"features": [feature("n", QUOTA, limit=-1)]},
        "product.features[0].limit",
    ),
    (
        "reset 99",
        {"features": [feature("n", QUOTA, limit=1, reset_interval=99)]},
        "product.features[0].reset_interval",
    ),
    (
        "second feature bad",
        {"features": [feature("ok"), feature("Bad!")]},
        "product.features[1].code",
    ),
    ("lower-case region", {"prices": {"us": usd(1)}}, "product.prices[us]"),
    ("long region", {"prices": {"USAUSAUSA": usd(1)}}, "product.prices[USAUSAUSA]"),
    (
        "lower-case currency",
        {"prices": {"US": common_pb2.Price(price_in_cents=1, currency_code="usd")}},
        "product.prices[US].currency_code",
    ),
    (
        "missing currency",
        {"prices": {"US": common_pb2.Price(price_in_cents=1)}},
        "product.prices[US].currency_code",
    ),
    (
        "negative price",
        {"prices": {"US": common_pb2.Price(price_in_cents=-1, currency_code="USD")}},
        "product.prices[US].price_in_cents",
    ),
    (
        "negative wholesale",
        {"price_wholesale": common_pb2.Price(price_in_cents=-5, currency_code="USD")},
        "product.price_wholesale.price_in_cents",
    ),
    (
        "bad wholesale currency",
        {"price_wholesale": common_pb2.Price(price_in_cents=5, currency_code="US")},
        "product.price_wholesale.currency_code",
    ),
    (
        "upper-case language",
        {"localizations": {"EN": common_pb2.Localization(display_name="x")}},
        "product.localizations[EN]",
    ),
    (
        "long display name",
        {"localizations": {"en-us": common_pb2.Localization(display_name="x" * 201)}},
        "product.localizations[en-us].display_name",
    ),
    ("huge metadata", {"metadata": struct(blob="x" * 17_000)}, "product.metadata"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [(overrides, field) for _, overrides, field in BAD_PRODUCTS],
    ids=[case for case, _, _ in BAD_PRODUCTS],
)
def test_create_product_refuses_bad_fields(
    server: RunningServer, overrides: dict[str, Any], field: str
) -> None:
    t = make_tenancy(server)
    publisher = t.publisher
    got = assert_fails(
        lambda: publisher(publisher.catalog.CreateProduct, product_request(**overrides)),
        INVALID,
        "invalid_argument",
        field,
    )
    assert set(got.fields) == {field}, got
    assert list_products(publisher) == [], "a refused product must not be stored"


def test_create_product_names_every_bad_field_at_once(server: RunningServer) -> None:
    t = make_tenancy(server)
    request = product_request(
        name="",
        features=[feature("BAD")],
        prices={"US": common_pb2.Price(price_in_cents=-1, currency_code="usd")},
    )
    got = assert_fails(
        lambda: t.publisher(t.publisher.catalog.CreateProduct, request), INVALID, "invalid_argument"
    )
    assert set(got.fields) == {
        "product.name",
        "product.features[0].code",
        "product.prices[US].price_in_cents",
        "product.prices[US].currency_code",
    }


# --- update ------------------------------------------------------------------


def test_update_product_changes_only_the_masked_fields(server: RunningServer) -> None:
    t = make_tenancy(server)
    original = create_product(t.publisher, metadata=struct(a=1))
    new_features = [
        feature("offline", QUOTA, limit=3, reset_interval=enums_pb2.RESET_INTERVAL_WEEK)
    ]
    proposal = catalog_pb2.Product(
        product_id=original.product_id,
        app_id=t.other_app_id,
        name="Renamed",
        internal_id="new_internal",
        description="Changed description",
        product_type="music",
        status=enums_pb2.PRODUCT_STATUS_INACTIVE,
        features=new_features,
        prices={"CA": cad(1500)},
        localizations={"de": common_pb2.Localization(display_name="Basis")},
        metadata=struct(b=2),
    )

    updated = update_product(t.publisher, proposal, ["name", "prices"])
    assert updated.name == "Renamed"
    assert dict(updated.prices) == {"CA": cad(1500)}, "a masked map is replaced whole"
    unchanged = catalog_pb2.Product()
    unchanged.CopyFrom(updated)
    unchanged.name = original.name
    unchanged.updated_at.CopyFrom(original.updated_at)
    unchanged.prices.clear()
    unchanged.prices.MergeFrom(original.prices)
    assert unchanged == original, "fields outside the mask must not change"
    assert updated.app_id == t.app_id
    assert updated.updated_at.ToMicroseconds() >= original.updated_at.ToMicroseconds()
    assert get_product(t.publisher, original.product_id) == updated

    updated = update_product(
        t.admin,
        proposal,
        ["internal_id", "description", "product_type", "status", "features"],
    )
    assert (updated.internal_id, updated.description, updated.product_type) == (
        "new_internal",
        "Changed description",
        "music",
    )
    assert updated.status == enums_pb2.PRODUCT_STATUS_INACTIVE
    assert list(updated.features) == new_features
    assert dict(updated.localizations) == dict(original.localizations)
    assert updated.metadata == struct(a=1)

    updated = update_product(
        t.publisher, proposal, ["localizations", "metadata", "price_wholesale"]
    )
    assert dict(updated.localizations) == {"de": common_pb2.Localization(display_name="Basis")}
    assert updated.metadata == struct(b=2)
    assert not updated.HasField("price_wholesale"), "an unset masked price clears it"
    assert updated.name == "Renamed" and updated.app_id == t.app_id
    assert get_product(t.platform, original.product_id) == updated

    # Zero-valued status in the mask goes back to the default.
    reset = update_product(
        t.publisher, catalog_pb2.Product(product_id=original.product_id), ["status", "features"]
    )
    assert reset.status == enums_pb2.PRODUCT_STATUS_ACTIVE
    assert list(reset.features) == []


@pytest.mark.parametrize(
    ("paths", "product", "field"),
    [
        ([], catalog_pb2.Product(name="x"), "update_mask"),
        (["app_id"], catalog_pb2.Product(app_id="AP1"), "update_mask"),
        (["product_id"], catalog_pb2.Product(), "update_mask"),
        (["created_at"], catalog_pb2.Product(), "update_mask"),
        (["bogus"], catalog_pb2.Product(), "update_mask"),
        (["name", "bogus"], catalog_pb2.Product(name="ok"), "update_mask"),
        (["name"], catalog_pb2.Product(name=""), "product.name"),
        (["status"], catalog_pb2.Product(status=99), "product.status"),
        (
            ["features"],
            catalog_pb2.Product(features=[feature(), feature()]),
            "product.features",
        ),
        (["prices"], catalog_pb2.Product(prices={"us": usd(1)}), "product.prices[us]"),
    ],
)
def test_update_product_refuses_bad_masks_and_values(
    server: RunningServer, paths: list[str], product: catalog_pb2.Product, field: str
) -> None:
    t = make_tenancy(server)
    original = create_product(t.publisher)
    request = catalog_pb2.Product()
    request.CopyFrom(product)
    request.product_id = original.product_id
    got = assert_fails(
        lambda: update_product(t.publisher, request, paths), INVALID, "invalid_argument", field
    )
    assert set(got.fields) == {field}, got
    assert get_product(t.publisher, original.product_id) == original


def test_update_product_needs_a_known_product(server: RunningServer) -> None:
    t = make_tenancy(server)
    assert_fails(
        lambda: update_product(t.admin, catalog_pb2.Product(name="x"), ["name"]),
        INVALID,
        "invalid_argument",
        "product.product_id",
    )
    for caller in (t.admin, t.publisher):
        assert_fails(
            lambda c=caller: update_product(
                c, catalog_pb2.Product(product_id="PR404", name="x"), ["name"]
            ),
            NOT_FOUND,
            "product_not_found",
        )


# --- list --------------------------------------------------------------------


def test_list_products_pages_to_the_end_in_a_stable_order(server: RunningServer) -> None:
    t = make_tenancy(server)
    created = [create_product(t.publisher).product_id for _ in range(5)]
    create_product(t.other_publisher)

    def walk(caller: Caller, app_id: str) -> list[str]:
        seen: list[str] = []
        request = catalog_pb2.ListProductsRequest(app_id=app_id, page_size=1)
        for page in pages(partial(caller, caller.catalog.ListProducts), request):
            assert len(page.products) == 1
            seen.extend(p.product_id for p in page.products)
        return seen

    first = walk(t.admin, t.app_id)
    assert first == created, "products are listed oldest first"
    assert first == sorted(first), "IDs ascend with creation"
    assert len(set(first)) == len(first), "paging served a product twice"
    assert walk(t.admin, t.app_id) == first, "the order is stable"
    assert walk(t.publisher, "") == first
    assert walk(t.platform, t.app_id) == first


def test_list_products_filters_by_app(server: RunningServer) -> None:
    t = make_tenancy(server)
    mine = [create_product(t.publisher).product_id for _ in range(2)]
    theirs = [create_product(t.other_publisher).product_id]
    page = t.admin(t.admin.catalog.ListProducts, catalog_pb2.ListProductsRequest(app_id=t.app_id))
    assert [p.product_id for p in page.products] == mine
    assert {p.app_id for p in page.products} == {t.app_id}
    assert page.next_page_token == ""
    assert list_products(t.admin, t.other_app_id) == theirs
    everything = list_products(t.admin)
    assert set(mine + theirs) <= set(everything)
    assert everything == sorted(everything)
    assert_fails(lambda: list_products(t.admin, "AP 1"), INVALID, "invalid_argument", "app_id")


def test_list_products_refuses_foreign_page_tokens(server: RunningServer) -> None:
    t = make_tenancy(server)
    for _ in range(2):
        create_product(t.publisher)
    admin = t.admin

    platforms = admin(admin.tenant.ListPlatforms, tenant_pb2.ListPlatformsRequest(page_size=1))
    assert platforms.next_page_token, "two platforms exist, so there is a next page"
    own = admin(
        admin.catalog.ListProducts, catalog_pb2.ListProductsRequest(app_id=t.app_id, page_size=1)
    )
    assert own.next_page_token
    # The token works for the list it came from.
    follow = admin(
        admin.catalog.ListProducts,
        catalog_pb2.ListProductsRequest(
            app_id=t.app_id, page_size=1, page_token=own.next_page_token
        ),
    )
    assert len(follow.products) == 1 and follow.products[0] != own.products[0]

    bad_requests: list[tuple[Caller, catalog_pb2.ListProductsRequest]] = [
        (admin, catalog_pb2.ListProductsRequest(page_token="garbage")),
        (admin, catalog_pb2.ListProductsRequest(page_token="!!!")),
        (admin, catalog_pb2.ListProductsRequest(page_token=own.next_page_token[:-2])),
        (admin, catalog_pb2.ListProductsRequest(page_token=platforms.next_page_token)),
        # The same list with another filter, or for another caller, is another list.
        (admin, catalog_pb2.ListProductsRequest(page_token=own.next_page_token)),
        (
            admin,
            catalog_pb2.ListProductsRequest(app_id=t.other_app_id, page_token=own.next_page_token),
        ),
        (
            t.publisher,
            catalog_pb2.ListProductsRequest(app_id=t.app_id, page_token=own.next_page_token),
        ),
    ]
    for caller, request in bad_requests:
        assert_fails(
            lambda c=caller, r=request: c(c.catalog.ListProducts, r),
            INVALID,
            "invalid_page_token",
            "page_token",
        )


def test_list_products_page_sizes(server: RunningServer) -> None:
    t = make_tenancy(server)
    created = [create_product(t.publisher).product_id for _ in range(3)]
    admin = t.admin

    def page(size: int) -> catalog_pb2.ListProductsResponse:
        return admin(
            admin.catalog.ListProducts,
            catalog_pb2.ListProductsRequest(app_id=t.app_id, page_size=size),
        )

    for size in (0, 3, 100, 101, 10_000):
        listed = page(size)
        assert [p.product_id for p in listed.products] == created, size
        assert listed.next_page_token == ""
    two = page(2)
    assert [p.product_id for p in two.products] == created[:2]
    assert two.next_page_token

    huge = admin(admin.catalog.ListProducts, catalog_pb2.ListProductsRequest(page_size=10_000))
    assert 3 <= len(huge.products) <= 100, "a page size above 100 is read as 100"
    if huge.next_page_token:
        assert len(huge.products) == 100

    got = assert_fails(lambda: page(-1), INVALID, "invalid_argument", "page_size")
    assert set(got.fields) == {"page_size"}
