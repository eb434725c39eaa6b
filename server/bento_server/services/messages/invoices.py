"""Invoices and their tax as the API answers them."""

from __future__ import annotations

from bento.v1 import common_pb2, invoice_pb2
from bento_server.billing import money
from bento_server.services.convert import struct, timestamp
from bento_server.services.messages.enums import (
    INVOICE_STATUSES,
    PAYMENT_STATUSES,
    PLAN_TYPES,
    TAX_BEHAVIORS,
    TAX_TYPES,
)
from bento_server.store.models import Invoice


def tax_pb(row: object) -> common_pb2.Tax:
    return common_pb2.Tax(
        rate=row.tax_rate,  # type: ignore[attr-defined]
        type=TAX_TYPES.number(row.tax_type),  # type: ignore[attr-defined]
        jurisdiction=row.tax_jurisdiction,  # type: ignore[attr-defined]
        behavior=TAX_BEHAVIORS.number(row.tax_behavior),  # type: ignore[attr-defined]
        note=row.tax_note,  # type: ignore[attr-defined]
    )


def invoice_pb(row: Invoice) -> invoice_pb2.Invoice:
    return invoice_pb2.Invoice(
        invoice_id=row.id,
        invoice_number=row.number,
        subscription_id=row.subscription_id,
        platform_id=row.platform_id,
        session_id=row.session_id,
        status=INVOICE_STATUSES.number(row.status),
        payment_status=PAYMENT_STATUSES.number(row.payment_status),
        currency=row.currency,
        region=row.region,
        amounts=invoice_pb2.InvoiceAmounts(
            subtotal=row.subtotal,
            proration_credit=row.proration_credit,
            tax_amount=row.tax_amount,
            total_amount=row.total_amount,
            amount_due=money.amount_due(row.status, row.total_amount, row.amount_paid),
            amount_paid=row.amount_paid,
            credit_applied=row.credit_applied,
            amount_refunded=row.amount_refunded,
            subtotal_excluding_tax=row.total_amount - row.tax_amount,
        ),
        tax=tax_pb(row),
        payment=invoice_pb2.InvoicePayment(
            method_id=row.payment_method_id,
            intent_id=row.payment_intent_id,
            date=timestamp(row.payment_date),
        ),
        retries=invoice_pb2.InvoiceRetries(
            count=row.retries_count,
            max=row.retries_max,
            next_date=timestamp(row.retries_next_date),
            last_date=timestamp(row.retries_last_date),
            delay_minutes=row.retries_delay_minutes,
        ),
        plan=invoice_pb2.InvoicePlan(
            plan_id=row.plan_id,
            name=row.plan_name,
            type=PLAN_TYPES.number(row.plan_type),
            phase_id=row.phase_id,
            phase_order=row.phase_order,
            billing_cycle=row.billing_cycle,
            platform_fee_rate=row.platform_fee_rate,
            platform_fee_amount=row.platform_fee_amount,
        ),
        period=invoice_pb2.InvoicePeriod(
            start=timestamp(row.period_start),
            end=timestamp(row.period_end),
            invoice_date=timestamp(row.invoice_date),
            due_date=timestamp(row.due_date),
            grace_period_end=timestamp(row.grace_period_end),
        ),
        metadata=struct(row.metadata),
        created_ip=row.created_ip,
        updated_ip=row.updated_ip,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )
