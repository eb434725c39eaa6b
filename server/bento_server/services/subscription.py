"""SubscriptionService: the life of a subscription."""

from __future__ import annotations

import grpc

from bento.v1 import subscription_pb2, subscription_pb2_grpc
from bento_server.services.base import Servicer, client_ip
from bento_server.services.messages.activation import activation_urls_pb
from bento_server.services.messages.enums import (
    FEATURE_KINDS,
    RESET_INTERVALS,
    SUBSCRIPTION_STATUSES,
    TAX_BEHAVIORS,
    TAX_TYPES,
)
from bento_server.services.messages.invoices import invoice_pb
from bento_server.services.messages.subscriptions import feature_pb, subscription_pb
from bento_server.services.validate import DEFAULT_REGION, Check
from bento_server.usecases import features, subscriptions

MAX_RENEW_CYCLES = 12
MAX_SESSION_ID = 200


class SubscriptionService(Servicer, subscription_pb2_grpc.SubscriptionServiceServicer):
    async def CreateSubscription(
        self, request: subscription_pb2.CreateSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.CreateSubscriptionResponse:
        check = Check()
        check.text(request.session_id, "session_id", required=True, max_length=MAX_SESSION_ID)
        check.object_id(request.plan_id, "plan_id")
        region = request.region or DEFAULT_REGION
        check.region(region, "region")
        new = subscriptions.NewSubscription(
            session_id=request.session_id,
            plan_id=request.plan_id,
            region=region,
            tax_rate=check.rate(request.tax_rate, "tax_rate"),
            tax_type=check.enum(TAX_TYPES, request.tax_type, "tax_type", "none"),
            tax_jurisdiction=check.name(
                request.tax_jurisdiction, "tax_jurisdiction", required=False
            ),
            tax_behavior=check.enum(TAX_BEHAVIORS, request.tax_behavior, "tax_behavior", "none"),
            tax_note=check.text(request.tax_note, "tax_note", max_length=2000),
            device_info=check.struct(request.device_info, "device_info"),
            metadata=check.struct(request.metadata, "metadata"),
        )
        check.done()
        principal, ip = self.principal, client_ip(context)

        def work() -> subscription_pb2.CreateSubscriptionResponse:
            outcome = subscriptions.create(self.deps, principal, new, ip)
            assert outcome.invoice is not None
            return subscription_pb2.CreateSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription),
                invoice=invoice_pb(outcome.invoice),
                activation_urls=activation_urls_pb(
                    outcome.activation.codes if outcome.activation else []
                ),
            )

        return await self.mutate(
            context, request, subscription_pb2.CreateSubscriptionResponse, work
        )

    async def GetSubscription(
        self, request: subscription_pb2.GetSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.GetSubscriptionResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.done()
        row = await self.call(subscriptions.get, self.deps, self.principal, request.subscription_id)
        return subscription_pb2.GetSubscriptionResponse(subscription=subscription_pb(row))

    async def ListSubscriptions(
        self, request: subscription_pb2.ListSubscriptionsRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.ListSubscriptionsResponse:
        check = Check()
        check.text(request.session_id, "session_id", max_length=MAX_SESSION_ID)
        status = check.enum(SUBSCRIPTION_STATUSES, request.status, "status", "") or None
        check.done()
        listed = await self.call(
            subscriptions.list_,
            self.deps,
            self.principal,
            request.session_id,
            status,
            request.page_size,
            request.page_token,
        )
        return subscription_pb2.ListSubscriptionsResponse(
            subscriptions=[subscription_pb(row) for row in listed.items],
            next_page_token=listed.next_page_token,
        )

    async def UpdateSubscription(
        self, request: subscription_pb2.UpdateSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.UpdateSubscriptionResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        changes = subscriptions.Changes()
        if request.HasField("status"):
            changes.status = check.enum(SUBSCRIPTION_STATUSES, request.status, "status")
        for name in ("payment_method_id", "activation_token"):
            if request.HasField(name):
                setattr(changes, name, check.text(getattr(request, name), name, max_length=2000))
        if request.HasField("activation_url"):
            changes.activation_url = check.text(
                request.activation_url, "activation_url", max_length=2000
            )
        if request.HasField("cancel_at_period_end"):
            changes.cancel_at_period_end = request.cancel_at_period_end
        if request.HasField("plan_id"):
            changes.plan_id = check.object_id(request.plan_id, "plan_id")
        if request.HasField("tax_rate"):
            changes.tax["tax_rate"] = check.rate(request.tax_rate, "tax_rate")
        if request.HasField("tax_type"):
            changes.tax["tax_type"] = check.enum(TAX_TYPES, request.tax_type, "tax_type")
        if request.HasField("tax_behavior"):
            changes.tax["tax_behavior"] = check.enum(
                TAX_BEHAVIORS, request.tax_behavior, "tax_behavior"
            )
        if request.HasField("tax_jurisdiction"):
            changes.tax["tax_jurisdiction"] = check.name(
                request.tax_jurisdiction, "tax_jurisdiction", required=False
            )
        if request.HasField("tax_note"):
            changes.tax["tax_note"] = check.text(request.tax_note, "tax_note", max_length=2000)
        if request.HasField("metadata"):
            changes.metadata = check.struct(request.metadata, "metadata")
        if changes == subscriptions.Changes():
            check.fail("subscription", "set at least one field to change")
        check.done()
        principal, ip = self.principal, client_ip(context)

        def work() -> subscription_pb2.UpdateSubscriptionResponse:
            outcome = subscriptions.update(
                self.deps, principal, request.subscription_id, changes, ip
            )
            response = subscription_pb2.UpdateSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription)
            )
            if outcome.invoice is not None:
                response.invoice.CopyFrom(invoice_pb(outcome.invoice))
            return response

        return await self.mutate(
            context, request, subscription_pb2.UpdateSubscriptionResponse, work
        )

    async def CancelSubscription(
        self, request: subscription_pb2.CancelSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.CancelSubscriptionResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.done()
        principal, ip = self.principal, client_ip(context)

        def work() -> subscription_pb2.CancelSubscriptionResponse:
            outcome = subscriptions.cancel(
                self.deps, principal, request.subscription_id, request.cancel_now, ip
            )
            return subscription_pb2.CancelSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription)
            )

        return await self.mutate(
            context, request, subscription_pb2.CancelSubscriptionResponse, work
        )

    async def PauseSubscription(
        self, request: subscription_pb2.PauseSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.PauseSubscriptionResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.done()
        principal, ip = self.principal, client_ip(context)

        def work() -> subscription_pb2.PauseSubscriptionResponse:
            outcome = subscriptions.pause(self.deps, principal, request.subscription_id, ip)
            return subscription_pb2.PauseSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription)
            )

        return await self.mutate(context, request, subscription_pb2.PauseSubscriptionResponse, work)

    async def ResumeSubscription(
        self, request: subscription_pb2.ResumeSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.ResumeSubscriptionResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.done()
        principal, ip = self.principal, client_ip(context)

        def work() -> subscription_pb2.ResumeSubscriptionResponse:
            outcome = subscriptions.resume(self.deps, principal, request.subscription_id, ip)
            return subscription_pb2.ResumeSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription)
            )

        return await self.mutate(
            context, request, subscription_pb2.ResumeSubscriptionResponse, work
        )

    async def RenewSubscription(
        self, request: subscription_pb2.RenewSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> subscription_pb2.RenewSubscriptionResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        cycles = request.cycles
        if cycles == 0 and not request.uncancel:
            cycles = 1
        check.between(cycles, "cycles", 0, MAX_RENEW_CYCLES)
        check.done()
        principal, ip = self.principal, client_ip(context)

        def work() -> subscription_pb2.RenewSubscriptionResponse:
            outcome = subscriptions.renew(
                self.deps, principal, request.subscription_id, cycles, request.uncancel, ip
            )
            return subscription_pb2.RenewSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription),
                invoices=[invoice_pb(row) for row in outcome.invoices],
            )

        return await self.mutate(context, request, subscription_pb2.RenewSubscriptionResponse, work)

    async def ListSubscriptionFeatures(
        self,
        request: subscription_pb2.ListSubscriptionFeaturesRequest,
        context: grpc.aio.ServicerContext,
    ) -> subscription_pb2.ListSubscriptionFeaturesResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.done()
        rows = await self.call(
            features.list_features, self.deps, self.principal, request.subscription_id
        )
        return subscription_pb2.ListSubscriptionFeaturesResponse(
            features=[feature_pb(r) for r in rows]
        )

    async def SetSubscriptionFeature(
        self,
        request: subscription_pb2.SetSubscriptionFeatureRequest,
        context: grpc.aio.ServicerContext,
    ) -> subscription_pb2.SetSubscriptionFeatureResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        f = request.feature
        check.code(f.code, "feature.code")
        check.name(f.name, "feature.name", required=False)
        kind = check.enum(FEATURE_KINDS, f.kind, "feature.kind")
        reset = check.enum(RESET_INTERVALS, f.reset_interval, "feature.reset_interval", "never")
        check.non_negative(f.limit, "feature.limit")
        if kind == "access" and (f.limit or reset != "never"):
            check.fail("feature", "an access feature has no limit and no reset interval")
        check.done()
        principal = self.principal

        def work() -> subscription_pb2.SetSubscriptionFeatureResponse:
            row = features.set_feature(
                self.deps, principal, request.subscription_id, f.code, f.name, kind, f.limit, reset
            )
            return subscription_pb2.SetSubscriptionFeatureResponse(feature=feature_pb(row))

        return await self.mutate(
            context, request, subscription_pb2.SetSubscriptionFeatureResponse, work
        )

    async def RemoveSubscriptionFeature(
        self,
        request: subscription_pb2.RemoveSubscriptionFeatureRequest,
        context: grpc.aio.ServicerContext,
    ) -> subscription_pb2.RemoveSubscriptionFeatureResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.code(request.feature_code, "feature_code")
        check.done()
        principal = self.principal

        def work() -> subscription_pb2.RemoveSubscriptionFeatureResponse:
            row = features.remove_feature(
                self.deps, principal, request.subscription_id, request.feature_code
            )
            return subscription_pb2.RemoveSubscriptionFeatureResponse(feature=feature_pb(row))

        return await self.mutate(
            context, request, subscription_pb2.RemoveSubscriptionFeatureResponse, work
        )

    async def SyncSubscriptionFeatures(
        self,
        request: subscription_pb2.SyncSubscriptionFeaturesRequest,
        context: grpc.aio.ServicerContext,
    ) -> subscription_pb2.SyncSubscriptionFeaturesResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.done()
        principal = self.principal

        def work() -> subscription_pb2.SyncSubscriptionFeaturesResponse:
            rows = features.sync_features(self.deps, principal, request.subscription_id)
            return subscription_pb2.SyncSubscriptionFeaturesResponse(
                features=[feature_pb(r) for r in rows]
            )

        return await self.mutate(
            context, request, subscription_pb2.SyncSubscriptionFeaturesResponse, work
        )
