"""PaymentService and UpdateInvoice over the wire: partial payments, refunds,
currency, bad input, retries and dunning, settling without a payment record,
the immutable ledger, and idempotent payments."""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from bento.v1 import (
    common_pb2,
    enums_pb2,
    invoice_pb2,
    payment_pb2,
    subscription_pb2,
)
from tests.billing_support import (
    Shop,
    advance,
    get_invoice,
    get_subscription,
    make_shop,
    now,
    pay,
    subscribe,
)
from tests.helpers.paging import every, pages
from tests.support import Caller, RunningServer, assert_fails, phases

E = enums_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
NOT_FOUND = grpc.StatusCode.NOT_FOUND
SUCCEEDED = E.PAYMENT_RECORD_STATUS_SUCCEEDED
FAILED = E.PAYMENT_RECORD_STATUS_FAILED
# The seed's example: 1699 at 8.75% exclusive is 1699 + 149 = 1848.
TOTAL = 1848


# --- helpers ------------------------------------------------------------------


def seed_invoice(shop: Shop) -> tuple[subscription_pb2.Subscription, invoice_pb2.Invoice]:
    """A pending subscription with its open first invoice of 1848."""
    plan_id = shop.plan(prices={"US": phases((1699, None))})
    created = subscribe(
        shop.platform,
        plan_id,
        tax_rate=0.0875,
        tax_type=E.TAX_TYPE_SALES_TAX,
        tax_behavior=E.TAX_BEHAVIOR_EXCLUSIVE,
    )
    assert created.invoice.amounts.total_amount == TOTAL
    return created.subscription, created.invoice


def list_payments(caller: Caller, subscription_id: str, invoice_id: str) -> list[Any]:
    request = payment_pb2.ListPaymentsRequest(
        subscription_id=subscription_id, invoice_id=invoice_id
    )
    return every(partial(caller, caller.payments.ListPayments), request, "payments")


def get_payment(
    caller: Caller, subscription_id: str, invoice_id: str, payment_id: str
) -> payment_pb2.Payment:
    return caller(
        caller.payments.GetPayment,
        payment_pb2.GetPaymentRequest(
            subscription_id=subscription_id, invoice_id=invoice_id, payment_id=payment_id
        ),
    ).payment


def update_invoice(
    caller: Caller, subscription_id: str, invoice_id: str, **fields: Any
) -> invoice_pb2.UpdateInvoiceResponse:
    return caller(
        caller.invoices.UpdateInvoice,
        invoice_pb2.UpdateInvoiceRequest(
            subscription_id=subscription_id, invoice_id=invoice_id, **fields
        ),
    )


def refund(
    caller: Caller,
    subscription_id: str,
    invoice_id: str,
    amount: int,
    status: int = SUCCEEDED,
    **fields: Any,
) -> payment_pb2.Payment:
    assert amount < 0
    return pay(caller, subscription_id, invoice_id, amount, status, **fields).payment


# --- partial payments -----------------------------------------------------------


def test_partial_payments_add_up(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id

    pay(p, sid, iid, 1000)
    part = get_invoice(p, sid, iid)
    assert (part.status, part.payment_status) == (E.INVOICE_STATUS_OPEN, E.PAYMENT_STATUS_UNPAID)
    assert (part.amounts.amount_paid, part.amounts.amount_due) == (1000, 848)
    still = get_subscription(p, sid)
    assert (still.status, still.billing.cycle_count) == (E.SUBSCRIPTION_STATUS_PENDING, 0)

    assert_fails(lambda: pay(p, sid, iid, 849), PRECONDITION, "amount_exceeds_due")
    assert get_invoice(p, sid, iid) == part

    pay(p, sid, iid, 848)
    paid = get_invoice(p, sid, iid)
    assert (paid.status, paid.payment_status) == (E.INVOICE_STATUS_PAID, E.PAYMENT_STATUS_PAID)
    assert (paid.amounts.amount_paid, paid.amounts.amount_due) == (TOTAL, 0)
    active = get_subscription(p, sid)
    assert (active.status, active.payment_status, active.billing.cycle_count) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
        1,
    )
    assert [x.amount for x in list_payments(p, sid, iid)] == [848, 1000]


