"""ActivationService: sessions, single-use codes, confirmations."""

from __future__ import annotations

import grpc

from bento.v1 import activation_pb2, activation_pb2_grpc, common_pb2, enums_pb2
from bento_server.services.base import Servicer
from bento_server.services.catalog import PRODUCT_STATUSES
from bento_server.services.convert import EnumWords, from_timestamp, struct, timestamp
from bento_server.services.validate import Check
from bento_server.store.models import ActivationItem, ActivationSession
from bento_server.usecases import activation

SESSION_STATUSES = EnumWords(enums_pb2.ActivationStatus.DESCRIPTOR)
ITEM_STATUSES = EnumWords(enums_pb2.ActivationItemStatus.DESCRIPTOR)
MAX_APP_IDS = 50
MAX_CODE = 64


def activation_urls_pb(codes: list[activation.IssuedCode]) -> list[common_pb2.ActivationUrl]:
    return [
        common_pb2.ActivationUrl(
            app_id=c.item.app_id,
            app_name=c.item.app_name,
            product_id=c.item.product_id,
            product_name=c.item.product_name,
            activation_url=c.url,
            expires_at=timestamp(c.item.expires_at),
        )
        for c in codes
    ]


def item_pb(row: ActivationItem) -> activation_pb2.ActivationItem:
    return activation_pb2.ActivationItem(
        app_id=row.app_id,
        app_name=row.app_name,
        product_id=row.product_id,
        product_name=row.product_name,
        status=ITEM_STATUSES.number(row.status),
        jti=row.jti,
        user_id=row.user_id,
        error_reason=row.error_reason,
        activated_at=timestamp(row.activated_at),
        exchanged_at=timestamp(row.exchanged_at),
        created_at=timestamp(row.created_at),
        expires_at=timestamp(row.expires_at),
        updated_at=timestamp(row.updated_at),
    )


def session_pb(view: activation.SessionView) -> activation_pb2.ActivationSession:
    session: ActivationSession = view.session
    return activation_pb2.ActivationSession(
        activation_session_id=session.id,
        subscription_id=session.subscription_id,
        invoice_id=session.invoice_id,
        platform_id=session.platform_id,
        platform_name=view.platform_name,
        session_id=session.session_id,
        status=SESSION_STATUSES.number(session.status),
        expires_at=timestamp(session.expires_at),
        progress=activation_pb2.ActivationProgress(
            items_total=len(view.items),
            items_activated=sum(1 for i in view.items if i.status == "activated"),
        ),
        activation_items=[item_pb(i) for i in view.items],
        metadata=struct(session.metadata),
        created_at=timestamp(session.created_at),
        updated_at=timestamp(session.updated_at),
    )


class ActivationService(Servicer, activation_pb2_grpc.ActivationServiceServicer):
    async def GetActivationSession(
        self, request: activation_pb2.GetActivationSessionRequest, context: grpc.aio.ServicerContext
    ) -> activation_pb2.GetActivationSessionResponse:
        check = Check()
        check.object_id(request.activation_session_id, "activation_session_id")
        check.done()
        view = await self.call(
            activation.get_session, self.deps, self.principal, request.activation_session_id
        )
        return activation_pb2.GetActivationSessionResponse(activation_session=session_pb(view))

    async def ExchangeActivationCode(
        self,
        request: activation_pb2.ExchangeActivationCodeRequest,
        context: grpc.aio.ServicerContext,
    ) -> activation_pb2.ExchangeActivationCodeResponse:
        check = Check()
        check.text(
            request.activation_code.strip(), "activation_code", required=True, max_length=MAX_CODE
        )
        check.done()
        principal = self.principal
        code = request.activation_code.strip()

        def work() -> activation_pb2.ExchangeActivationCodeResponse:
            done = activation.exchange(self.deps, principal, code)
            product = done.product
            return activation_pb2.ExchangeActivationCodeResponse(
                activation_session_id=done.session.id,
                app_id=done.item.app_id,
                product_id=done.item.product_id,
                subscription_id=done.session.subscription_id,
                platform_id=done.session.platform_id,
                platform_name=done.platform_name,
                product=activation_pb2.ActivationProduct(
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

        return await self.mutate(
            context, request, activation_pb2.ExchangeActivationCodeResponse, work
        )

    async def UpdateActivationItem(
        self, request: activation_pb2.UpdateActivationItemRequest, context: grpc.aio.ServicerContext
    ) -> activation_pb2.UpdateActivationItemResponse:
        check = Check()
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
        check.done()
        principal = self.principal

        def work() -> activation_pb2.UpdateActivationItemResponse:
            item, session = activation.update_item(
                self.deps,
                principal,
                request.activation_session_id,
                request.item_id,
                status,
                activated_at,
                request.user_id,
                request.error_reason,
            )
            return activation_pb2.UpdateActivationItemResponse(
                activation_session_id=session.id,
                activation_item=item_pb(item),
                activation_session_status=SESSION_STATUSES.number(session.status),
            )

        return await self.mutate(
            context, request, activation_pb2.UpdateActivationItemResponse, work
        )

    async def RegenerateActivationCodes(
        self,
        request: activation_pb2.RegenerateActivationCodesRequest,
        context: grpc.aio.ServicerContext,
    ) -> activation_pb2.RegenerateActivationCodesResponse:
        check = Check()
        check.object_id(request.activation_session_id, "activation_session_id")
        check.at_most(len(request.app_ids), "app_ids", MAX_APP_IDS)
        check.unique(request.app_ids, "app_ids")
        for n, app_id in enumerate(request.app_ids):
            check.object_id(app_id, f"app_ids[{n}]")
        if not request.regenerate_all and not request.app_ids:
            check.fail("app_ids", "name the apps to regenerate, or set regenerate_all")
        check.done()
        principal = self.principal

        def work() -> activation_pb2.RegenerateActivationCodesResponse:
            session, issued = activation.regenerate(
                self.deps,
                principal,
                request.activation_session_id,
                request.regenerate_all,
                list(request.app_ids),
                request.force,
            )
            return activation_pb2.RegenerateActivationCodesResponse(
                activation_session_id=session.id,
                subscription_id=session.subscription_id,
                regenerated_count=len(issued),
                activation_urls=activation_urls_pb(issued),
            )

        return await self.mutate(
            context, request, activation_pb2.RegenerateActivationCodesResponse, work
        )
