"""Events as the API answers them."""

from __future__ import annotations

from bento.v1 import event_pb2
from bento_server.services.convert import struct, timestamp
from bento_server.usecases.event_views import EventView


def event_pb(view: EventView) -> event_pb2.Event:
    return event_pb2.Event(
        sequence=view.sequence,
        event_id=view.event_id,
        type=view.type,
        occurred_at=timestamp(view.occurred_at),
        subscription_id=view.subscription_id,
        session_id=view.session_id,
        plan_id=view.plan_id,
        platform_id=view.platform_id,
        invoice_id=view.invoice_id,
        payment_id=view.payment_id,
        activation_session_id=view.activation_session_id,
        app_ids=view.app_ids,
        data=struct(view.data),
    )
