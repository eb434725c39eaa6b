"""Webhook endpoints: where, and which, events are POSTed.

An endpoint belongs to a tenant and receives that tenant's view of the log:
a publisher key's endpoints are its app's (role publisher), a platform
key's its platform's, and an admin key may make one for any platform or
app, or one of its own (no tenant) that sees every event. Another tenant's
endpoint answers NOT_FOUND, never revealing that it exists.

A signing secret is made here, sealed with ``deps.secrets`` before it is
stored, and handed back only in the answer that made it.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

import peewee

from bento_server import ids
from bento_server.errors import InvalidArgument, not_found
from bento_server.store.models import App, Platform, WebhookDelivery, WebhookEndpoint
from bento_server.usecases import events, paging, scoping
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, Deps, Principal

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# How long the previous secret signs beside a rotated one.
ROTATION_OVERLAP = timedelta(hours=24)
BY_OWNER = "by_owner"


@dataclass(frozen=True)
class NewEndpoint:
    url: str
    event_types: list[str]
    description: str
    # Admin keys only: the platform or app it is for; "" for the caller's own.
    tenant_id: str = ""


@dataclass
class Changes:
    """The fields an update names; None leaves a field as it is."""

    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    disabled: bool | None = None


@dataclass(frozen=True)
class Issued:
    """An endpoint and its new secret, in the clear this once."""

    endpoint: WebhookEndpoint
    secret: str = field(repr=False)


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def owner_of(endpoint: WebhookEndpoint) -> Principal:
    """Whose view of the log ``endpoint`` receives: a principal of no key."""
    return Principal(key_id="", role=endpoint.role, tenant_id=endpoint.tenant_id)


def owned_by(principal: Principal) -> peewee.ModelSelect:
    """The endpoints ``principal`` may touch: its tenant's, or all (admin)."""
    query = WebhookEndpoint.select()
    if not principal.is_admin:
        query = query.where(
            (WebhookEndpoint.role == principal.role)
            & (WebhookEndpoint.tenant_id == principal.tenant_id)
        )
    return query


def find(
    deps: Deps, principal: Principal, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    query = owned_by(principal).where(WebhookEndpoint.id == endpoint_id)
    row = (scoping.lock_rows(deps.store, query) if lock else query).first()
    if row is None:
        raise not_found("webhook_endpoint", endpoint_id)
    return cast("WebhookEndpoint", row)


def _owner_for(principal: Principal, tenant_id: str) -> tuple[str, str | None]:
    """The role and tenant of an endpoint ``principal`` creates."""
    if not principal.is_admin:
        if tenant_id and tenant_id != principal.tenant_id:
            raise InvalidArgument.field(
                "tenant_id", f"{principal.role} keys make endpoints of their own tenant only"
            )
        return principal.role, principal.tenant_id
    if not tenant_id:
        return ADMIN, None
    if Platform.get_or_none(Platform.id == tenant_id) is not None:
        return PLATFORM, tenant_id
    if App.get_or_none(App.id == tenant_id) is not None:
        return PUBLISHER, tenant_id
    kind = "app" if tenant_id.startswith(ids.APP) else "platform"
    raise not_found(kind, tenant_id)


def create(deps: Deps, principal: Principal, new: NewEndpoint) -> Issued:
    now = deps.clock.now()
    secret = new_secret()
    with deps.store.write():
        role, tenant_id = _owner_for(principal, new.tenant_id)
        row = WebhookEndpoint.create(
            id=ids.new_id(ids.WEBHOOK_ENDPOINT),
            role=role,
            tenant_id=tenant_id,
            url=new.url,
            event_types=list(new.event_types),
            description=new.description,
            disabled=False,
            disabled_reason=None,
            secret_sealed=deps.secrets.seal(secret),
            secret_created_at=now,
            # It receives what happens from now on, not the log's past.
            cursor=events.head(),
            created_at=now,
            updated_at=now,
        )
    return Issued(row, secret)


def get(deps: Deps, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    return find(deps, principal, endpoint_id)


def list_(
    deps: Deps, principal: Principal, page_size: int, page_token: str
) -> paging.Listed[WebhookEndpoint]:
    scope = f"ListWebhookEndpoints|{principal.role}|{principal.tenant_id or ''}"
    page = paging.page(page_size, page_token, scope)
    return paging.fetch(owned_by(principal), page, WebhookEndpoint.id)


def update(deps: Deps, principal: Principal, endpoint_id: str, changes: Changes) -> WebhookEndpoint:
    now = deps.clock.now()
    with deps.store.write():
        row = find(deps, principal, endpoint_id, lock=True)
        if changes.url is not None:
            row.url = changes.url
        if changes.event_types is not None:
            row.event_types = list(changes.event_types)
        if changes.description is not None:
            row.description = changes.description
        if changes.disabled is True:
            row.disabled = True
            row.disabled_reason = BY_OWNER
        elif changes.disabled is False:
            if row.disabled:
                # Enabled again: its backlog goes out now, not at the end of
                # whatever backoff its pending deliveries had reached.
                WebhookDelivery.update(next_attempt_at=now, updated_at=now).where(
                    (WebhookDelivery.endpoint == row.id) & (WebhookDelivery.state == "pending")
                ).execute()
            row.disabled = False
            row.disabled_reason = None
        row.updated_at = now
        row.save()
        return row


def rotate_secret(deps: Deps, principal: Principal, endpoint_id: str) -> Issued:
    now = deps.clock.now()
    secret = new_secret()
    with deps.store.write():
        row = find(deps, principal, endpoint_id, lock=True)
        row.previous_secret_sealed = row.secret_sealed
        row.previous_secret_expires_at = now + ROTATION_OVERLAP
        row.secret_sealed = deps.secrets.seal(secret)
        row.secret_created_at = now
        row.updated_at = now
        row.save()
    return Issued(row, secret)


def delete(deps: Deps, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    """Deletes the endpoint and its deliveries; answers it as it was."""
    with deps.store.write():
        row = find(deps, principal, endpoint_id, lock=True)
        WebhookDelivery.delete().where(WebhookDelivery.endpoint == row.id).execute()
        WebhookEndpoint.delete().where(WebhookEndpoint.id == row.id).execute()
        return row
