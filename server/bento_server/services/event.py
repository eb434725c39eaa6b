"""EventService: the operations log (ListEvents). WatchEvents comes with the
live streams."""

from __future__ import annotations

from typing import Any

import grpc

from bento.v1 import event_pb2, event_pb2_grpc
from bento_server.errors import Unimplemented
from bento_server.services.base import Servicer
from bento_server.services.convert import struct, timestamp
from bento_server.services.validate import Check
from bento_server.store.models import Event
from bento_server.usecases import events

MAX_TYPES = 50


def event_pb(row: Event) -> event_pb2.Event:
    return event_pb2.Event(
        sequence=row.sequence,
        event_id=row.event_id,
        type=row.type,
        occurred_at=timestamp(row.occurred_at),
        subscription_id=row.subscription_id or "",
        session_id=row.session_id or "",
        plan_id=row.plan_id or "",
        platform_id=row.platform_id or "",
        invoice_id=row.invoice_id or "",
        payment_id=row.payment_id or "",
        activation_session_id=row.activation_session_id or "",
        app_ids=row.app_ids,
        data=struct(row.data),
    )


class EventService(Servicer, event_pb2_grpc.EventServiceServicer):
    async def ListEvents(
        self, request: event_pb2.ListEventsRequest, context: grpc.aio.ServicerContext
    ) -> event_pb2.ListEventsResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id", required=False)
        check.text(request.session_id, "session_id", max_length=200)
        check.object_id(request.plan_id, "plan_id", required=False)
        check.at_most(len(request.types), "types", MAX_TYPES)
        for n, kind in enumerate(request.types):
            check.name(kind, f"types[{n}]")
        check.non_negative(request.after_sequence, "after_sequence")
        check.done()
        listed = await self.call(
            events.list_events,
            self.deps,
            self.principal,
            request.subscription_id,
            request.session_id,
            request.plan_id,
            list(request.types),
            request.after_sequence,
            request.page_size,
            request.page_token,
        )
        return event_pb2.ListEventsResponse(
            events=[event_pb(row) for row in listed.items], next_page_token=listed.next_page_token
        )

    async def WatchEvents(self, request: Any, context: Any) -> Any:
        raise Unimplemented("EventService.WatchEvents is not implemented yet")
        yield  # a streaming handler is an async generator
