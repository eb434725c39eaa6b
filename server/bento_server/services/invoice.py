"""InvoiceService, and the invoice message every billing service returns."""

from __future__ import annotations

import grpc

from bento.v1 import common_pb2, enums_pb2, invoice_pb2, invoice_pb2_grpc
from bento_server.services.activation import activation_urls_pb
from bento_server.services.base import Servicer, client_ip
from bento_server.services.catalog import PLAN_TYPES
from bento_server.services.convert import EnumWords, struct, timestamp
from bento_server.services.validate import Check
from bento_server.store.models import Invoice
from bento_server.usecases import payments

INVOICE_STATUSES = EnumWords(enums_pb2.InvoiceStatus.DESCRIPTOR)
PAYMENT_STATUSES = EnumWords(enums_pb2.PaymentStatus.DESCRIPTOR)
TAX_TYPES = EnumWords(enums_pb2.TaxType.DESCRIPTOR)
TAX_BEHAVIORS = EnumWords(enums_pb2.TaxBehavior.DESCRIPTOR)
# What UpdateInvoice may set (the seed's "open" is PAYMENT_STATUS_UNPAID).
SETTABLE_PAYMENT_STATUSES = ("unpaid", "paid", "failed", "processing", "canceled")


def tax_pb(row: object) -> common_pb2.Tax:
    return common_pb2.Tax(
        rate=row.tax_rate,  # type: ignore[attr-defined]
        type=TAX_TYPES.number(row.tax_type),  # type: ignore[attr-defined]
        jurisdiction=row.tax_jurisdiction,  # type: ignore[attr-defined]
        behavior=TAX_BEHAVIORS.number(row.tax_behavior),  # type: ignore[attr-defined]
        note=row.tax_note,  # type: ignore[attr-defined]
    )


def amount_due(row: Invoice) -> int:
    # A paid or void invoice owes nothing, whatever refunds did to amount_paid.
    if row.status in ("paid", "void"):
        return 0
    return max(row.total_amount - row.amount_paid, 0)


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
            amount_due=amount_due(row),
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


class InvoiceService(Servicer, invoice_pb2_grpc.InvoiceServiceServicer):
    async def GetInvoice(
        self, request: invoice_pb2.GetInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> invoice_pb2.GetInvoiceResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.object_id(request.invoice_id, "invoice_id")
        check.done()
        row = await self.call(
            payments.get_invoice,
            self.deps,
            self.principal,
            request.subscription_id,
            request.invoice_id,
        )
        return invoice_pb2.GetInvoiceResponse(invoice=invoice_pb(row))

    async def ListInvoices(
        self, request: invoice_pb2.ListInvoicesRequest, context: grpc.aio.ServicerContext
    ) -> invoice_pb2.ListInvoicesResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.done()
        listed = await self.call(
            payments.list_invoices,
            self.deps,
            self.principal,
            request.subscription_id,
            request.page_size,
            request.page_token,
        )
        return invoice_pb2.ListInvoicesResponse(
            invoices=[invoice_pb(row) for row in listed.items],
            next_page_token=listed.next_page_token,
        )

    async def UpdateInvoice(
        self, request: invoice_pb2.UpdateInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> invoice_pb2.UpdateInvoiceResponse:
        check = Check()
        check.object_id(request.subscription_id, "subscription_id")
        check.object_id(request.invoice_id, "invoice_id")
        status = None
        if request.HasField("payment_status"):
            status = check.enum(PAYMENT_STATUSES, request.payment_status, "payment_status")
            if status and status not in SETTABLE_PAYMENT_STATUSES:
                check.fail(
                    "payment_status", f"must be one of {', '.join(SETTABLE_PAYMENT_STATUSES)}"
                )
        method = intent = None
        if request.HasField("payment_method_id"):
            method = check.name(request.payment_method_id, "payment_method_id", required=False)
        if request.HasField("payment_intent_id"):
            intent = check.name(request.payment_intent_id, "payment_intent_id", required=False)
        if status is None and method is None and intent is None:
            check.fail(
                "payment_status",
                "set at least one of payment_status, payment_method_id, payment_intent_id",
            )
        check.done()
        principal, ip = self.principal, client_ip(context)
        changes = payments.InvoiceChanges(status, method, intent)

        def work() -> invoice_pb2.UpdateInvoiceResponse:
            settled = payments.update_invoice(
                self.deps, principal, request.subscription_id, request.invoice_id, changes, ip
            )
            return invoice_pb2.UpdateInvoiceResponse(
                invoice=invoice_pb(settled.invoice),
                activation_urls=activation_urls_pb(
                    settled.activation.codes if settled.activation else []
                ),
            )

        return await self.mutate(context, request, invoice_pb2.UpdateInvoiceResponse, work)
