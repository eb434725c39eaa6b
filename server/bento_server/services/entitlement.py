"""EntitlementService: access checks and quota usage."""

from __future__ import annotations

from bento.v1 import common_pb2, entitlement_pb2_grpc
from bento.v1 import entitlement_pb2 as pb
from bento_server.infra.read_batch import ReadBatcher
from bento_server.runtime import Runtime
from bento_server.services.base import Servicer
from bento_server.services.convert import timestamp
from bento_server.services.messages.entitlements import usage_pb
from bento_server.services.messages.enums import FEATURE_KINDS, REASONS, RESET_INTERVALS
from bento_server.services.rpc import Caller, Work, rpc, use, use_on_loop
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

    @rpc
    def CheckAccess(
        self, request: pb.CheckAccessRequest, check: Check, caller: Caller
    ) -> Work[pb.CheckAccessResponse]:
        check.text(request.session_id, "session_id", required=True, max_length=MAX_SESSION_ID)
        target = request.WhichOneof("target")
        if target is None:
            check.fail("target", "set product_id or feature_code")
        elif target == "product_id":
            check.object_id(request.product_id, "product_id")
        else:
            check.code(request.feature_code, "feature_code")
        check.object_id(request.platform_id, "platform_id", required=False)
        # The platform is looked up only for a request that passed its checks:
        # a bad request is INVALID_ARGUMENT, whoever asks about whatever
        # platform, and is refused before anything is read.
        platform_id = (
            entitlements.platform_of(caller.principal, request.platform_id) if check.ok() else ""
        )
        # On the event loop: a remembered answer costs nothing, a SQLite read
        # is one or two indexed queries of some microseconds, and PostgreSQL
        # reads wait for their batch without holding the loop.
        return use_on_loop(
            self._checker.check,
            platform_id,
            request.session_id,
            request.product_id,
            request.feature_code,
            self.deps.clock.now(),
        ).answer(
            lambda decision: pb.CheckAccessResponse(
                allowed=decision.allowed,
                reason=REASONS.number(decision.reason),
                subscription_id=decision.subscription_id,
                plan_id=decision.plan_id,
                expires_at=timestamp(decision.expires_at),
            )
        )

    @rpc
    def ListEntitlements(
        self, request: pb.ListEntitlementsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListEntitlementsResponse]:
        check.text(request.session_id, "session_id", required=True, max_length=MAX_SESSION_ID)
        check.object_id(request.platform_id, "platform_id", required=False)

        def answer(found: list[entitlements.Entitlement]) -> pb.ListEntitlementsResponse:
            response = pb.ListEntitlementsResponse()
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
                            reset_interval=RESET_INTERVALS.number(
                                str(item.feature["reset_interval"])
                            ),
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

        return use(
            entitlements.list_entitlements,
            self.deps,
            caller.principal,
            request.platform_id,
            request.session_id,
        ).answer(answer)

    @rpc
    def RecordUsage(
        self, request: pb.RecordUsageRequest, check: Check, caller: Caller
    ) -> Work[pb.RecordUsageResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        check.code(request.feature_code, "feature_code")
        if request.quantity == 0:
            check.fail("quantity", "must not be zero: positive uses, negative gives back")
        elif abs(request.quantity) > MAX_QUANTITY:
            check.fail("quantity", f"must be at most {MAX_QUANTITY} in absolute value")
        return use(
            features.record_usage,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.feature_code,
            request.quantity,
        ).answer(
            lambda usage: pb.RecordUsageResponse(
                subscription_id=request.subscription_id,
                feature_code=request.feature_code,
                used=usage.feature.used,
                limit=usage.feature.limit,
                remaining=usage.remaining,
                resets_at=timestamp(usage.feature.resets_at),
            )
        )

    @rpc
    def GetUsage(
        self, request: pb.GetUsageRequest, check: Check, caller: Caller
    ) -> Work[pb.GetUsageResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        if request.feature_code:
            check.code(request.feature_code, "feature_code")
        return use(
            features.get_usage,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.feature_code,
        ).answer(
            lambda usages: pb.GetUsageResponse(
                subscription_id=request.subscription_id, usages=[usage_pb(u) for u in usages]
            )
        )
