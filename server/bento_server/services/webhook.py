"""WebhookService: endpoints (services.webhook_endpoints) and the deliveries
made to them (services.webhook_deliveries)."""

from __future__ import annotations

from bento.v1 import webhook_pb2_grpc
from bento_server.services.webhook_deliveries import WebhookDeliveryRpcs
from bento_server.services.webhook_endpoints import WebhookEndpointRpcs


class WebhookService(
    WebhookEndpointRpcs, WebhookDeliveryRpcs, webhook_pb2_grpc.WebhookServiceServicer
):
    pass
