"""Invoices and payments: settling, dunning, refunds.

Payment records are immutable: each attempt or refund is a new row. What a
payment does to its invoice and subscription is decided here and written
with the record and its events in one transaction, under row locks on the
subscription and then the invoice, so concurrent payments on one invoice
pay it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bento_server import ids
from bento_server.errors import FailedPrecondition, InvalidArgument, not_found
from bento_server.store.models import Invoice, Payment, Subscription
from bento_server.usecases import activation, events, paging, scoping
from bento_server.usecases.context import Deps, Principal

# A positive amount: what the payment says happened.
CHARGE_STATUSES = ("succeeded", "failed", "processing", "canceled", "requires_action")
# A negative amount: a refund. The first three return money.
REFUND_STATUSES = ("succeeded", "refunded", "partially_refunded", "refund_failed", "refund_pending")
REFUNDS_MONEY = ("succeeded", "refunded", "partially_refunded")


@dataclass(frozen=True)
class NewPayment:
    amount: int
    currency: str
    status: str
    payment_method_id: str = ""
    payment_intent_id: str = ""
    refund_reason: str = ""
    original_payment_id: str = ""
    error_code: str = ""
    error_message: str = ""
    processor_response: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InvoiceChanges:
    payment_status: str | None = None
    payment_method_id: str | None = None
    payment_intent_id: str | None = None


@dataclass(frozen=True)
class Settled:
    invoice: Invoice
    payment: Payment | None = None
    subscription: Subscription | None = None
    # The codes of the activation session a paid first invoice opened.
    activation: activation.Opened | None = None


def _locked(
    deps: Deps, principal: Principal, subscription_id: str, invoice_id: str
) -> tuple[Subscription, Invoice]:
    sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
    invoice = scoping.invoice(deps.store, principal, subscription_id, invoice_id, lock=True)
    return sub, invoice


def _refuse_settled(invoice: Invoice) -> None:
    if invoice.status == "paid":
        raise FailedPrecondition(f"invoice {invoice.id} is already paid", "invoice_already_paid")
    if invoice.status == "draft":
        raise FailedPrecondition(
            f"invoice {invoice.id} is a draft: its subscription waits for its turn", "invoice_draft"
        )
    if invoice.status == "void":
        raise FailedPrecondition(
            f"invoice {invoice.id} is void: its subscription ended before it was paid",
            "invoice_void",
        )


# --- reading ------------------------------------------------------------------


def get_invoice(deps: Deps, principal: Principal, subscription_id: str, invoice_id: str) -> Invoice:
    return scoping.invoice(deps.store, principal, subscription_id, invoice_id)


def list_invoices(
    deps: Deps, principal: Principal, subscription_id: str, page_size: int, page_token: str
) -> paging.Listed[Invoice]:
    scoping.subscription(deps.store, principal, subscription_id)
    page = paging.page(page_size, page_token, f"ListInvoices|{subscription_id}")
    query = Invoice.select().where(Invoice.subscription == subscription_id)
    return paging.fetch(query, page, Invoice.id, newest_first=True)


def get_payment(
    deps: Deps, principal: Principal, subscription_id: str, invoice_id: str, payment_id: str
) -> Payment:
    return scoping.payment(deps.store, principal, subscription_id, invoice_id, payment_id)


def list_payments(
    deps: Deps,
    principal: Principal,
    subscription_id: str,
    invoice_id: str,
    page_size: int,
    page_token: str,
) -> paging.Listed[Payment]:
    scoping.invoice(deps.store, principal, subscription_id, invoice_id)
    page = paging.page(page_size, page_token, f"ListPayments|{subscription_id}|{invoice_id}")
    query = Payment.select().where(Payment.invoice == invoice_id)
    return paging.fetch(query, page, Payment.id, newest_first=True)


# --- paying -------------------------------------------------------------------


def create_payment(
    deps: Deps,
    principal: Principal,
    subscription_id: str,
    invoice_id: str,
    request: NewPayment,
    ip: str,
) -> Settled:
    now = deps.clock.now()
    with deps.store.write():
        sub, invoice = _locked(deps, principal, subscription_id, invoice_id)
        currency = request.currency or invoice.currency
        if currency != invoice.currency:
            raise InvalidArgument.field(
                "currency", f"the invoice is in {invoice.currency}, not {currency}"
            )
        if request.amount < 0:
            _check_refund(invoice, request)
        else:
            _refuse_settled(invoice)
            if (
                request.status == "succeeded"
                and request.amount > invoice.total_amount - invoice.amount_paid
            ):
                raise FailedPrecondition(
                    f"the payment of {request.amount} exceeds the {invoice.total_amount - invoice.amount_paid} due",
                    "amount_exceeds_due",
                )
        payment = Payment.create(
            id=ids.new_id(ids.PAYMENT),
            invoice=invoice.id,
            subscription=sub.id,
            platform=sub.platform_id,
            amount=request.amount,
            currency=currency,
            status=request.status,
            payment_method_id=request.payment_method_id,
            payment_intent_id=request.payment_intent_id,
            refund_reason=request.refund_reason,
            original_payment_id=request.original_payment_id,
            error_code=request.error_code,
            error_message=request.error_message,
            processor_response=request.processor_response,
            metadata=request.metadata,
            created_ip=ip,
            created_at=now,
        )
        opened = None
        if request.payment_method_id:
            invoice.payment_method_id = request.payment_method_id
        if request.payment_intent_id:
            invoice.payment_intent_id = request.payment_intent_id
        if request.amount < 0:
            if request.status in REFUNDS_MONEY:
                invoice.amount_refunded += -request.amount
            kind = (
                events.PAYMENT_REFUNDED
                if request.status in REFUNDS_MONEY
                else events.PAYMENT_RECORDED
            )
            events.append(deps, kind, sub, now, invoice=invoice, payment=payment)
        elif request.status == "succeeded":
            events.append(
                deps, events.PAYMENT_SUCCEEDED, sub, now, invoice=invoice, payment=payment
            )
            invoice.amount_paid += request.amount
            if invoice.amount_paid >= invoice.total_amount:
                opened = _settle(deps, sub, invoice, now)
        elif request.status == "failed":
            _fail(deps, sub, invoice, now, payment)
        else:
            if request.status == "processing":
                invoice.payment_status = "processing"
            events.append(deps, events.PAYMENT_RECORDED, sub, now, invoice=invoice, payment=payment)
        _save(invoice, sub, now, ip)
        return Settled(invoice, payment, sub, opened)


def _check_refund(invoice: Invoice, request: NewPayment) -> None:
    if (
        request.status in REFUNDS_MONEY
        and -request.amount > invoice.amount_paid - invoice.amount_refunded
    ):
        raise FailedPrecondition(
            f"the refund of {-request.amount} exceeds the "
            f"{invoice.amount_paid - invoice.amount_refunded} paid and not yet refunded",
            "refund_exceeds_paid",
        )
    if request.original_payment_id:
        original = Payment.get_or_none(
            (Payment.id == request.original_payment_id) & (Payment.invoice == invoice.id)
        )
        if original is None or original.amount <= 0 or original.status != "succeeded":
            raise not_found("payment", request.original_payment_id)


def _save(invoice: Invoice, sub: Subscription, now: datetime, ip: str) -> None:
    invoice.updated_at = now
    sub.updated_at = now
    if ip:
        invoice.updated_ip = ip
        sub.updated_ip = ip
    invoice.save()
    sub.save()


def _settle(
    deps: Deps, sub: Subscription, invoice: Invoice, now: datetime
) -> activation.Opened | None:
    """The invoice is paid in full: what that does to its subscription.

    A paid first invoice opens the activation session; its codes are
    returned, for this response only.
    """
    invoice.status = "paid"
    invoice.payment_status = "paid"
    invoice.payment_date = now
    invoice.retries_next_date = None
    sub.cycle_count += 1
    current = invoice.billing_cycle == sub.current_cycle
    if current:
        sub.payment_status = "paid"
        sub.grace_period_end = sub.period_end + timedelta(days=sub.grace_period_days)
    # The event shows the subscription as this payment left it: for an
    # invoice paid ahead, or one of a canceled subscription, it is the last.
    events.append(deps, events.INVOICE_PAID, sub, now, invoice=invoice)
    if not current:
        return None  # paid ahead, or a past cycle: the current period is unchanged
    app_ids = events.plan_app_ids(sub.plan_id)
    if sub.status == "pending":
        sub.status = "active"
        events.append(
            deps, events.SUBSCRIPTION_ACTIVATED, sub, now, invoice=invoice, app_ids=app_ids
        )
    elif sub.status in ("active", "past_due", "unpaid"):
        sub.status = "active"
        events.append(deps, events.SUBSCRIPTION_RENEWED, sub, now, invoice=invoice, app_ids=app_ids)
    if invoice.billing_cycle == 1:
        return activation.open_session(deps, sub, invoice, now)
    return None


def _fail(
    deps: Deps, sub: Subscription, invoice: Invoice, now: datetime, payment: Payment | None = None
) -> None:
    """A failed attempt: count the retry; a renewal falls past due, then unpaid.

    Writes ``payment.failed`` once the invoice and the subscription's
    payment status show the failure, so the event describes what it did.
    """
    invoice.retries_count += 1
    invoice.retries_last_date = now
    invoice.retries_next_date = now + timedelta(minutes=invoice.retries_delay_minutes)
    invoice.payment_status = "failed"
    current = invoice.billing_cycle == sub.current_cycle
    if current:
        sub.payment_status = "failed"
    events.append(deps, events.PAYMENT_FAILED, sub, now, invoice=invoice, payment=payment)
    if not current:
        return
    # A first invoice keeps its subscription pending; a renewal (or the
    # first charge after a trial) drops a running one past due.
    if sub.status not in ("active", "past_due"):
        return
    target = "unpaid" if invoice.retries_count >= invoice.retries_max else "past_due"
    if target != sub.status:
        sub.status = target
        kind = events.SUBSCRIPTION_PAST_DUE if target == "past_due" else events.SUBSCRIPTION_UPDATED
        events.append(
            deps, kind, sub, now, invoice=invoice, app_ids=events.plan_app_ids(sub.plan_id)
        )


# --- updating an invoice ------------------------------------------------------------


def update_invoice(
    deps: Deps,
    principal: Principal,
    subscription_id: str,
    invoice_id: str,
    changes: InvoiceChanges,
    ip: str,
) -> Settled:
    now = deps.clock.now()
    with deps.store.write():
        sub, invoice = _locked(deps, principal, subscription_id, invoice_id)
        if changes.payment_method_id is not None:
            invoice.payment_method_id = changes.payment_method_id
        if changes.payment_intent_id is not None:
            invoice.payment_intent_id = changes.payment_intent_id
        status = changes.payment_status
        opened = None
        if status is not None:
            _refuse_settled(invoice)
        if status is not None and status != invoice.payment_status:
            if status == "paid":
                invoice.amount_paid = invoice.total_amount
                opened = _settle(deps, sub, invoice, now)
            elif status == "failed":
                _fail(deps, sub, invoice, now)
            else:
                invoice.payment_status = status
                events.append(deps, events.INVOICE_UPDATED, sub, now, invoice=invoice)
        elif changes.payment_method_id is not None or changes.payment_intent_id is not None:
            events.append(deps, events.INVOICE_UPDATED, sub, now, invoice=invoice)
        _save(invoice, sub, now, ip)
        return Settled(invoice, None, sub, opened)
