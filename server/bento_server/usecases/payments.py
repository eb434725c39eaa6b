"""Invoices and payments: settling, dunning, refunds.

Payment records are immutable: each attempt or refund is a new row. What a
payment does to its invoice and subscription is decided here and written
with the record and its events in one transaction, under row locks on the
subscription and then the invoice, so concurrent payments on one invoice
pay it once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import peewee

from bento_server import ids
from bento_server.billing import account
from bento_server.billing.statuses import (
    MONEY_RETURNED,
    EventType,
    PaymentRecordStatus,
    PaymentStatus,
)
from bento_server.errors import InvalidArgument, not_found
from bento_server.store import statements
from bento_server.store.models import Invoice, Payment, Subscription
from bento_server.usecases import accounts, activation, paging, plan_levels, scoping
from bento_server.usecases.context import Deps, Principal


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


# --- reading ------------------------------------------------------------------


def get_invoice(deps: Deps, principal: Principal, subscription_id: str, invoice_id: str) -> Invoice:
    return scoping.invoice(deps.store, principal, subscription_id, invoice_id)


async def get_invoice_on_loop(
    deps: Deps, principal: Principal, subscription_id: str, invoice_id: str
) -> Invoice:
    """``get_invoice`` on the event loop, through its own connection (PostgreSQL)."""
    assert deps.loop_reads is not None
    return await scoping.invoice_on_loop(deps.loop_reads, principal, subscription_id, invoice_id)


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
        loaded = accounts.load(deps.store, sub, invoice)
        status = PaymentRecordStatus(request.status)
        if request.amount < 0:
            left = _refundable_of(invoice, request)
            if status in MONEY_RETURNED:
                step = account.refund(loaded.account, invoice.id, -request.amount, left, now)
                kind = EventType.PAYMENT_REFUNDED
            else:
                step = account.Step(loaded.account)
                kind = EventType.PAYMENT_RECORDED
        elif status == PaymentRecordStatus.SUCCEEDED:
            step = account.pay(loaded.account, invoice.id, request.amount, now)
            kind = EventType.PAYMENT_SUCCEEDED
        elif status == PaymentRecordStatus.FAILED:
            # The core writes payment.failed once the failure is counted.
            step = account.fail(loaded.account, invoice.id, now)
            kind = None
        else:
            account.refuse_settled(loaded.account.invoice(invoice.id))
            step = (
                account.mark_status(loaded.account, invoice.id, PaymentStatus.PROCESSING, now)
                if status == PaymentRecordStatus.PROCESSING
                else account.Step(loaded.account)
            )
            kind = EventType.PAYMENT_RECORDED
        payment = _record(deps, invoice, sub, request, currency, ip, now)
        if request.payment_method_id:
            invoice.payment_method_id = request.payment_method_id
        if request.payment_intent_id:
            invoice.payment_intent_id = request.payment_intent_id
        if kind is not None:
            _payment_event_first(step, kind, invoice.id, now)
        return _settle(deps, loaded, step, invoice, payment, now, ip)


def _payment_event_first(
    step: account.Step, kind: EventType, invoice_id: str, now: datetime
) -> None:
    """The payment's own event comes before what it did to the invoice."""
    step.events.insert(0, account.Emitted(kind, now, step.account.invoice(invoice_id)))


def _settle(
    deps: Deps,
    loaded: accounts.Loaded,
    step: account.Step,
    invoice: Invoice,
    payment: Payment | None,
    now: datetime,
    ip: str,
) -> Settled:
    """Writes a payment's step; a first period paid opens activation and,
    on a single-active platform, takes or waits for the user's one place."""
    sub = loaded.row
    _touch(invoice, sub, now, ip)
    rows = accounts.write(deps, loaded, step, ip, payment=payment)
    opened = accounts.open_activations(deps, loaded, step, rows, now)
    if step.started:
        plan_levels.arbitrate(deps, scoping.platform(deps.store, sub.platform_id), sub, now)
    statements.save_changes(deps.store, invoice)
    return Settled(invoice, payment, sub, opened)


def _record(
    deps: Deps,
    invoice: Invoice,
    sub: Subscription,
    request: NewPayment,
    currency: str,
    ip: str,
    now: datetime,
) -> Payment:
    # A payment record holds what the request said, as said.
    said = {**dataclasses.asdict(request), "currency": currency}
    return statements.NEW_PAYMENT.create(
        deps.store,
        id=ids.new_id(ids.PAYMENT),
        invoice=invoice.id,
        subscription=sub.id,
        platform=sub.platform_id,
        created_ip=ip,
        created_at=now,
        **said,
    )


def _refundable_of(invoice: Invoice, request: NewPayment) -> int | None:
    """What is left to refund of the payment a refund names; None if it names none."""
    if not request.original_payment_id:
        return None
    original = Payment.get_or_none(
        (Payment.id == request.original_payment_id) & (Payment.invoice == invoice.id)
    )
    if original is None or original.amount <= 0 or original.status != PaymentRecordStatus.SUCCEEDED:
        raise not_found("payment", request.original_payment_id)
    refunded = (
        Payment.select(peewee.fn.COALESCE(peewee.fn.SUM(Payment.amount), 0))
        .where(
            (Payment.original_payment_id == original.id)
            & (Payment.amount < 0)
            & Payment.status.in_(MONEY_RETURNED)
        )
        .scalar()
    )
    return int(original.amount + int(refunded or 0))


def _touch(invoice: Invoice, sub: Subscription, now: datetime, ip: str) -> None:
    invoice.updated_at = now
    sub.updated_at = now
    if ip:
        invoice.updated_ip = ip
        sub.updated_ip = ip


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
        loaded = accounts.load(deps.store, sub, invoice)
        step = account.Step(loaded.account)
        payment = None
        status = changes.payment_status
        if status is not None:
            account.refuse_settled(loaded.account.invoice(invoice.id))
        if status is not None and status != invoice.payment_status:
            if status == PaymentStatus.PAID:
                # Settled without a payment from the caller: the amount due
                # is written as a payment record all the same, so every unit
                # an invoice collected has its line in the ledger.
                step, due = account.mark_paid(loaded.account, invoice.id, now)
                if due:
                    payment = _record(
                        deps,
                        invoice,
                        sub,
                        NewPayment(
                            amount=due,
                            currency=invoice.currency,
                            status=PaymentRecordStatus.SUCCEEDED,
                            payment_method_id=invoice.payment_method_id,
                            payment_intent_id=invoice.payment_intent_id,
                            metadata={"recorded_by": "UpdateInvoice"},
                        ),
                        invoice.currency,
                        ip,
                        now,
                    )
                    _payment_event_first(step, EventType.PAYMENT_SUCCEEDED, invoice.id, now)
            elif status == PaymentStatus.FAILED:
                step = account.fail(loaded.account, invoice.id, now)
            else:
                step = account.mark_status(loaded.account, invoice.id, PaymentStatus(status), now)
                step.emit(EventType.INVOICE_UPDATED, now, step.account.invoice(invoice.id))
        elif changes.payment_method_id is not None or changes.payment_intent_id is not None:
            step.emit(EventType.INVOICE_UPDATED, now, step.account.invoice(invoice.id))
        return _settle(deps, loaded, step, invoice, payment, now, ip)