def test_a_payment_above_the_total_is_refused(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    assert_fails(
        lambda: pay(p, sub.subscription_id, invoice.invoice_id, TOTAL + 1),
        PRECONDITION,
        "amount_exceeds_due",
    )
    assert list_payments(p, sub.subscription_id, invoice.invoice_id) == []
    # A failed attempt of any size is only a record of the attempt.
    pay(p, sub.subscription_id, invoice.invoice_id, TOTAL + 1, FAILED)
    assert get_invoice(p, sub.subscription_id, invoice.invoice_id).amounts.amount_paid == 0


# --- refunds -----------------------------------------------------------------------


def test_refunds_are_bounded_by_what_was_paid_and_change_no_status(
    server: RunningServer,
) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    paid = pay(p, sid, iid, TOTAL).payment

    back = refund(
        p,
        sid,
        iid,
        -848,
        refund_reason="requested_by_customer",
        original_payment_id=paid.payment_id,
    )
    assert back.payment_id.startswith("PAY")
    assert (back.amount, back.status, back.currency) == (-848, SUCCEEDED, "USD")
    assert back.refund_reason == "requested_by_customer"
    assert back.original_payment_id == paid.payment_id
    after = get_invoice(p, sid, iid)
    assert (after.status, after.payment_status) == (E.INVOICE_STATUS_PAID, E.PAYMENT_STATUS_PAID)
    # amount_paid is net of refunds; a paid invoice owes nothing whatever it gave back.
    assert (after.amounts.amount_paid, after.amounts.amount_due) == (TOTAL - 848, 0)
    active = get_subscription(p, sid)
    assert (active.status, active.payment_status, active.billing.cycle_count) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
        1,
    )

    # 1000 is left to refund.
    assert_fails(
        lambda: refund(p, sid, iid, -1001, original_payment_id=paid.payment_id),
        PRECONDITION,
        "refund_exceeds_paid",
    )
    assert_fails(
        lambda: refund(p, sid, iid, -1001, E.PAYMENT_RECORD_STATUS_REFUNDED),
        PRECONDITION,
        "refund_exceeds_paid",
    )
    rest = refund(p, sid, iid, -1000, E.PAYMENT_RECORD_STATUS_PARTIALLY_REFUNDED)
    assert rest.status == E.PAYMENT_RECORD_STATUS_PARTIALLY_REFUNDED
    assert_fails(lambda: refund(p, sid, iid, -1), PRECONDITION, "refund_exceeds_paid")
    assert [x.amount for x in list_payments(p, sid, iid)] == [-1000, -848, TOTAL]
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_ACTIVE
    assert get_invoice(p, sid, iid).status == E.INVOICE_STATUS_PAID


def test_a_refund_on_an_unpaid_invoice_is_refused(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    assert_fails(
        lambda: refund(p, sub.subscription_id, invoice.invoice_id, -100),
        PRECONDITION,
        "refund_exceeds_paid",
    )
    # A partial payment bounds the refund by what was paid.
    pay(p, sub.subscription_id, invoice.invoice_id, 500)
    assert_fails(
        lambda: refund(p, sub.subscription_id, invoice.invoice_id, -501),
        PRECONDITION,
        "refund_exceeds_paid",
    )
    refund(p, sub.subscription_id, invoice.invoice_id, -500)
    assert list_payments(p, sub.subscription_id, invoice.invoice_id)[0].amount == -500


def test_a_pending_refund_does_not_count_toward_the_bound(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    pay(p, sid, iid, TOTAL)
    pending = refund(p, sid, iid, -TOTAL, E.PAYMENT_RECORD_STATUS_REFUND_PENDING)
    assert (pending.amount, pending.status) == (-TOTAL, E.PAYMENT_RECORD_STATUS_REFUND_PENDING)
    failed = refund(p, sid, iid, -TOTAL, E.PAYMENT_RECORD_STATUS_REFUND_FAILED)
    assert failed.status == E.PAYMENT_RECORD_STATUS_REFUND_FAILED
    done = refund(p, sid, iid, -TOTAL)
    assert done.status == SUCCEEDED
    assert_fails(lambda: refund(p, sid, iid, -1), PRECONDITION, "refund_exceeds_paid")
    assert [x.payment_id for x in list_payments(p, sid, iid)][:3] == [
        done.payment_id,
        failed.payment_id,
        pending.payment_id,
    ]
    assert get_invoice(p, sid, iid).status == E.INVOICE_STATUS_PAID


def test_a_refund_names_a_succeeded_payment_of_its_invoice(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    failed = pay(p, sid, iid, TOTAL, FAILED).payment
    paid = pay(p, sid, iid, TOTAL).payment
    first_refund = refund(p, sid, iid, -100, original_payment_id=paid.payment_id)

    other_sub, other_invoice = seed_invoice(shop)
    elsewhere = pay(p, other_sub.subscription_id, other_invoice.invoice_id, TOTAL).payment

    for original in (
        "PAY0000000000000000001",
        failed.payment_id,
        first_refund.payment_id,
        elsewhere.payment_id,
    ):
        assert_fails(
            lambda: refund(p, sid, iid, -100, original_payment_id=original),
            NOT_FOUND,
            "payment_not_found",
        )
    assert [x.payment_id for x in list_payments(p, sid, iid)] == [
        first_refund.payment_id,
        paid.payment_id,
        failed.payment_id,
    ]


# --- currency --------------------------------------------------------------------------


def test_currency_must_be_the_invoices(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    assert_fails(
        lambda: pay(p, sid, iid, 100, currency="EUR"), INVALID, "invalid_argument", "currency"
    )
    assert_fails(
        lambda: pay(p, sid, iid, 100, currency="usd"), INVALID, "invalid_argument", "currency"
    )
    assert list_payments(p, sid, iid) == []
    defaulted = pay(p, sid, iid, 100).payment
    assert defaulted.currency == "USD"
    explicit = pay(p, sid, iid, 100, currency="USD").payment
    assert explicit.currency == "USD"
    assert get_invoice(p, sid, iid).amounts.amount_paid == 200


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "status", "fields", "field"),
    [
        (0, SUCCEEDED, {}, "amount"),
        (100, E.PAYMENT_RECORD_STATUS_UNSPECIFIED, {}, "status"),
        (100, 99, {}, "status"),
        (-100, 99, {}, "status"),
        (100, E.PAYMENT_RECORD_STATUS_REFUNDED, {}, "status"),
        (100, E.PAYMENT_RECORD_STATUS_REFUND_PENDING, {}, "status"),
        (-100, FAILED, {}, "status"),
        (-100, E.PAYMENT_RECORD_STATUS_PROCESSING, {}, "status"),
        (100, SUCCEEDED, {"refund_reason": "duplicate"}, "refund_reason"),
    ],
    ids=[
        "zero_amount",
        "unspecified_status",
        "unknown_status",
        "unknown_refund_status",
        "payment_refunded",
        "payment_refund_pending",
        "refund_failed_status",
        "refund_processing",
        "payment_with_refund_reason",
    ],
)
def test_bad_payments_are_invalid_arguments(
    server: RunningServer, amount: int, status: int, fields: dict[str, Any], field: str
) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    pay(p, sub.subscription_id, invoice.invoice_id, 500)
    assert_fails(
        lambda: pay(p, sub.subscription_id, invoice.invoice_id, amount, status, **fields),
        INVALID,
        "invalid_argument",
        field,
    )
    assert len(list_payments(p, sub.subscription_id, invoice.invoice_id)) == 1
    assert get_invoice(p, sub.subscription_id, invoice.invoice_id).amounts.amount_paid == 500


# --- failed payments ------------------------------------------------------------------------


def test_failed_payments_count_retries_on_a_first_invoice(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    assert (invoice.retries.count, invoice.retries.max, invoice.retries.delay_minutes) == (
        0,
        3,
        60,
    )
    assert not invoice.retries.HasField("next_date")
    assert not invoice.retries.HasField("last_date")
    for attempt in (1, 2, 3, 4):
        advance(shop.admin, 600)
        at = now(shop.admin)
        pay(
            p,
            sid,
            iid,
            TOTAL,
            FAILED,
            error_code="card_declined",
            error_message="Your card was declined.",
        )
        failed = get_invoice(p, sid, iid)
        # The count stops at the maximum, and the last retry schedules no next one.
        assert failed.retries.count == min(attempt, 3)
        assert failed.retries.last_date == at
        if attempt < 3:
            assert failed.retries.next_date.ToDatetime() - at.ToDatetime() == timedelta(minutes=60)
        else:
            assert not failed.retries.HasField("next_date")
        assert (failed.status, failed.payment_status) == (
            E.INVOICE_STATUS_OPEN,
            E.PAYMENT_STATUS_FAILED,
        )
        pending = get_subscription(p, sid)
        assert (pending.status, pending.payment_status) == (
            E.SUBSCRIPTION_STATUS_PENDING,
            E.PAYMENT_STATUS_FAILED,
        )
    recorded = list_payments(p, sid, iid)
    assert len(recorded) == 4
    assert {(x.status, x.error_code) for x in recorded} == {(FAILED, "card_declined")}

    pay(p, sid, iid, TOTAL)
    settled = get_invoice(p, sid, iid)
    assert (settled.status, settled.retries.count) == (E.INVOICE_STATUS_PAID, 3)
    assert not settled.retries.HasField("next_date")
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_ACTIVE


def test_dunning_on_a_plan_change_invoice(server: RunningServer) -> None:
    """The plan change's invoice bills the subscription's current cycle of a
    running subscription: failures make it past due, then unpaid."""
    every_30_days = common_pb2.BillingFrequency(unit=E.BILLING_UNIT_DAY, value=30)
    shop = make_shop(server, billing_frequency=every_30_days, prices={"US": phases((3000, None))})
    p = shop.platform
    created = subscribe(p, shop.plan_id)
    sid = created.subscription.subscription_id
    pay(p, sid, created.invoice.invoice_id, 3000)
    bigger = shop.plan(billing_frequency=every_30_days, prices={"US": phases((6000, None))})
    advance(shop.admin, 10 * 86_400)
    changed = p(
        p.subscriptions.UpdateSubscription,
        subscription_pb2.UpdateSubscriptionRequest(subscription_id=sid, plan_id=bigger),
    )
    invoice = changed.invoice
    # 3000 * 20/30 of the period unused.
    assert (invoice.amounts.proration_credit, invoice.amounts.total_amount) == (2000, 4000)
    assert invoice.plan.billing_cycle == 2
    assert (changed.subscription.status, changed.subscription.payment_status) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_UNPAID,
    )
    iid = invoice.invoice_id
    expected = [
        E.SUBSCRIPTION_STATUS_PAST_DUE,
        E.SUBSCRIPTION_STATUS_PAST_DUE,
        E.SUBSCRIPTION_STATUS_UNPAID,
    ]
    for attempt, status in enumerate(expected, start=1):
        pay(p, sid, iid, 4000, FAILED)
        assert get_invoice(p, sid, iid).retries.count == attempt
        got = get_subscription(p, sid)
        assert (got.status, got.payment_status) == (status, E.PAYMENT_STATUS_FAILED)

    pay(p, sid, iid, 4000)
    back = get_subscription(p, sid)
    assert (back.status, back.payment_status, back.billing.cycle_count) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
        2,
    )


# --- UpdateInvoice ------------------------------------------------------------------------------


def test_update_invoice_paid_settles_and_records_the_amount_due(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    at = now(shop.admin)
    settled = update_invoice(p, sid, iid, payment_status=E.PAYMENT_STATUS_PAID).invoice
    assert (settled.status, settled.payment_status) == (
        E.INVOICE_STATUS_PAID,
        E.PAYMENT_STATUS_PAID,
    )
    assert (settled.amounts.amount_paid, settled.amounts.amount_due) == (TOTAL, 0)
    assert settled.payment.date == at
    assert get_invoice(p, sid, iid) == settled
    active = get_subscription(p, sid)
    assert (active.status, active.payment_status, active.billing.cycle_count) == (
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.PAYMENT_STATUS_PAID,
        1,
    )
    # The ledger stays whole: the amount due is written as a payment record.
    (recorded,) = list_payments(p, sid, iid)
    assert (recorded.amount, recorded.status) == (TOTAL, SUCCEEDED)

    for status in (E.PAYMENT_STATUS_FAILED, E.PAYMENT_STATUS_UNPAID):
        assert_fails(
            lambda: update_invoice(p, sid, iid, payment_status=status),
            PRECONDITION,
            "invoice_already_paid",
        )
    assert get_invoice(p, sid, iid) == settled


def test_update_invoice_paid_twice_is_refused(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    update_invoice(p, sid, iid, payment_status=E.PAYMENT_STATUS_PAID)
    assert_fails(
        lambda: update_invoice(p, sid, iid, payment_status=E.PAYMENT_STATUS_PAID),
        PRECONDITION,
        "invoice_already_paid",
    )
    assert get_subscription(p, sid).billing.cycle_count == 1


def test_update_invoice_payment_details_alone(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    method = update_invoice(p, sid, iid, payment_method_id="pm_card").invoice
    assert (method.payment.method_id, method.payment.intent_id) == ("pm_card", "")
    intent = update_invoice(p, sid, iid, payment_intent_id="pi_123").invoice
    assert (intent.payment.method_id, intent.payment.intent_id) == ("pm_card", "pi_123")
    assert (intent.status, intent.payment_status, intent.amounts) == (
        invoice.status,
        invoice.payment_status,
        invoice.amounts,
    )
    assert get_invoice(p, sid, iid) == intent
    assert get_subscription(p, sid).status == E.SUBSCRIPTION_STATUS_PENDING


def test_update_invoice_refuses_bad_requests(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    assert_fails(lambda: update_invoice(p, sid, iid), INVALID, "invalid_argument")
    for status in (
        E.PAYMENT_STATUS_NO_PAYMENT_REQUIRED,
        E.PAYMENT_STATUS_SCHEDULED,
        E.PAYMENT_STATUS_UNSPECIFIED,
        99,
    ):
        assert_fails(
            lambda: update_invoice(p, sid, iid, payment_status=status),
            INVALID,
            "invalid_argument",
            "payment_status",
        )
    assert get_invoice(p, sid, iid) == invoice


# --- reading the ledger ------------------------------------------------------------------------------


def test_get_and_list_payments_round_trip(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    processor = struct_pb2.Struct()
    processor.update({"card_brand": "visa", "last4": "4242", "decline_code": "do_not_honor"})
    metadata = struct_pb2.Struct()
    metadata.update({"attempt": "first"})
    failed = pay(
        p,
        sid,
        iid,
        TOTAL,
        FAILED,
        payment_method_id="pm_visa",
        payment_intent_id="pi_1",
        error_code="card_declined",
        error_message="Declined.",
        processor_response=processor,
        metadata=metadata,
    ).payment
    assert (failed.subscription_id, failed.invoice_id, failed.platform_id) == (
        sid,
        iid,
        sub.platform_id,
    )
    assert (failed.amount, failed.status, failed.currency) == (TOTAL, FAILED, "USD")
    assert (failed.payment_method_id, failed.payment_intent_id) == ("pm_visa", "pi_1")
    assert (failed.error_code, failed.error_message) == ("card_declined", "Declined.")
    assert failed.processor_response == processor
    assert failed.metadata == metadata
    assert failed.created_at == now(shop.admin)
    assert failed.created_ip

    processing = pay(p, sid, iid, 1000, E.PAYMENT_RECORD_STATUS_PROCESSING).payment
    assert get_invoice(p, sid, iid).payment_status == E.PAYMENT_STATUS_PROCESSING
    part = pay(p, sid, iid, 1000).payment
    rest = pay(p, sid, iid, 848, payment_method_id="pm_mc").payment
    back = refund(p, sid, iid, -48, refund_reason="goodwill", original_payment_id=rest.payment_id)

    created = [failed, processing, part, rest, back]
    assert list_payments(p, sid, iid) == list(reversed(created)), "newest first"
    # Immutable: every record reads back exactly as it was created.
    for payment in created:
        assert get_payment(p, sid, iid, payment.payment_id) == payment
    invoice_now = get_invoice(p, sid, iid)
    assert invoice_now.payment.method_id == "pm_mc"
    assert invoice_now.payment.intent_id == "pi_1"

    request = payment_pb2.ListPaymentsRequest(subscription_id=sid, invoice_id=iid, page_size=2)
    paged = [
        [x.payment_id for x in page.payments]
        for page in pages(partial(p, p.payments.ListPayments), request)
    ]
    ids = [x.payment_id for x in reversed(created)]
    assert paged == [ids[0:2], ids[2:4], ids[4:5]]


def test_unknown_payments_are_not_found(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    paid = pay(p, sid, iid, 100).payment
    other_sub, other_invoice = seed_invoice(shop)
    for args in (
        (sid, iid, "PAY0000000000000000001"),
        (other_sub.subscription_id, other_invoice.invoice_id, paid.payment_id),
    ):
        assert_fails(lambda: get_payment(p, *args), NOT_FOUND, "payment_not_found")
    # GetPayment looks the payment up by all three IDs at once: a mismatched
    # invoice or subscription answers payment_not_found.
    for args in (
        (sid, other_invoice.invoice_id, paid.payment_id),
        (other_sub.subscription_id, iid, paid.payment_id),
    ):
        assert_fails(lambda: get_payment(p, *args), NOT_FOUND, "payment_not_found")
    assert_fails(
        lambda: list_payments(p, sid, other_invoice.invoice_id), NOT_FOUND, "invoice_not_found"
    )
    # GetInvoice (read by ID alone, on PostgreSQL in a batch) holds it to
    # the subscription asked about and to the caller's platform.
    assert_fails(
        lambda: get_invoice(p, sid, other_invoice.invoice_id), NOT_FOUND, "invoice_not_found"
    )
    foreign = shop.tenancy.other_platform
    assert_fails(lambda: get_invoice(foreign, sid, iid), NOT_FOUND, "invoice_not_found")
    assert get_invoice(shop.admin, sid, iid) == get_invoice(p, sid, iid)
    assert_fails(
        lambda: get_payment(foreign, sid, iid, paid.payment_id), NOT_FOUND, "payment_not_found"
    )
    assert_fails(lambda: list_payments(foreign, sid, iid), NOT_FOUND, "invoice_not_found")
    assert get_payment(shop.admin, sid, iid, paid.payment_id) == paid


def test_get_invoice_by_its_id_alone(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    pay(p, sid, iid, 100)
    # Invoice IDs are unique: the subscription may be left out, and the
    # answer is the same invoice (read by ID alone, on PostgreSQL in a batch
    # on the loop's connection).
    found = get_invoice(p, "", iid)
    assert found == get_invoice(p, sid, iid)
    assert (found.subscription_id, found.amounts.amount_paid) == (sid, 100)
    assert get_invoice(shop.admin, "", iid) == found
    # Still the caller's platform's only, and an unknown ID is not found.
    foreign = shop.tenancy.other_platform
    assert_fails(lambda: get_invoice(foreign, "", iid), NOT_FOUND, "invoice_not_found")
    unknown = "INV0000000000000000001"
    assert_fails(lambda: get_invoice(p, "", unknown), NOT_FOUND, "invoice_not_found")
    # A subscription given must be the invoice's.
    other_sub, _ = seed_invoice(shop)
    for wrong in (other_sub.subscription_id, "SUB0000000000000000001"):
        assert_fails(lambda: get_invoice(p, wrong, iid), NOT_FOUND, "invoice_not_found")
    assert_fails(
        lambda: get_invoice(p, "not an id", iid), INVALID, "invalid_argument", "subscription_id"
    )


# --- idempotency ----------------------------------------------------------------------------------


def test_create_payment_is_idempotent(server: RunningServer) -> None:
    shop = make_shop(server)
    p = shop.platform
    sub, invoice = seed_invoice(shop)
    sid, iid = sub.subscription_id, invoice.invoice_id
    key = uuid.uuid4().hex
    first = pay(p, sid, iid, 1000, key=key)
    advance(shop.admin, 60)
    second = pay(p, sid, iid, 1000, key=key)
    assert second == first
    assert list_payments(p, sid, iid) == [first.payment]
    assert get_invoice(p, sid, iid).amounts.amount_paid == 1000

    assert_fails(lambda: pay(p, sid, iid, 848, key=key), INVALID, "idempotency_key_reused")
    assert get_invoice(p, sid, iid).amounts.amount_paid == 1000
    # A new key is a new attempt.
    pay(p, sid, iid, 848, key=uuid.uuid4().hex)
    assert get_invoice(p, sid, iid).status == E.INVOICE_STATUS_PAID
    assert len(list_payments(p, sid, iid)) == 2
    # The replay still answers the first response, even now the invoice is paid.
    assert pay(p, sid, iid, 1000, key=key) == first
    assert len(list_payments(p, sid, iid)) == 2
