"""InvoiceService, and the invoice message every billing service returns."""

from __future__ import annotations

from bento.v1 import invoice_pb2 as pb
from bento.v1 import invoice_pb2_grpc
from bento_server.services.base import Servicer
from bento_server.services.messages.activation import activation_urls_pb
from bento_server.services.messages.enums import PAYMENT_STATUSES
from bento_server.services.messages.invoices import invoice_pb
from bento_server.services.rpc import Caller, Work, rpc, use, use_short
from bento_server.services.validate import Check
from bento_server.usecases import payments

# What UpdateInvoice may set (the seed's "open" is PAYMENT_STATUS_UNPAID).
SETTABLE_PAYMENT_STATUSES = ("unpaid", "paid", "failed", "processing", "canceled")


class InvoiceService(Servicer, invoice_pb2_grpc.InvoiceServiceServicer):
    @rpc
    def GetInvoice(
        self, request: pb.GetInvoiceRequest, check: Check, caller: Caller
    ) -> Work[pb.GetInvoiceResponse]:
        # Invoice IDs are unique: the subscription only narrows the read.
        check.object_id(request.subscription_id, "subscription_id", required=False)
        check.object_id(request.invoice_id, "invoice_id")
        return use_short(
            self.deps,
            payments.get_invoice,
            payments.get_invoice_on_loop,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.invoice_id,
        ).answer(lambda row: pb.GetInvoiceResponse(invoice=invoice_pb(row)))

    @rpc
    def ListInvoices(
        self, request: pb.ListInvoicesRequest, check: Check, caller: Caller
    ) -> Work[pb.ListInvoicesResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        return use(
            payments.list_invoices,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListInvoicesResponse(
                invoices=[invoice_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )

    @rpc
    def UpdateInvoice(
        self, request: pb.UpdateInvoiceRequest, check: Check, caller: Caller
    ) -> Work[pb.UpdateInvoiceResponse]:
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
        changes = payments.InvoiceChanges(status, method, intent)
        return use(
            payments.update_invoice,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.invoice_id,
            changes,
            caller.ip,
        ).answer(
            lambda settled: pb.UpdateInvoiceResponse(
                invoice=invoice_pb(settled.invoice),
                activation_urls=activation_urls_pb(
                    settled.activation.codes if settled.activation else []
                ),
            )
        )
