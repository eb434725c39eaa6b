"""WebhookService's endpoint RPCs: create, read, change, rotate, delete."""

from __future__ import annotations

from bento_server.services.base import Servicer


class WebhookEndpointRpcs(Servicer):
    pass
