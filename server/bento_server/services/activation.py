"""ActivationService: sessions, single-use codes, confirmations."""

from __future__ import annotations

from bento.v1 import activation_pb2 as pb
from bento.v1 import activation_pb2_grpc
from bento_server.services.base import Servicer
from bento_server.services.convert import from_timestamp, struct, timestamp
from bento_server.services.messages.activation import activation_urls_pb, item_pb, session_pb
from bento_server.services.messages.enums import ITEM_STATUSES, PRODUCT_STATUSES, SESSION_STATUSES
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.store.models import ActivationItem, ActivationSession
from bento_server.usecases import activation

MAX_APP_IDS = 50
MAX_CODE = 64


class ActivationService(Servicer, activation_pb2_grpc.ActivationServiceServicer):
    @rpc
    def GetActivationSession(
        self, request: pb.GetActivationSessionRequest, check: Check, caller: Caller
    ) -> Work[pb.GetActivationSessionResponse]:
        check.object_id(request.activation_session_id, "activation_session_id")
        return use(
            activation.get_session, self.deps, caller.principal, request.activation_session_id
        ).answer(lambda view: pb.GetActivationSessionResponse(activation_session=session_pb(view)))

    @rpc
    def ExchangeActivationCode(
        self, request: pb.ExchangeActivationCodeRequest, check: Check, caller: Caller
    ) -> Work[pb.ExchangeActivationCodeResponse]:
        code = request.activation_code.strip()
        check.text(code, "activation_code", required=True, max_length=MAX_CODE)

        def answer(done: activation.Exchanged) -> pb.ExchangeActivationCodeResponse:
            product = done.product
            return pb.ExchangeActivationCodeResponse(
                activation_session_id=done.session.id,
                app_id=done.item.app_id,
                product_id=done.item.product_id,
                subscription_id=done.session.subscription_id,
                platform_id=done.session.platform_id,
                platform_name=done.platform_name,
                product=pb.ActivationProduct(
                    product_id=product.id,
                    product_name=product.name,
                    name=product.name,
                    description=product.description,
                    status=PRODUCT_STATUSES.number(product.status),
                    product_type=product.product_type,
                    internal_id=product.internal_id,
                    metadata=struct(product.metadata),
                ),
                jti=done.item.jti,
                exchanged_at=timestamp(done.item.exchanged_at),
                expires_at=timestamp(done.item.expires_at),
            )

        return use(activation.exchange, self.deps, caller.principal, code).answer(answer)

    @rpc
    def UpdateActivationItem(
        self, request: pb.UpdateActivationItemRequest, check: Check, caller: Caller
    ) -> Work[pb.UpdateActivationItemResponse]:
        check.object_id(request.activation_session_id, "activation_session_id")
        check.object_id(request.item_id, "item_id")
        status = check.enum(ITEM_STATUSES, request.status, "status")
        if status and status not in ("activated", "failed"):
            check.fail("status", "must be ACTIVATION_ITEM_STATUS_ACTIVATED or _FAILED")
        if status == "failed" and not request.error_reason.strip():
            check.fail("error_reason", "is required when the status is failed")
        check.text(request.error_reason, "error_reason", max_length=2000)
        check.name(request.user_id, "user_id", required=False)
        activated_at = None
        if request.HasField("activated_at"):
            try:
                activated_at = from_timestamp(request.activated_at)
            except (ValueError, OverflowError):
                check.fail("activated_at", "is not a valid timestamp")
            else:
                if activated_at > self.deps.clock.now():
                    check.fail("activated_at", "must not be in the future")

        def answer(
            updated: tuple[ActivationItem, ActivationSession],
        ) -> pb.UpdateActivationItemResponse:
            item, session = updated
            return pb.UpdateActivationItemResponse(
                activation_session_id=session.id,
                activation_item=item_pb(item),
                activation_session_status=SESSION_STATUSES.number(session.status),
            )

        return use(
            activation.update_item,
            self.deps,
            caller.principal,
            request.activation_session_id,
            request.item_id,
            status,
            activated_at,
            request.user_id,
            request.error_reason,
        ).answer(answer)

    @rpc
    def RegenerateActivationCodes(
        self, request: pb.RegenerateActivationCodesRequest, check: Check, caller: Caller
    ) -> Work[pb.RegenerateActivationCodesResponse]:
        check.object_id(request.activation_session_id, "activation_session_id")
        check.at_most(len(request.app_ids), "app_ids", MAX_APP_IDS)
        check.unique(request.app_ids, "app_ids")
        for n, app_id in enumerate(request.app_ids):
            check.object_id(app_id, f"app_ids[{n}]")
        if not request.regenerate_all and not request.app_ids:
            check.fail("app_ids", "name the apps to regenerate, or set regenerate_all")

        def answer(
            regenerated: tuple[ActivationSession, list[activation.IssuedCode]],
        ) -> pb.RegenerateActivationCodesResponse:
            session, issued = regenerated
            return pb.RegenerateActivationCodesResponse(
                activation_session_id=session.id,
                subscription_id=session.subscription_id,
                regenerated_count=len(issued),
                activation_urls=activation_urls_pb(issued),
            )

        return use(
            activation.regenerate,
            self.deps,
            caller.principal,
            request.activation_session_id,
            request.regenerate_all,
            list(request.app_ids),
            request.force,
        ).answer(answer)
