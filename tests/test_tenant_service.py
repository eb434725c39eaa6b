"""TenantService over the wire: platforms, apps and API keys."""

from __future__ import annotations

from functools import partial

import grpc
import pytest

from bento.v1 import enums_pb2, tenant_pb2
from tests.helpers.paging import every, pages
from tests.support import (
    RunningServer,
    assert_fails,
    make_key,
    make_tenancy,
    unique,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_create_get_and_list_platforms(server: RunningServer) -> None:
    admin = server.admin()
    name = unique("platform")
    created = admin(
        admin.tenant.CreatePlatform,
        tenant_pb2.CreatePlatformRequest(name=name, fee_rate=0.15, single_active_subscription=True),
    ).platform
    assert created.platform_id.startswith("PL")
    assert (created.name, created.fee_rate, created.single_active_subscription) == (
        name,
        0.15,
        True,
    )
    assert created.created_at.seconds > 0

    got = admin(
        admin.tenant.GetPlatform, tenant_pb2.GetPlatformRequest(platform_id=created.platform_id)
    )
    assert got.platform == created

    seen = []
    listing = partial(admin, admin.tenant.ListPlatforms)
    for page in pages(listing, tenant_pb2.ListPlatformsRequest(page_size=2)):
        assert len(page.platforms) <= 2
        seen.extend(p.platform_id for p in page.platforms)
    assert created.platform_id in seen
    assert len(seen) == len(set(seen)), "paging served a platform twice"
    assert seen == sorted(seen), "platforms are listed oldest first"


def test_create_get_and_list_apps(server: RunningServer) -> None:
    admin = server.admin()
    created = admin(
        admin.tenant.CreateApp,
        tenant_pb2.CreateAppRequest(
            name="Disney+", activation_url_template="https://disney.example/activate?c={code}"
        ),
    ).app
    assert created.app_id.startswith("AP")
    assert created.status == enums_pb2.APP_STATUS_LIVE
    got = admin(admin.tenant.GetApp, tenant_pb2.GetAppRequest(app_id=created.app_id)).app
    assert got == created

    listing = partial(admin, admin.tenant.ListApps)
    listed = [a.app_id for a in every(listing, tenant_pb2.ListAppsRequest(page_size=3), "apps")]
    assert created.app_id in listed
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (tenant_pb2.CreatePlatformRequest(name=""), "name"),
        (tenant_pb2.CreatePlatformRequest(name="   "), "name"),
        (tenant_pb2.CreatePlatformRequest(name="x" * 201), "name"),
        (tenant_pb2.CreatePlatformRequest(name="ok", fee_rate=1.5), "fee_rate"),
        (tenant_pb2.CreatePlatformRequest(name="ok", fee_rate=-0.1), "fee_rate"),
        (tenant_pb2.CreatePlatformRequest(name="ok", fee_rate=float("nan")), "fee_rate"),
    ],
)
def test_create_platform_refuses_bad_fields(
    server: RunningServer, request_: tenant_pb2.CreatePlatformRequest, field: str
) -> None:
    admin = server.admin()
    assert_fails(
        lambda: admin(admin.tenant.CreatePlatform, request_), INVALID, "invalid_argument", field
    )


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (
            tenant_pb2.CreateAppRequest(
                name="", activation_url_template="https://a.example/{code}"
            ),
            "name",
        ),
        (
            tenant_pb2.CreateAppRequest(name="a", activation_url_template=""),
            "activation_url_template",
        ),
        (
            tenant_pb2.CreateAppRequest(name="a", activation_url_template="https://a.example/x"),
            "activation_url_template",
        ),
        (
            tenant_pb2.CreateAppRequest(name="a", activation_url_template="ftp://a.example/{code}"),
            "activation_url_template",
        ),
    ],
)
def test_create_app_refuses_bad_fields(
    server: RunningServer, request_: tenant_pb2.CreateAppRequest, field: str
) -> None:
    admin = server.admin()
    assert_fails(
        lambda: admin(admin.tenant.CreateApp, request_), INVALID, "invalid_argument", field
    )


def test_get_unknown_tenants_is_not_found(server: RunningServer) -> None:
    admin = server.admin()
    nf = grpc.StatusCode.NOT_FOUND
    assert_fails(
        lambda: admin(admin.tenant.GetPlatform, tenant_pb2.GetPlatformRequest(platform_id="PL404")),
        nf,
        "platform_not_found",
    )
    assert_fails(
        lambda: admin(admin.tenant.GetApp, tenant_pb2.GetAppRequest(app_id="AP404")),
        nf,
        "app_not_found",
    )
    assert_fails(
        lambda: admin(admin.tenant.GetPlatform, tenant_pb2.GetPlatformRequest(platform_id="")),
        INVALID,
        "invalid_argument",
        "platform_id",
    )


