"""Activation sessions, items and codes as the API answers them."""

from __future__ import annotations

from bento.v1 import activation_pb2, common_pb2
from bento_server.services.convert import struct, timestamp
from bento_server.services.messages.enums import ITEM_STATUSES, SESSION_STATUSES
from bento_server.store.models import ActivationItem, ActivationSession
from bento_server.usecases import activation


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
