"""The seed's flow over the wire: create, invoice, a failed payment, a
succeeded payment, active."""

from __future__ import annotations

import grpc

from bento.v1 import enums_pb2, payment_pb2, subscription_pb2
from tests.billing_support import get_invoice, get_subscription, make_shop, pay, subscribe
from tests.support import RunningServer, assert_fails, phases

E = enums_pb2


def test_create_invoice_fail_pay_active(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    plan_id = shop.plan(prices={"US": phases((1699, None))})
    created = subscribe(
        p,
        plan_id,
        session_id="session_456",
        tax_rate=0.0875,
        tax_type=E.TAX_TYPE_SALES_TAX,
        tax_jurisdiction="CA-Los Angeles",
        tax_behavior=E.TAX_BEHAVIOR_EXCLUSIVE,
    )
    sub, invoice = created.subscription, created.invoice
    assert sub.subscription_id.startswith("SUB")
    assert (sub.status, sub.payment_status) == (
        E.SUBSCRIPTION_STATUS_PENDING,
        E.PAYMENT_STATUS_UNPAID,
    )
    assert sub.billing.cycle_count == 0
    assert sub.billing.next_billing_date == sub.period.end
    assert invoice.invoice_id.startswith("INV")
    assert (
        invoice.invoice_number
        == f"INV-{invoice.period.invoice_date.ToDatetime().year}-{invoice.invoice_id[-8:]}"
    )
    assert (invoice.status, invoice.payment_status) == (
        E.INVOICE_STATUS_OPEN,
        E.PAYMENT_STATUS_UNPAID,
    )
    # The seed's example: 1699 at 8.75% exclusive, platform fee 15%.
    a = invoice.amounts
    assert (a.subtotal, a.tax_amount, a.total_amount, a.amount_due, a.amount_paid) == (
        1699,
        149,
        1848,
        1848,
        0,
    )
    assert (invoice.plan.platform_fee_rate, invoice.plan.platform_fee_amount) == (0.15, 255)
    assert invoice.plan.billing_cycle == 1
    assert invoice.period.start == sub.period.start and invoice.period.end == sub.period.end

    failed = pay(
        p,
        sub.subscription_id,
        invoice.invoice_id,
        1848,
        E.PAYMENT_RECORD_STATUS_FAILED,
        error_code="insufficient_funds",
        error_message="Your card has insufficient funds.",
    ).payment
    assert failed.status == E.PAYMENT_RECORD_STATUS_FAILED
    after_failure = get_invoice(p, sub.subscription_id, invoice.invoice_id)
    assert after_failure.retries.count == 1
    assert after_failure.payment_status == E.PAYMENT_STATUS_FAILED
    assert after_failure.retries.next_date.seconds == after_failure.retries.last_date.seconds + 3600
    # A first invoice that fails keeps the subscription pending.
    assert get_subscription(p, sub.subscription_id).status == E.SUBSCRIPTION_STATUS_PENDING

    paid = pay(p, sub.subscription_id, invoice.invoice_id, 1848, payment_method_id="pm_123").payment
    assert paid.payment_id.startswith("PAY") and paid.currency == "USD"
    settled = get_invoice(p, sub.subscription_id, invoice.invoice_id)
    assert (settled.status, settled.payment_status) == (
        E.INVOICE_STATUS_PAID,
        E.PAYMENT_STATUS_PAID,
    )
    assert (settled.amounts.amount_paid, settled.amounts.amount_due) == (1848, 0)
    assert settled.payment.method_id == "pm_123"
    active = get_subscription(p, sub.subscription_id)
    assert (active.status, active.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
    )
    assert active.billing.cycle_count == 1

    listed = p(
        p.payments.ListPayments,
        payment_pb2.ListPaymentsRequest(
            subscription_id=sub.subscription_id, invoice_id=invoice.invoice_id
        ),
    ).payments
    assert [x.payment_id for x in listed] == [paid.payment_id, failed.payment_id], "newest first"

    assert_fails(
        lambda: pay(p, sub.subscription_id, invoice.invoice_id, 1848),
        grpc.StatusCode.FAILED_PRECONDITION,
        "invoice_already_paid",
    )
    again = p(
        p.subscriptions.ListSubscriptions,
        subscription_pb2.ListSubscriptionsRequest(session_id="session_456"),
    ).subscriptions
    assert sub.subscription_id in [s.subscription_id for s in again]
