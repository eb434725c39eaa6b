"""Platforms, apps and API keys (admin only)."""

from __future__ import annotations

from typing import cast

from bento_server import ids
from bento_server.errors import InvalidArgument, not_found
from bento_server.store.database import KEYS_CHANGED
from bento_server.store.models import ApiKey, App, Platform
from bento_server.usecases import paging
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, Deps, Principal
from bento_server.usecases.credentials import IssuedKey, new_key_row


def create_platform(
    deps: Deps, principal: Principal, name: str, fee_rate: float, single_active_subscription: bool
) -> Platform:
    now = deps.clock.now()
    with deps.store.write():
        return cast(
            "Platform",
            Platform.create(
                id=ids.new_id(ids.PLATFORM),
                name=name,
                fee_rate=fee_rate,
                single_active_subscription=single_active_subscription,
                created_at=now,
                updated_at=now,
            ),
        )


def get_platform(deps: Deps, principal: Principal, platform_id: str) -> Platform:
    platform = Platform.get_or_none(Platform.id == platform_id)
    if platform is None:
        raise not_found("platform", platform_id)
    return cast("Platform", platform)


def list_platforms(
    deps: Deps, principal: Principal, page_size: int, page_token: str
) -> paging.Listed[Platform]:
    page = paging.page(page_size, page_token, "ListPlatforms")
    return paging.fetch(Platform.select(), page, Platform.id)


def create_app(deps: Deps, principal: Principal, name: str, activation_url_template: str) -> App:
    now = deps.clock.now()
    with deps.store.write():
        return cast(
            "App",
            App.create(
                id=ids.new_id(ids.APP),
                name=name,
                activation_url_template=activation_url_template,
                status="live",
                created_at=now,
                updated_at=now,
            ),
        )


def get_app(deps: Deps, principal: Principal, app_id: str) -> App:
    app = App.get_or_none(App.id == app_id)
    if app is None:
        raise not_found("app", app_id)
    return cast("App", app)


def list_apps(
    deps: Deps, principal: Principal, page_size: int, page_token: str
) -> paging.Listed[App]:
    page = paging.page(page_size, page_token, "ListApps")
    return paging.fetch(App.select(), page, App.id)


def create_api_key(
    deps: Deps, principal: Principal, role: str, tenant_id: str, description: str
) -> IssuedKey:
    with deps.store.write():
        _check_tenant(role, tenant_id)
        return new_key_row(role, tenant_id or None, description, deps.clock.now())


def _check_tenant(role: str, tenant_id: str) -> None:
    if role == ADMIN:
        if tenant_id:
            raise InvalidArgument.field("tenant_id", "must be empty for admin keys")
        return
    if not tenant_id:
        raise InvalidArgument.field("tenant_id", f"is required for {role} keys")
    if role == PLATFORM and Platform.get_or_none(Platform.id == tenant_id) is None:
        raise not_found("platform", tenant_id)
    if role == PUBLISHER and App.get_or_none(App.id == tenant_id) is None:
        raise not_found("app", tenant_id)


def revoke_api_key(deps: Deps, principal: Principal, key_id: str) -> ApiKey:
    with deps.store.write():
        key = ApiKey.get_or_none(ApiKey.id == key_id)
        if key is None:
            raise not_found("api_key", key_id)
        if key.revoked_at is None:
            key.revoked_at = deps.clock.now()
            key.save()
            # Cached credentials go too, and every replica's open streams of
            # this key end.
            deps.store.notify_access_changed(KEYS_CHANGED)
        return cast("ApiKey", key)


def list_api_keys(
    deps: Deps,
    principal: Principal,
    tenant_id: str,
    include_revoked: bool,
    page_size: int,
    page_token: str,
) -> paging.Listed[ApiKey]:
    page = paging.page(page_size, page_token, f"ListApiKeys|{tenant_id}|{int(include_revoked)}")
    query = ApiKey.select()
    if tenant_id:
        query = query.where(ApiKey.tenant_id == tenant_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_null())
    return paging.fetch(query, page, ApiKey.id)
