"""TenantService: platforms, apps and API keys."""

from __future__ import annotations

import re

from bento.v1 import tenant_pb2 as pb
from bento.v1 import tenant_pb2_grpc
from bento_server.services.base import Servicer
from bento_server.services.messages.enums import ROLES
from bento_server.services.messages.tenants import api_key_pb, app_pb, platform_pb
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.usecases import tenants

_URL_TEMPLATE = re.compile(r"^https?://[^\s{}]+[^\s]*$")


def check_url_template(check: Check, value: str, field: str) -> None:
    check.text(value, field, required=True, max_length=2000)
    if value and "{code}" not in value:
        check.fail(field, "must contain the {code} placeholder")
    elif value and not _URL_TEMPLATE.match(value):
        check.fail(field, "must be an http or https URL")


class TenantService(Servicer, tenant_pb2_grpc.TenantServiceServicer):
    @rpc
    def CreatePlatform(
        self, request: pb.CreatePlatformRequest, check: Check, caller: Caller
    ) -> Work[pb.CreatePlatformResponse]:
        check.name(request.name, "name")
        fee_rate = check.rate(request.fee_rate, "fee_rate")
        return use(
            tenants.create_platform,
            self.deps,
            caller.principal,
            request.name,
            fee_rate,
            request.single_active_subscription,
        ).answer(lambda row: pb.CreatePlatformResponse(platform=platform_pb(row)))

    @rpc
    def GetPlatform(
        self, request: pb.GetPlatformRequest, check: Check, caller: Caller
    ) -> Work[pb.GetPlatformResponse]:
        check.object_id(request.platform_id, "platform_id")
        return use(tenants.get_platform, self.deps, caller.principal, request.platform_id).answer(
            lambda row: pb.GetPlatformResponse(platform=platform_pb(row))
        )

    @rpc
    def ListPlatforms(
        self, request: pb.ListPlatformsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListPlatformsResponse]:
        return use(
            tenants.list_platforms,
            self.deps,
            caller.principal,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListPlatformsResponse(
                platforms=[platform_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    @rpc
    def CreateApp(
        self, request: pb.CreateAppRequest, check: Check, caller: Caller
    ) -> Work[pb.CreateAppResponse]:
        check.name(request.name, "name")
        check_url_template(check, request.activation_url_template, "activation_url_template")
        return use(
            tenants.create_app,
            self.deps,
            caller.principal,
            request.name,
            request.activation_url_template,
        ).answer(lambda row: pb.CreateAppResponse(app=app_pb(row)))

    @rpc
    def GetApp(
        self, request: pb.GetAppRequest, check: Check, caller: Caller
    ) -> Work[pb.GetAppResponse]:
        check.object_id(request.app_id, "app_id")
        return use(tenants.get_app, self.deps, caller.principal, request.app_id).answer(
            lambda row: pb.GetAppResponse(app=app_pb(row))
        )

    @rpc
    def ListApps(
        self, request: pb.ListAppsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListAppsResponse]:
        return use(
            tenants.list_apps, self.deps, caller.principal, request.page_size, request.page_token
        ).answer(
            lambda listed: pb.ListAppsResponse(
                apps=[app_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    @rpc
    def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, check: Check, caller: Caller
    ) -> Work[pb.CreateApiKeyResponse]:
        role = check.enum(ROLES, request.role, "role")
        check.object_id(request.tenant_id, "tenant_id", required=False)
        check.name(request.description, "description", required=False)
        return use(
            tenants.create_api_key,
            self.deps,
            caller.principal,
            role,
            request.tenant_id,
            request.description,
        ).answer(
            lambda issued: pb.CreateApiKeyResponse(
                api_key=api_key_pb(issued.row), key_id=issued.row.id, secret=issued.secret
            )
        )

    @rpc
    def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, check: Check, caller: Caller
    ) -> Work[pb.RevokeApiKeyResponse]:
        check.object_id(request.key_id, "key_id")
        return (
            use(tenants.revoke_api_key, self.deps, caller.principal, request.key_id)
            .answer(lambda row: pb.RevokeApiKeyResponse(api_key=api_key_pb(row)))
            .then(lambda answer: self.runtime.key_revoked(request.key_id))
        )

    @rpc
    def ListApiKeys(
        self, request: pb.ListApiKeysRequest, check: Check, caller: Caller
    ) -> Work[pb.ListApiKeysResponse]:
        check.object_id(request.tenant_id, "tenant_id", required=False)
        return use(
            tenants.list_api_keys,
            self.deps,
            caller.principal,
            request.tenant_id,
            request.include_revoked,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListApiKeysResponse(
                api_keys=[api_key_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )
