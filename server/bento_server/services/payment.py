"""PaymentService: the immutable ledger of payment attempts and refunds."""

from __future__ import annotations

from bento.v1 import payment_pb2 as pb
from bento.v1 import payment_pb2_grpc
from bento_server.billing.money import MAX_AMOUNT
from bento_server.billing.statuses import CHARGE_OUTCOMES, REFUND_OUTCOMES
from bento_server.services.base import Servicer
from bento_server.services.messages.activation import activation_urls_pb
from bento_server.services.messages.enums import PAYMENT_RECORD_STATUSES
from bento_server.services.messages.payments import payment_pb
from bento_server.services.rpc import Caller, Work, rpc, use
from bento_server.services.validate import Check
from bento_server.usecases import payments


class PaymentService(Servicer, payment_pb2_grpc.PaymentServiceServicer):
    @rpc
    def CreatePayment(
        self, request: pb.CreatePaymentRequest, check: Check, caller: Caller
    ) -> Work[pb.CreatePaymentResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        check.object_id(request.invoice_id, "invoice_id")
        status = check.enum(PAYMENT_RECORD_STATUSES, request.status, "status")
        if request.amount == 0:
            check.fail("amount", "must not be zero: positive for a payment, negative for a refund")
        elif abs(request.amount) > MAX_AMOUNT:
            check.fail("amount", f"must be at most {MAX_AMOUNT} in absolute value")
        elif request.amount > 0 and status and status not in CHARGE_OUTCOMES:
            check.fail(
                "status",
                f"a payment (positive amount) is one of {', '.join(CHARGE_OUTCOMES)}",
            )
        elif request.amount < 0 and status and status not in REFUND_OUTCOMES:
            check.fail(
                "status",
                f"a refund (negative amount) is one of {', '.join(REFUND_OUTCOMES)}",
            )
        if request.currency:
            check.currency(request.currency, "currency")
        if request.amount > 0 and (request.refund_reason or request.original_payment_id):
            check.fail(
                "refund_reason",
                "only refunds (negative amounts) carry a refund reason or original payment",
            )
        for name in ("payment_method_id", "payment_intent_id", "error_code"):
            check.name(getattr(request, name), name, required=False)
        check.text(request.refund_reason, "refund_reason", max_length=2000)
        check.text(request.error_message, "error_message", max_length=2000)
        check.object_id(request.original_payment_id, "original_payment_id", required=False)
        new = payments.NewPayment(
            amount=request.amount,
            currency=request.currency,
            status=status,
            payment_method_id=request.payment_method_id,
            payment_intent_id=request.payment_intent_id,
            refund_reason=request.refund_reason,
            original_payment_id=request.original_payment_id,
            error_code=request.error_code,
            error_message=request.error_message,
            processor_response=check.struct(request.processor_response, "processor_response"),
            metadata=check.struct(request.metadata, "metadata"),
        )

        def answer(settled: payments.Settled) -> pb.CreatePaymentResponse:
            assert settled.payment is not None
            return pb.CreatePaymentResponse(
                payment=payment_pb(settled.payment),
                activation_urls=activation_urls_pb(
                    settled.activation.codes if settled.activation else []
                ),
            )

        return use(
            payments.create_payment,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.invoice_id,
            new,
            caller.ip,
        ).answer(answer)

    @rpc
    def GetPayment(
        self, request: pb.GetPaymentRequest, check: Check, caller: Caller
    ) -> Work[pb.GetPaymentResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        check.object_id(request.invoice_id, "invoice_id")
        check.object_id(request.payment_id, "payment_id")
        return use(
            payments.get_payment,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.invoice_id,
            request.payment_id,
        ).answer(lambda row: pb.GetPaymentResponse(payment=payment_pb(row)))

    @rpc
    def ListPayments(
        self, request: pb.ListPaymentsRequest, check: Check, caller: Caller
    ) -> Work[pb.ListPaymentsResponse]:
        check.object_id(request.subscription_id, "subscription_id")
        check.object_id(request.invoice_id, "invoice_id")
        return use(
            payments.list_payments,
            self.deps,
            caller.principal,
            request.subscription_id,
            request.invoice_id,
            request.page_size,
            request.page_token,
        ).answer(
            lambda listed: pb.ListPaymentsResponse(
                payments=[payment_pb(row) for row in listed.items],
                next_page_token=listed.next_page_token,
            )
        )
