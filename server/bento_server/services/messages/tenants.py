"""Platforms, apps and API keys as the API answers them."""

from __future__ import annotations

from bento.v1 import tenant_pb2
from bento_server.services.convert import timestamp
from bento_server.services.messages.enums import APP_STATUSES, ROLES
from bento_server.store.models import ApiKey, App, Platform


def platform_pb(row: Platform) -> tenant_pb2.Platform:
    return tenant_pb2.Platform(
        platform_id=row.id,
        name=row.name,
        fee_rate=row.fee_rate,
        single_active_subscription=row.single_active_subscription,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )


def app_pb(row: App) -> tenant_pb2.App:
    return tenant_pb2.App(
        app_id=row.id,
        name=row.name,
        activation_url_template=row.activation_url_template,
        status=APP_STATUSES.number(row.status),
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )


def api_key_pb(row: ApiKey) -> tenant_pb2.ApiKey:
    return tenant_pb2.ApiKey(
        key_id=row.id,
        role=ROLES.number(row.role),
        tenant_id=row.tenant_id or "",
        description=row.description,
        created_at=timestamp(row.created_at),
        revoked_at=timestamp(row.revoked_at),
    )
