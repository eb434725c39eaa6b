"""SubscriptionService: the life of a subscription."""

from __future__ import annotations

from bento.v1 import subscription_pb2 as pb
from bento.v1 import subscription_pb2_grpc
from bento_server.services.base import Servicer
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
from bento_server.services.rpc import Caller, Work, rpc, use, use_short
from bento_server.services.validate import DEFAULT_REGION, Check
from bento_server.usecases import features, subscriptions

MAX_RENEW_CYCLES = 12
MAX_SESSION_ID = 200


class SubscriptionService(Servicer, subscription_pb2_grpc.SubscriptionServiceServicer):
    @rpc
    def CreateSubscription(
        self, request: pb.CreateSubscriptionRequest, check: Check, caller: Caller
    ) -> Work[pb.CreateSubscriptionResponse]:
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

        def answer(outcome: subscriptions.Outcome) -> pb.CreateSubscriptionResponse:
            assert outcome.invoice is not None
            return pb.CreateSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription),
                invoice=invoice_pb(outcome.invoice),
                activation_urls=activation_urls_pb(
                    outcome.activation.codes if outcome.activation else []
                ),
            )

        return use(subscriptions.create, self.deps, caller.principal, new, caller.ip).answer(answer)

    @rpc
    def GetSubscription(
        self, request: pb.GetSubscriptionRequest, check: Check, caller: Caller
    ) -> Work[pb.GetSubscriptionResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        return use_short(
            self.deps,
            subscriptions.get,
            subscriptions.get_on_loop,
            self.deps,
            caller.principal,
            request.subscription_id,
        ).answer(lambda row: pb.GetSubscriptionResponse(subscription=subscription_pb(row)))

    @rpc
    def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListSubscriptionsResponse]:
        check.text(request.session_id, "session_id", max_length=MAX_SESSION_ID)
        status = check.enum(SUBSCRIPTION_STATUSES, request.status, "status", "") or None
        return use(
            subscriptions.list_,
            self.deps,
            caller.principal,
            request.session_id,
            status,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListSubscriptionsResponse(
                subscriptions=[subscription_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    @rpc
    def UpdateSubscription(
        self, request: pb.UpdateSubscriptionRequest, check: Check, caller: Caller
    ) -> Work[pb.UpdateSubscriptionResponse]:
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

        def answer(outcome: subscriptions.Outcome) -> pb.UpdateSubscriptionResponse:
            response = pb.UpdateSubscriptionResponse(
                subscription=subscription_pb(outcome.subscription)
            )
            if outcome.invoice is not None:
                response.invoice.CopyFrom(invoice_pb(outcome.invoice))
            return response

        return use(
            subscriptions.update,
            self.deps,
            caller.principal,
            request.subscription_id,
            changes,
            caller.ip,
        ).answer(answer)

    @rpc
    def CancelSubscription(
        self, request: pb.CancelSubscriptionRequest, check: Check, caller: Caller
    ) -> Work[pb.CancelSubscriptionResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        return use(
            subscriptions.cancel,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.cancel_now,
            caller.ip,
        ).answer(
            lambda out: pb.CancelSubscriptionResponse(
                subscription=subscription_pb(out.subscription)
            )
        )

    @rpc
    def PauseSubscription(
        self, request: pb.PauseSubscriptionRequest, check: Check, caller: Caller
    ) -> Work[pb.PauseSubscriptionResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        return use(
            subscriptions.pause, self.deps, caller.principal, request.subscription_id, caller.ip
        ).answer(
            lambda out: pb.PauseSubscriptionResponse(subscription=subscription_pb(out.subscription))
        )

    @rpc
    def ResumeSubscription(
        self, request: pb.ResumeSubscriptionRequest, check: Check, caller: Caller
    ) -> Work[pb.ResumeSubscriptionResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        return use(
            subscriptions.resume, self.deps, caller.principal, request.subscription_id, caller.ip
        ).answer(
            lambda out: pb.ResumeSubscriptionResponse(
                subscription=subscription_pb(out.subscription)
            )
        )

    @rpc
    def RenewSubscription(
        self, request: pb.RenewSubscriptionRequest, check: Check, caller: Caller
    ) -> Work[pb.RenewSubscriptionResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        cycles = request.cycles
        if cycles == 0 and not request.uncancel:
            cycles = 1
        check.between(cycles, "cycles", 0, MAX_RENEW_CYCLES)
        return use(
            subscriptions.renew,
            self.deps,
            caller.principal,
            request.subscription_id,
            cycles,
            request.uncancel,
            caller.ip,
        ).answer(
            lambda out: pb.RenewSubscriptionResponse(
                subscription=subscription_pb(out.subscription),
                invoices=[invoice_pb(row) for row in out.invoices],
            )
        )

    @rpc
    def ListSubscriptionFeatures(
        self, request: pb.ListSubscriptionFeaturesRequest, check: Check, caller: Caller
    ) -> Work[pb.ListSubscriptionFeaturesResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        return use(
            features.list_features, self.deps, caller.principal, request.subscription_id
        ).answer(
            lambda rows: pb.ListSubscriptionFeaturesResponse(features=[feature_pb(r) for r in rows])
        )

    @rpc
    def SetSubscriptionFeature(
        self, request: pb.SetSubscriptionFeatureRequest, check: Check, caller: Caller
    ) -> Work[pb.SetSubscriptionFeatureResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        f = request.feature
        check.code(f.code, "feature.code")
        check.name(f.name, "feature.name", required=False)
        kind = check.enum(FEATURE_KINDS, f.kind, "feature.kind")
        reset = check.enum(RESET_INTERVALS, f.reset_interval, "feature.reset_interval", "never")
        check.non_negative(f.limit, "feature.limit")
        if kind == "access" and (f.limit or reset != "never"):
            check.fail("feature", "an access feature has no limit and no reset interval")
        return use(
            features.set_feature,
            self.deps,
            caller.principal,
            request.subscription_id,
            f.code,
            f.name,
            kind,
            f.limit,
            reset,
        ).answer(lambda row: pb.SetSubscriptionFeatureResponse(feature=feature_pb(row)))

    @rpc
    def RemoveSubscriptionFeature(
        self, request: pb.RemoveSubscriptionFeatureRequest, check: Check, caller: Caller
    ) -> Work[pb.RemoveSubscriptionFeatureResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        check.code(request.feature_code, "feature_code")
        return use(
            features.remove_feature,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.feature_code,
        ).answer(lambda row: pb.RemoveSubscriptionFeatureResponse(feature=feature_pb(row)))

    @rpc
    def SyncSubscriptionFeatures(
        self, request: pb.SyncSubscriptionFeaturesRequest, check: Check, caller: Caller
    ) -> Work[pb.SyncSubscriptionFeaturesResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        return use(
            features.sync_features, self.deps, caller.principal, request.subscription_id
        ).answer(
            lambda rows: pb.SyncSubscriptionFeaturesResponse(features=[feature_pb(r) for r in rows])
        )