def test_api_keys_show_the_secret_once_and_list_without_it(server: RunningServer) -> None:
    t = make_tenancy(server)
    admin = t.admin
    created = admin(
        admin.tenant.CreateApiKey,
        tenant_pb2.CreateApiKeyRequest(
            role=enums_pb2.ROLE_PLATFORM, tenant_id=t.platform_id, description="worker"
        ),
    )
    assert created.key_id == created.api_key.key_id
    assert created.key_id.startswith("AK") and len(created.secret) >= 32
    assert created.api_key.role == enums_pb2.ROLE_PLATFORM
    assert created.api_key.tenant_id == t.platform_id

    listed = admin(admin.tenant.ListApiKeys, tenant_pb2.ListApiKeysRequest(tenant_id=t.platform_id))
    ids = [k.key_id for k in listed.api_keys]
    assert created.key_id in ids
    assert created.secret not in str(listed), "a listing must never carry a secret"
    assert all(k.tenant_id == t.platform_id for k in listed.api_keys)


def test_revoked_key_stops_working_at_once(server: RunningServer) -> None:
    t = make_tenancy(server)
    credential = make_key(t.admin, enums_pb2.ROLE_PLATFORM, t.platform_id)
    platform = server.caller(credential)
    from bento.v1 import catalog_pb2

    platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest())
    key_id = credential.split(":")[0]
    revoked = t.admin(t.admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id=key_id))
    assert revoked.api_key.revoked_at.seconds > 0
    failed = assert_fails(
        lambda: platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest()),
        grpc.StatusCode.UNAUTHENTICATED,
        "api_key_revoked",
    )
    assert "revoked" in failed.message

    # Revoking twice answers the same revoked key.
    again = t.admin(t.admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id=key_id))
    assert again.api_key.revoked_at == revoked.api_key.revoked_at

    active = t.admin(
        t.admin.tenant.ListApiKeys, tenant_pb2.ListApiKeysRequest(tenant_id=t.platform_id)
    )
    assert key_id not in [k.key_id for k in active.api_keys]
    everything = t.admin(
        t.admin.tenant.ListApiKeys,
        tenant_pb2.ListApiKeysRequest(tenant_id=t.platform_id, include_revoked=True),
    )
    assert key_id in [k.key_id for k in everything.api_keys]


@pytest.mark.parametrize(
    ("role", "tenant", "code", "reason", "field"),
    [
        (enums_pb2.ROLE_UNSPECIFIED, "", INVALID, "invalid_argument", "role"),
        (99, "", INVALID, "invalid_argument", "role"),
        (enums_pb2.ROLE_PLATFORM, "", INVALID, "invalid_argument", "tenant_id"),
        (enums_pb2.ROLE_PUBLISHER, "", INVALID, "invalid_argument", "tenant_id"),
        (enums_pb2.ROLE_ADMIN, "PL1", INVALID, "invalid_argument", "tenant_id"),
        (enums_pb2.ROLE_PLATFORM, "PL404", grpc.StatusCode.NOT_FOUND, "platform_not_found", None),
        (enums_pb2.ROLE_PUBLISHER, "AP404", grpc.StatusCode.NOT_FOUND, "app_not_found", None),
    ],
)
def test_create_api_key_refuses_bad_roles_and_tenants(
    server: RunningServer,
    role: int,
    tenant: str,
    code: grpc.StatusCode,
    reason: str,
    field: str | None,
) -> None:
    admin = server.admin()
    assert_fails(
        lambda: admin(
            admin.tenant.CreateApiKey, tenant_pb2.CreateApiKeyRequest(role=role, tenant_id=tenant)
        ),
        code,
        reason,
        field,
    )


def test_revoke_unknown_key_is_not_found(server: RunningServer) -> None:
    admin = server.admin()
    assert_fails(
        lambda: admin(admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id="AK404")),
        grpc.StatusCode.NOT_FOUND,
        "api_key_not_found",
    )


def test_only_admins_manage_tenants(server: RunningServer) -> None:
    t = make_tenancy(server)
    calls = [
        ("CreatePlatform", tenant_pb2.CreatePlatformRequest(name="x")),
        ("GetPlatform", tenant_pb2.GetPlatformRequest(platform_id=t.platform_id)),
        ("ListPlatforms", tenant_pb2.ListPlatformsRequest()),
        (
            "CreateApp",
            tenant_pb2.CreateAppRequest(name="x", activation_url_template="https://x/{code}"),
        ),
        ("GetApp", tenant_pb2.GetAppRequest(app_id=t.app_id)),
        ("ListApps", tenant_pb2.ListAppsRequest()),
        ("CreateApiKey", tenant_pb2.CreateApiKeyRequest(role=enums_pb2.ROLE_ADMIN)),
        ("RevokeApiKey", tenant_pb2.RevokeApiKeyRequest(key_id="AK1")),
        ("ListApiKeys", tenant_pb2.ListApiKeysRequest()),
    ]
    for caller in (t.platform, t.publisher):
        for method, request in calls:
            assert_fails(
                lambda: caller(getattr(caller.tenant, method), request),
                grpc.StatusCode.PERMISSION_DENIED,
                "permission_denied",
            )
