"""Payment records as the API answers them."""

from __future__ import annotations

from bento.v1 import payment_pb2
from bento_server.services.convert import struct, timestamp
from bento_server.services.messages.enums import PAYMENT_RECORD_STATUSES
from bento_server.store.models import Payment


def payment_pb(row: Payment) -> payment_pb2.Payment:
    return payment_pb2.Payment(
        payment_id=row.id,
        invoice_id=row.invoice_id,
        subscription_id=row.subscription_id,
        platform_id=row.platform_id,
        amount=row.amount,
        currency=row.currency,
        status=PAYMENT_RECORD_STATUSES.number(row.status),
        payment_method_id=row.payment_method_id,
        payment_intent_id=row.payment_intent_id,
        refund_reason=row.refund_reason,
        original_payment_id=row.original_payment_id,
        error_code=row.error_code,
        error_message=row.error_message,
        processor_response=struct(row.processor_response),
        metadata=struct(row.metadata),
        created_ip=row.created_ip,
        created_at=timestamp(row.created_at),
    )
