"""WebhookService's delivery RPCs: list, retry, replay, send a test."""

from __future__ import annotations

from bento.v1 import webhook_pb2 as pb
from bento_server.infra import webhooks
from bento_server.services.base import Servicer
from bento_server.services.messages.enums import DELIVERY_STATES
from bento_server.services.messages.webhooks import delivery_pb
from bento_server.services.rpc import Caller, Work, rpc, use, use_on_loop
from bento_server.services.validate import Check
from bento_server.usecases import webhook_deliveries
from bento_server.usecases.webhook_deliveries import Outcome


class WebhookDeliveryRpcs(Servicer):
    @rpc
    def ListWebhookDeliveries(
        self, request: pb.ListWebhookDeliveriesRequest, check: Check, caller: Caller
    ) -> Work[pb.ListWebhookDeliveriesResponse]:
        check.object_id(request.endpoint_id, "endpoint_id", required=False)
        check.object_id(request.event_id, "event_id", required=False)
        state = check.enum(DELIVERY_STATES, request.state, "state", "") or None
        return use(
            webhook_deliveries.list_deliveries,
            self.deps,
            caller.principal,
            request.endpoint_id,
            request.event_id,
            state,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListWebhookDeliveriesResponse(
                deliveries=[delivery_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    @rpc
    def RetryWebhookDelivery(
        self, request: pb.RetryWebhookDeliveryRequest, check: Check, caller: Caller
    ) -> Work[pb.RetryWebhookDeliveryResponse]:
        check.object_id(request.delivery_id, "delivery_id")
        return (
            use(webhook_deliveries.retry, self.deps, caller.principal, request.delivery_id)
            .answer(lambda row: pb.RetryWebhookDeliveryResponse(delivery=delivery_pb(row)))
            .then(lambda _: self.runtime.webhooks_due())
        )

    @rpc
    def ReplayWebhookEvents(
        self, request: pb.ReplayWebhookEventsRequest, check: Check, caller: Caller
    ) -> Work[pb.ReplayWebhookEventsResponse]:
        check.object_id(request.endpoint_id, "endpoint_id")
        check.non_negative(request.after_sequence, "after_sequence")
        return (
            use(
                webhook_deliveries.replay,
                self.deps,
                caller.principal,
                request.endpoint_id,
                request.after_sequence,
            )
            .answer(
                lambda replayed: pb.ReplayWebhookEventsResponse(
                    scheduled=replayed.scheduled, pruned_through=replayed.pruned_through
                )
            )
            .then(lambda _: self.runtime.webhooks_due())
        )

    @rpc
    def SendTestWebhook(
        self, request: pb.SendTestWebhookRequest, check: Check, caller: Caller
    ) -> Work[pb.SendTestWebhookResponse]:
        """Sends at once, on the event loop (an HTTP call, not store work),
        and records the attempt as a delivery with no sequence. Sending a
        test twice is harmless, so it takes no idempotency key."""
        check.object_id(request.endpoint_id, "endpoint_id")
        return use_on_loop(self._send_test, caller, request.endpoint_id).answer(
            lambda outcome: pb.SendTestWebhookResponse(
                status_code=outcome.status_code, error=outcome.error, delivered=outcome.delivered
            )
        )

    async def _send_test(self, caller: Caller, endpoint_id: str) -> Outcome:
        prepared = await self.call(
            webhook_deliveries.prepare_test, self.deps, caller.principal, endpoint_id
        )
        sender = self.runtime.webhooks
        outcome = await webhooks.send_test(
            self.deps, sender.client if sender is not None else None, prepared
        )
        await self.call(webhook_deliveries.record_test, self.deps, prepared, outcome)
        return outcome
