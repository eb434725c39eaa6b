"""EntitlementService: access checks and quota usage."""

from __future__ import annotations

import grpc

from bento.v1 import common_pb2, entitlement_pb2, entitlement_pb2_grpc
from bento_server.infra.read_batch import ReadBatcher
from bento_server.runtime import Runtime
from bento_server.services.base import Servicer
from bento_server.services.convert import timestamp
from bento_server.services.messages.entitlements import usage_pb
from bento_server.services.messages.enums import FEATURE_KINDS, REASONS, RESET_INTERVALS
from bento_server.services.validate import Check
from bento_server.usecases import entitlements, features

MAX_SESSION_ID = 200
MAX_QUANTITY = 10**12


class EntitlementService(Servicer, entitlement_pb2_grpc.EntitlementServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        store = runtime.deps.store
        self._checker = entitlements.AccessChecker(store, runtime.access_cache)
        if store.is_postgres:
            # A round trip costs more than the read it carries: concurrent
            # checks share one (infra.read_batch).
            batch = ReadBatcher(self._checker.subscriptions_of_many)
            self._checker.read_subscriptions = batch.read

    async def CheckAccess(
        self, request: entitlement_pb2.CheckAccessRequest, context: grpc.aio.ServicerContext
    ) -> entitlement_pb2.CheckAccessResponse:
        check = Check()
        check.text(request.session_id, "session_id", required=True, max_length=MAX_SESSION_ID)
        target = request.WhichOneof("target")
        if target is None:
            check.fail("target", "set product_id or feature_code")
        elif target == "product_id":
            check.object_id(request.product_id, "product_id")
        else:
            check.code(request.feature_code, "feature_code")
        check.object_id(request.platform_id, "platform_id", required=False)
        check.done()
        platform_id = entitlements.platform_of(self.principal, request.platform_id)
        args = (
            platform_id,
            request.session_id,
            request.product_id,
            request.feature_code,
            self.deps.clock.now(),
        )
        # On the event loop: a remembered answer costs nothing, a SQLite read
        # is one or two indexed queries of some microseconds, and PostgreSQL
        # reads wait for their batch without holding the loop.
        decision = await self._checker.check(*args)
        return entitlement_pb2.CheckAccessResponse(
            allowed=decision.allowed,
            reason=REASONS.number(decision.reason),
            subscription_id=decision.subscription_id,
            plan_id=decision.plan_id,
            expires_at=timestamp(decision.expires_at),
        )

    async def ListEntitlements(
        self, request: entitlement_pb2.ListEntitlementsRequest, context: grpc.aio.ServicerContext
    ) -> entitlement_pb2.ListEntitlementsResponse:
        check = Check()
        check.text(request.session_id, "session_id", required=True, max_length=MAX_SESSION_ID)
        check.object_id(request.platform_id, "platform_id", required=False)
        check.done()
        found = await self.call(
            entitlements.list_entitlements,
            self.deps,
            self.principal,
            request.platform_id,
            request.session_id,
        )
        response = entitlement_pb2.ListEntitlementsResponse()
        for item in found:
            entry = response.entitlements.add(
                product_id=item.product.id if item.product else "",
                app_id=item.app.id if item.app else "",
                subscription_id=item.decision.subscription_id,
                plan_id=item.decision.plan_id,
                reason=REASONS.number(item.decision.reason),
                expires_at=timestamp(item.decision.expires_at),
            )
            if item.feature is not None:
                entry.feature.CopyFrom(
                    common_pb2.Feature(
                        code=str(item.feature["code"]),
                        name=str(item.feature["name"]),
                        kind=FEATURE_KINDS.number(str(item.feature["kind"])),
                        limit=int(item.feature["limit"]),  # type: ignore[call-overload]
                        reset_interval=RESET_INTERVALS.number(str(item.feature["reset_interval"])),
                    )
                )
            if item.usage is not None:
                entry.used = item.usage.used
                entry.remaining = max(item.usage.limit - item.usage.used, 0)
                if item.usage.resets_at is not None:
                    entry.resets_at.CopyFrom(timestamp(item.usage.resets_at))
            elif item.feature is not None:
                # A free plan counts no usage: its whole limit remains.
                entry.remaining = entry.feature.limit
        return response

    async def RecordUsage(
        self, request: entitlement_pb2.RecordUsageRequest, context: grpc.aio.ServicerContext
    ) -> entitlement_pb2.RecordUsageResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.code(request.feature_code, "feature_code")
        if request.quantity == 0:
            check.fail("quantity", "must not be zero: positive uses, negative gives back")
        elif abs(request.quantity) > MAX_QUANTITY:
            check.fail("quantity", f"must be at most {MAX_QUANTITY} in absolute value")
        check.done()
        principal = self.principal

        def work() -> entitlement_pb2.RecordUsageResponse:
            usage = features.record_usage(
                self.deps,
                principal,
                request.subscription_id,
                request.feature_code,
                request.quantity,
            )
            return entitlement_pb2.RecordUsageResponse(
                subscription_id=request.subscription_id,
                feature_code=request.feature_code,
                used=usage.feature.used,
                limit=usage.feature.limit,
                remaining=usage.remaining,
                resets_at=timestamp(usage.feature.resets_at),
            )

        return await self.mutate(context, request, work)

    async def GetUsage(
        self, request: entitlement_pb2.GetUsageRequest, context: grpc.aio.ServicerContext
    ) -> entitlement_pb2.GetUsageResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        if request.feature_code:
            check.code(request.feature_code, "feature_code")
        check.done()
        usages = await self.call(
            features.get_usage,
            self.deps,
            self.principal,
            request.subscription_id,
            request.feature_code,
        )
        return entitlement_pb2.GetUsageResponse(
            subscription_id=request.subscription_id, usages=[usage_pb(u) for u in usages]
        )
