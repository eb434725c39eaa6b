"""WebhookService's delivery RPCs: list, retry, replay, send a test."""

from __future__ import annotations

from bento_server.services.base import Servicer


class WebhookDeliveryRpcs(Servicer):
    pass
