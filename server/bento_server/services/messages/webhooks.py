"""Webhook endpoints and deliveries as the API answers them."""

from __future__ import annotations

from bento.v1 import webhook_pb2
from bento_server.services.convert import timestamp
from bento_server.services.messages.enums import DELIVERY_STATES
from bento_server.store.models import WebhookDelivery, WebhookEndpoint


def endpoint_pb(row: WebhookEndpoint) -> webhook_pb2.WebhookEndpoint:
    """Never with a secret: those are answered once, by the RPC that made them."""
    return webhook_pb2.WebhookEndpoint(
        endpoint_id=row.id,
        tenant_id=row.tenant_id or "",
        url=row.url,
        event_types=row.event_types,
        description=row.description,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason or "",
        secret_created_at=timestamp(row.secret_created_at),
        previous_secret_expires_at=timestamp(row.previous_secret_expires_at),
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )


def delivery_pb(row: WebhookDelivery) -> webhook_pb2.WebhookDelivery:
    return webhook_pb2.WebhookDelivery(
        delivery_id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        sequence=row.sequence or 0,
        event_type=row.event_type,
        state=DELIVERY_STATES.number(row.state),
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        next_attempt_at=timestamp(row.next_attempt_at),
        first_attempt_at=timestamp(row.first_attempt_at),
        delivered_at=timestamp(row.delivered_at),
    )
