"""TenantService: platforms, apps and API keys."""

from __future__ import annotations

import re

import grpc

from bento.v1 import tenant_pb2, tenant_pb2_grpc
from bento_server.services.base import Servicer
from bento_server.services.messages.enums import ROLES
from bento_server.services.messages.tenants import api_key_pb, app_pb, platform_pb
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
    async def CreatePlatform(
        self, request: tenant_pb2.CreatePlatformRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.CreatePlatformResponse:
        check = Check()
        check.name(request.name, "name")
        fee_rate = check.rate(request.fee_rate, "fee_rate")
        check.done()
        principal = self.principal

        def work() -> tenant_pb2.CreatePlatformResponse:
            row = tenants.create_platform(
                self.deps,
                principal,
                request.name,
                fee_rate,
                request.single_active_subscription,
            )
            return tenant_pb2.CreatePlatformResponse(platform=platform_pb(row))

        return await self.mutate(context, request, work)

    async def GetPlatform(
        self, request: tenant_pb2.GetPlatformRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.GetPlatformResponse:
        check = Check()
        check.object_id(request.platform_id, "platform_id")
        check.done()
        row = await self.call(tenants.get_platform, self.deps, self.principal, request.platform_id)
        return tenant_pb2.GetPlatformResponse(platform=platform_pb(row))

    async def ListPlatforms(
        self, request: tenant_pb2.ListPlatformsRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.ListPlatformsResponse:
        listed = await self.call(
            tenants.list_platforms, self.deps, self.principal, request.page_size, request.page_token
        )
        return tenant_pb2.ListPlatformsResponse(
            platforms=[platform_pb(row) for row in listed.items],
            next_page_token=listed.next_page_token,
        )

    async def CreateApp(
        self, request: tenant_pb2.CreateAppRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.CreateAppResponse:
        check = Check()
        check.name(request.name, "name")
        check_url_template(check, request.activation_url_template, "activation_url_template")
        check.done()
        principal = self.principal

        def work() -> tenant_pb2.CreateAppResponse:
            row = tenants.create_app(
                self.deps, principal, request.name, request.activation_url_template
            )
            return tenant_pb2.CreateAppResponse(app=app_pb(row))

        return await self.mutate(context, request, work)

    async def GetApp(
        self, request: tenant_pb2.GetAppRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.GetAppResponse:
        check = Check()
        check.object_id(request.app_id, "app_id")
        check.done()
        row = await self.call(tenants.get_app, self.deps, self.principal, request.app_id)
        return tenant_pb2.GetAppResponse(app=app_pb(row))

    async def ListApps(
        self, request: tenant_pb2.ListAppsRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.ListAppsResponse:
        listed = await self.call(
            tenants.list_apps, self.deps, self.principal, request.page_size, request.page_token
        )
        return tenant_pb2.ListAppsResponse(
            apps=[app_pb(row) for row in listed.items], next_page_token=listed.next_page_token
        )

    async def CreateApiKey(
        self, request: tenant_pb2.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.CreateApiKeyResponse:
        check = Check()
        role = check.enum(ROLES, request.role, "role")
        check.object_id(request.tenant_id, "tenant_id", required=False)
        check.name(request.description, "description", required=False)
        check.done()
        principal = self.principal

        def work() -> tenant_pb2.CreateApiKeyResponse:
            issued = tenants.create_api_key(
                self.deps, principal, role, request.tenant_id, request.description
            )
            return tenant_pb2.CreateApiKeyResponse(
                api_key=api_key_pb(issued.row), key_id=issued.row.id, secret=issued.secret
            )

        return await self.mutate(context, request, work)

    async def RevokeApiKey(
        self, request: tenant_pb2.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.RevokeApiKeyResponse:
        check = Check()
        check.object_id(request.key_id, "key_id")
        check.done()
        principal = self.principal

        def work() -> tenant_pb2.RevokeApiKeyResponse:
            row = tenants.revoke_api_key(self.deps, principal, request.key_id)
            return tenant_pb2.RevokeApiKeyResponse(api_key=api_key_pb(row))

        response = await self.mutate(context, request, work)
        self.runtime.key_revoked(request.key_id)
        return response

    async def ListApiKeys(
        self, request: tenant_pb2.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> tenant_pb2.ListApiKeysResponse:
        check = Check()
        check.object_id(request.tenant_id, "tenant_id", required=False)
        check.done()
        listed = await self.call(
            tenants.list_api_keys,
            self.deps,
            self.principal,
            request.tenant_id,
            request.include_revoked,
            request.page_size,
            request.page_token,
        )
        return tenant_pb2.ListApiKeysResponse(
            api_keys=[api_key_pb(row) for row in listed.items],
            next_page_token=listed.next_page_token,
        )
