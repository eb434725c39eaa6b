"""InvoiceService, and the invoice message every billing service returns."""

from __future__ import annotations

import grpc

from bento.v1 import invoice_pb2, invoice_pb2_grpc
from bento_server.services.base import Servicer, client_ip
from bento_server.services.messages.activation import activation_urls_pb
from bento_server.services.messages.enums import PAYMENT_STATUSES
from bento_server.services.messages.invoices import invoice_pb
from bento_server.services.validate import Check
from bento_server.usecases import payments

# What UpdateInvoice may set (the seed's "open" is PAYMENT_STATUS_UNPAID).
SETTABLE_PAYMENT_STATUSES = ("unpaid", "paid", "failed", "processing", "canceled")


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

        return await self.mutate(context, request, work)
