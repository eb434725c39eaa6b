"""WebhookService's endpoint RPCs: create, read, change, rotate, delete."""

from __future__ import annotations

from collections.abc import Sequence

from bento.v1 import webhook_pb2 as pb
from bento_server.errors import InvalidArgument
from bento_server.services.base import Servicer
from bento_server.services.messages.webhooks import endpoint_pb
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.usecases import events, webhook_endpoints
from bento_server.usecases.webhook_urls import refuse_bad_url

MAX_DESCRIPTION = 200
ENDPOINT_FIELDS = ("url", "event_types", "description", "disabled")


class WebhookEndpointRpcs(Servicer):
    def _check_url(self, check: Check, url: str, field: str) -> str:
        try:
            refuse_bad_url(url, self.deps.webhooks_allow_private, field)
        except InvalidArgument as error:
            check.violations.extend(error.field_violations)
        return url

    @rpc
    def CreateWebhookEndpoint(
        self, request: pb.CreateWebhookEndpointRequest, check: Check, caller: Caller
    ) -> Work[pb.CreateWebhookEndpointResponse]:
        new = webhook_endpoints.NewEndpoint(
            url=self._check_url(check, request.url, "url"),
            event_types=check_event_types(check, request.event_types, "event_types"),
            description=check.text(request.description, "description", max_length=MAX_DESCRIPTION),
            tenant_id=check.object_id(request.tenant_id, "tenant_id", required=False),
        )
        # The secret is in this answer only: a replay under the same
        # idempotency key answers without it (services.base._storable).
        return use(webhook_endpoints.create, self.deps, caller.principal, new).answer(
            lambda issued: pb.CreateWebhookEndpointResponse(
                endpoint=endpoint_pb(issued.endpoint), secret=issued.secret
            )
        )

    @rpc
    def GetWebhookEndpoint(
        self, request: pb.GetWebhookEndpointRequest, check: Check, caller: Caller
    ) -> Work[pb.GetWebhookEndpointResponse]:
        check.object_id(request.endpoint_id, "endpoint_id")
        return use(webhook_endpoints.get, self.deps, caller.principal, request.endpoint_id).answer(
            lambda row: pb.GetWebhookEndpointResponse(endpoint=endpoint_pb(row))
        )

    @rpc
    def ListWebhookEndpoints(
        self, request: pb.ListWebhookEndpointsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListWebhookEndpointsResponse]:
        return use(
            webhook_endpoints.list_,
            self.deps,
            caller.principal,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListWebhookEndpointsResponse(
                endpoints=[endpoint_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    @rpc
    def UpdateWebhookEndpoint(
        self, request: pb.UpdateWebhookEndpointRequest, check: Check, caller: Caller
    ) -> Work[pb.UpdateWebhookEndpointResponse]:
        endpoint = request.endpoint
        check.object_id(endpoint.endpoint_id, "endpoint.endpoint_id")
        paths = check.mask(request.update_mask.paths, ENDPOINT_FIELDS)
        changes = webhook_endpoints.Changes()
        if "url" in paths:
            changes.url = self._check_url(check, endpoint.url, "endpoint.url")
        if "event_types" in paths:
            changes.event_types = check_event_types(
                check, endpoint.event_types, "endpoint.event_types"
            )
        if "description" in paths:
            changes.description = check.text(
                endpoint.description, "endpoint.description", max_length=MAX_DESCRIPTION
            )
        if "disabled" in paths:
            changes.disabled = endpoint.disabled
        return use(
            webhook_endpoints.update,
            self.deps,
            caller.principal,
            endpoint.endpoint_id,
            changes,
        ).answer(lambda row: pb.UpdateWebhookEndpointResponse(endpoint=endpoint_pb(row)))

    @rpc
    def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, check: Check, caller: Caller
    ) -> Work[pb.RotateWebhookSecretResponse]:
        check.object_id(request.endpoint_id, "endpoint_id")
        return use(
            webhook_endpoints.rotate_secret, self.deps, caller.principal, request.endpoint_id
        ).answer(
            lambda issued: pb.RotateWebhookSecretResponse(
                endpoint=endpoint_pb(issued.endpoint), secret=issued.secret
            )
        )

    @rpc
    def DeleteWebhookEndpoint(
        self, request: pb.DeleteWebhookEndpointRequest, check: Check, caller: Caller
    ) -> Work[pb.DeleteWebhookEndpointResponse]:
        check.object_id(request.endpoint_id, "endpoint_id")
        return use(
            webhook_endpoints.delete, self.deps, caller.principal, request.endpoint_id
        ).answer(lambda row: pb.DeleteWebhookEndpointResponse(endpoint=endpoint_pb(row)))


def check_event_types(check: Check, types: Sequence[str], field: str) -> list[str]:
    """Event types of the log (``events.check_types``), each named once."""
    check.unique(types, field)
    try:
        events.check_types(types)
    except InvalidArgument as error:
        for violation in error.field_violations:
            check.fail(field, violation.description)
    return list(types)
