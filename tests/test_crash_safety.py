"""Crash safety: what a server acknowledged survives SIGKILL, nothing is half
written, and retries with the same idempotency keys happen exactly once.

The store checker (``tests.consistency``) is proved here too: a store after
every kind of change passes it, and a store with one thing broken fails it,
naming the thing.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import peewee
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from bento.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    entitlement_pb2,
    entitlement_pb2_grpc,
    enums_pb2,
    event_pb2,
    event_pb2_grpc,
    invoice_pb2,
    payment_pb2,
    subscription_pb2,
    tenant_pb2,
)
from bento_server.clock import TestClock
from bento_server.infra import scheduler
from bento_server.store.database import connect
from bento_server.store.models import Event, IdempotencyRecord, Invoice, Payment, Subscription
from bento_server.usecases.context import Deps
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
from tests.consistency import assert_consistent, store_counts
from tests.helpers.paging import every
from tests.support import (
    Caller,
    RunningServer,
    assert_audit_clean,
    make_key,
    phases,
    plan_request,
    scaled,
    start_server,
    unique,
)

E = enums_pb2
DAY = 86_400


# --- calls the flows share --------------------------------------------------------


def _subscriptions(caller: Caller, method: str, **fields: Any) -> Any:
    """Calls a SubscriptionService method (or ListInvoices) by name."""
    if method == "ListInvoices":
        return caller(caller.invoices.ListInvoices, invoice_pb2.ListInvoicesRequest(**fields))
    request_type = getattr(subscription_pb2, f"{method}Request")
    return caller(getattr(caller.subscriptions, method), request_type(**fields))


def _code(url: str) -> str:
    return url.rpartition("code=")[2]


def _exchange_and_confirm(shop: Shop, paid: Any) -> None:
    publisher = shop.tenancy.publisher
    stub = activation_pb2_grpc.ActivationServiceStub(publisher.channel)
    for issued in paid.activation_urls:
        exchanged = publisher(
            stub.ExchangeActivationCode,
            activation_pb2.ExchangeActivationCodeRequest(
                activation_code=_code(issued.activation_url)
            ),
        )
        publisher(
            stub.UpdateActivationItem,
            activation_pb2.UpdateActivationItemRequest(
                activation_session_id=exchanged.activation_session_id,
                item_id=exchanged.app_id,
                status=E.ACTIVATION_ITEM_STATUS_ACTIVATED,
                user_id="user-1",
            ),
        )


def _record_usage(caller: Caller, subscription_id: str, quantity: int) -> Any:
    stub = entitlement_pb2_grpc.EntitlementServiceStub(caller.channel)
    return caller(
        stub.RecordUsage,
        entitlement_pb2.RecordUsageRequest(
            subscription_id=subscription_id, feature_code="downloads", quantity=quantity
        ),
    )


# --- the checker ---------------------------------------------------------------------


def _every_kind_of_change(server: RunningServer, check: Callable[[], None]) -> Shop:
    """Drives a store through every change the billing API makes, calling
    ``check`` before and after the clock moves (its sweep writes newer events
    for every subscription)."""
    shop = make_shop(server, can_pause=True)
    p = shop.platform
    cheaper = shop.plan(prices={"US": phases((499, None))}, can_pause=True)
    dearer = shop.plan(prices={"US": phases((1999, None))}, can_pause=True)
    trial = shop.plan(free_trial_days=7)

    # Paid, activated, used, paused and resumed, paid ahead, refunded, canceled at period end.
    created = subscribe(p, shop.plan_id, tax_rate=0.0875, tax_behavior=E.TAX_BEHAVIOR_EXCLUSIVE)
    first = created.subscription.subscription_id
    paid = pay(p, first, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    _exchange_and_confirm(shop, paid)
    _record_usage(p, first, 2)
    _subscriptions(p, "PauseSubscription", subscription_id=first)
    advance(shop.admin, 3600)
    _subscriptions(p, "ResumeSubscription", subscription_id=first)
    ahead = _subscriptions(p, "RenewSubscription", subscription_id=first, cycles=1).invoices[0]
    pay(p, first, ahead.invoice_id, ahead.amounts.total_amount)
    pay(
        p,
        first,
        created.invoice.invoice_id,
        -300,
        E.PAYMENT_RECORD_STATUS_SUCCEEDED,
        original_payment_id=paid.payment.payment_id,
        refund_reason="goodwill",
    )
    _subscriptions(p, "CancelSubscription", subscription_id=first)

    # A failed first payment: still pending.
    created = subscribe(p, shop.plan_id)
    pay(
        p,
        created.subscription.subscription_id,
        created.invoice.invoice_id,
        created.invoice.amounts.total_amount,
        E.PAYMENT_RECORD_STATUS_FAILED,
    )

    # Paid, then a dearer plan (a prorated invoice left open) and a cheaper
    # one (the credit pays the whole invoice).
    for plan_id in (dearer, cheaper):
        created = subscribe(p, shop.plan_id)
        sub_id = created.subscription.subscription_id
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        _subscriptions(p, "UpdateSubscription", subscription_id=sub_id, plan_id=plan_id)

    # A trial; an invoice marked paid by hand; a cancel now.
    subscribe(p, trial)
    created = subscribe(p, shop.plan_id)
    p(
        p.invoices.UpdateInvoice,
        invoice_pb2.UpdateInvoiceRequest(
            subscription_id=created.subscription.subscription_id,
            invoice_id=created.invoice.invoice_id,
            payment_status=E.PAYMENT_STATUS_PAID,
        ),
    )
    created = subscribe(p, shop.plan_id)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    _subscriptions(p, "CancelSubscription", subscription_id=sub_id, cancel_now=True)

    # Paid ahead, as its last change.
    created = subscribe(p, shop.plan_id)
    sub_id = created.subscription.subscription_id
    pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
    ahead = _subscriptions(p, "RenewSubscription", subscription_id=sub_id, cycles=1).invoices[0]
    pay(p, sub_id, ahead.invoice_id, ahead.amounts.total_amount)

    # Renewed by the clock: a failed renewal (past due) that lapses after
    # grace, and a renewal paid after a cancel at period end.
    renewing = []
    for _ in range(2):
        created = subscribe(p, shop.plan_id)
        sub_id = created.subscription.subscription_id
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        renewing.append(sub_id)
    check()
    advance(shop.admin, 32 * DAY)
    lapsing, late = (
        (sub_id, _subscriptions(p, "ListInvoices", subscription_id=sub_id).invoices[0])
        for sub_id in renewing
    )
    pay(p, lapsing[0], lapsing[1].invoice_id, 1699, E.PAYMENT_RECORD_STATUS_FAILED)
    _subscriptions(p, "CancelSubscription", subscription_id=late[0])
    pay(p, late[0], late[1].invoice_id, late[1].amounts.total_amount)
    check()
    advance(shop.admin, 10 * DAY)

    # One active subscription per user: a higher tier pauses the lower one.
    single = shop.admin(
        shop.admin.tenant.CreatePlatform,
        tenant_pb2.CreatePlatformRequest(
            name=unique("single"), fee_rate=0.1, single_active_subscription=True
        ),
    ).platform
    sp = server.caller(make_key(shop.admin, E.ROLE_PLATFORM, single.platform_id))
    low = sp(sp.catalog.CreatePlan, plan_request([shop.product_id], tier=1)).plan.plan_id
    high = sp(sp.catalog.CreatePlan, plan_request([shop.product_id], tier=2)).plan.plan_id
    created = subscribe(sp, low, session_id="one-user")
    pay(
        sp,
        created.subscription.subscription_id,
        created.invoice.invoice_id,
        created.invoice.amounts.total_amount,
    )
    subscribe(sp, high, session_id="one-user")
    check()
    return shop


def test_a_store_after_every_kind_of_change_is_consistent(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    server = start_server(fresh_backend_url, tmp_path, test_clock=True)
    try:
        _every_kind_of_change(server, lambda: assert_consistent(fresh_backend_url))
    finally:
        server.stop()
    assert_audit_clean(fresh_backend_url)


@contextlib.contextmanager
def _broken(url: str, *sql: tuple[str, tuple[Any, ...]]) -> Iterator[None]:
    """Runs ``sql`` on the store (as a bug might have), then the body."""
    store = connect(url)
    try:
        with store.db.atomic():
            for statement, params in sql:
                store.db.execute_sql(_placeholders(store, statement), params)
    finally:
        store.close()
    yield


def _placeholders(store: Any, statement: str) -> str:
    return statement.replace("?", "%s") if store.is_postgres else statement


def _assert_broken(url: str, rule: str, offender: str) -> None:
    with pytest.raises(AssertionError) as raised:
        assert_consistent(url)
    lines = [line for line in str(raised.value).splitlines() if line.startswith(f"- {rule}:")]
    assert lines and offender in lines[0], (rule, offender, str(raised.value))


def test_the_checker_names_what_is_broken(fresh_backend_url: str, tmp_path: Path) -> None:
    url = fresh_backend_url
    server = start_server(url, tmp_path, test_clock=True)
    try:
        shop = make_shop(server)
        p = shop.platform
        created = subscribe(p, shop.plan_id)
        paid_sub, invoice = created.subscription.subscription_id, created.invoice.invoice_id
        payment = pay(p, paid_sub, invoice, created.invoice.amounts.total_amount).payment
        pending = subscribe(p, shop.plan_id).subscription.subscription_id
        key_id = (p.credential or "").split(":")[0]
    finally:
        server.stop()
    assert_consistent(url)

    def both(sql: str, undo: str, params: tuple[Any, ...]) -> tuple[Any, Any]:
        return (sql, params), (undo, params)

    cases = [
        (
            both(
                "UPDATE invoice SET amount_paid = amount_paid + 1 WHERE id = ?",
                "UPDATE invoice SET amount_paid = amount_paid - 1 WHERE id = ?",
                (invoice,),
            ),
            "invoice whose amount_paid is not its succeeded charges less its refunds",
            invoice,
        ),
        (
            both(
                "UPDATE event SET type = 'payment.recorded' WHERE payment_id = ?",
                "UPDATE event SET type = 'payment.succeeded' WHERE payment_id = ?",
                (payment.payment_id,),
            ),
            "payment whose event does not say what it was",
            payment.payment_id,
        ),
        (
            both(
                "UPDATE subscription SET payment_status = 'unpaid' WHERE id = ?",
                "UPDATE subscription SET payment_status = 'paid' WHERE id = ?",
                (paid_sub,),
            ),
            "subscription changed after its newest event (a change without its event)",
            paid_sub,
        ),
        (
            both(
                "UPDATE subscription SET status = 'canceled' WHERE id = ?",
                "UPDATE subscription SET status = 'pending' WHERE id = ?",
                (pending,),
            ),
            "canceled subscription without canceled_at and ended_at",
            pending,
        ),
        (
            both(
                "UPDATE payment SET amount = amount + 5 WHERE id = ?",
                "UPDATE payment SET amount = amount - 5 WHERE id = ?",
                (payment.payment_id,),
            ),
            "invoice charged more than its total",
            invoice,
        ),
        (
            both(
                "UPDATE event SET invoice_id = 'INV0000000000000000042' "
                "WHERE subscription_id = ? AND type = 'invoice.created'",
                "UPDATE event SET invoice_id = (SELECT id FROM invoice WHERE subscription_id = ?) "
                "WHERE invoice_id = 'INV0000000000000000042'",
                (pending,),
            ),
            "event about an invoice that does not exist",
            "",
        ),
    ]
    for (breaking, undoing), rule, offender in cases:
        with _broken(url, breaking):
            _assert_broken(url, rule, offender)
        with _broken(url, undoing):
            assert_consistent(url)

    # An idempotency record naming a subscription that was never written.
    ghost = subscription_pb2.CreateSubscriptionResponse(
        subscription=subscription_pb2.Subscription(subscription_id="SUB0000000000000000042")
    )
    store = connect(url)
    try:
        IdempotencyRecord.create(
            api_key_id=key_id,
            key="ghost",
            method="/bento.v1.SubscriptionService/CreateSubscription",
            request_hash="0" * 64,
            response=ghost.SerializeToString(),
            created_at=datetime.now(UTC),
        )
    finally:
        store.close()
    _assert_broken(
        url, "idempotency record naming an object that does not exist", "SUB0000000000000000042"
    )
    with _broken(url, ("DELETE FROM idempotency_record WHERE key = ?", ("ghost",))):
        assert_consistent(url)

    # A change without its event: the pending subscription's creation is gone
    # from the middle of the log.
    with _broken(
        url,
        (
            "DELETE FROM event WHERE subscription_id = ? AND type = 'subscription.created'",
            (pending,),
        ),
    ):
        _assert_broken(url, "subscription without exactly one subscription.created event", pending)
        if url.startswith("sqlite"):
            _assert_broken(url, "gap in the event sequence", "")


def _events(
    caller: Caller, after_sequence: int = 0, subscription_id: str = ""
) -> list[event_pb2.Event]:
    """Every event the caller sees (of one subscription), oldest first."""
    stub = event_pb2_grpc.EventServiceStub(caller.channel)
    request = event_pb2.ListEventsRequest(
        after_sequence=after_sequence, subscription_id=subscription_id, page_size=100
    )
    return every(partial(caller, stub.ListEvents), request, "events")


def test_events_after_retention_emptied_the_log_number_on_from_the_pruned_ones(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    server = start_server(
        fresh_backend_url, tmp_path, test_clock=True, extra=("--event-retention-days", "1")
    )
    try:
        shop = make_shop(server)
        subscribe(shop.platform, shop.plan_id)
        seen = _events(shop.admin)[-1].sequence
        advance(shop.admin, 2 * DAY)  # the sweep prunes every event
        assert _events(shop.admin) == []
        new = subscribe(shop.platform, shop.plan_id).subscription.subscription_id
        # A watcher that saw `seen` resumes from it and misses nothing.
        resumed = _events(shop.admin, after_sequence=seen)
        assert [e.type for e in resumed] == ["subscription.created", "invoice.created"]
        assert {e.subscription_id for e in resumed} == {new}
        assert all(e.sequence > seen for e in resumed)
        assert_consistent(fresh_backend_url)
        assert_audit_clean(fresh_backend_url)
    finally:
        server.stop()


# --- SIGKILL in the middle of a mixed load ---------------------------------------------

PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
# What a call of the load may be refused with: the store changed under it.
EXPECTED_REFUSALS = {
    (PRECONDITION, "invalid_status_transition"),
    (PRECONDITION, "invoice_already_paid"),
    (PRECONDITION, "invoice_void"),
    (PRECONDITION, "amount_exceeds_due"),
    (PRECONDITION, "refund_exceeds_paid"),
    (PRECONDITION, "activation_code_already_used"),
    (PRECONDITION, "subscription_inactive"),
    (grpc.StatusCode.NOT_FOUND, "activation_code_not_found"),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "quota_exceeded"),
    (grpc.StatusCode.ABORTED, "concurrent_modification"),
}
ALREADY_ON_PLAN = (grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument")
# What a call sees when the server dies under it, or is gone: no answer.
TRANSPORT_FAILURES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}
RESPONSES: dict[str, type[Message]] = {
    "CreateSubscription": subscription_pb2.CreateSubscriptionResponse,
    "CancelSubscription": subscription_pb2.CancelSubscriptionResponse,
    "PauseSubscription": subscription_pb2.PauseSubscriptionResponse,
    "ResumeSubscription": subscription_pb2.ResumeSubscriptionResponse,
    "RenewSubscription": subscription_pb2.RenewSubscriptionResponse,
    "UpdateSubscription": subscription_pb2.UpdateSubscriptionResponse,
    "CreatePayment": payment_pb2.CreatePaymentResponse,
    "RecordUsage": entitlement_pb2.RecordUsageResponse,
    "ExchangeActivationCode": activation_pb2.ExchangeActivationCodeResponse,
    "UpdateActivationItem": activation_pb2.UpdateActivationItemResponse,
}
PUBLISHER_METHODS = ("ExchangeActivationCode", "UpdateActivationItem")
# Calls whose answer carries the subscription as the call left it.
STATE_METHODS = (
    "CancelSubscription",
    "PauseSubscription",
    "ResumeSubscription",
    "RenewSubscription",
    "UpdateSubscription",
)


@dataclass
class Call:
    """One mutating call of the load, with its own idempotency key."""

    method: str
    request: Message
    key: str = field(default_factory=lambda: f"crash-{uuid.uuid4().hex}")
    response: Message | None = None
    refusal: tuple[grpc.StatusCode, str] | None = None

    @property
    def acknowledged(self) -> bool:
        return self.response is not None or self.refusal is not None


def stripped(response: Message) -> Message:
    """An answer as a replay gives it: codes exist only in the first one."""
    copy = type(response)()
    copy.CopyFrom(response)
    if "activation_urls" in copy.DESCRIPTOR.fields_by_name:
        copy.ClearField("activation_urls")  # type: ignore[arg-type]
    return copy


def refusal_of(error: grpc.RpcError) -> tuple[grpc.StatusCode, str] | None:
    """The (code, reason) of an answer from Bento; None when no answer came."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                if info.domain == "bento":
                    return error.code(), info.reason
    return None


class Callers:
    """The platform's and the publisher's callers on one server."""

    def __init__(self, server: RunningServer, platform: str, publisher: str) -> None:
        self.platform = server.caller(platform)
        self.publisher = server.caller(publisher)
        self.entitlements = entitlement_pb2_grpc.EntitlementServiceStub(self.platform.channel)
        self.activation = activation_pb2_grpc.ActivationServiceStub(self.publisher.channel)

    def invoke(self, call: Call, timeout: float = 20) -> Message:
        """Makes the call (raises grpc.RpcError)."""
        caller = self.publisher if call.method in PUBLISHER_METHODS else self.platform
        if call.method in PUBLISHER_METHODS:
            method = getattr(self.activation, call.method)
        elif call.method == "CreatePayment":
            method = caller.payments.CreatePayment
        elif call.method == "RecordUsage":
            method = self.entitlements.RecordUsage
        else:
            method = getattr(caller.subscriptions, call.method)
        response: Message = method(
            call.request, metadata=caller.metadata(call.key), timeout=timeout
        )
        return response

    def perform(self, call: Call, timeout: float = 20) -> None:
        """Makes the call once and records what came back, if anything."""
        try:
            call.response = self.invoke(call, timeout)
        except grpc.RpcError as error:
            call.refusal = refusal_of(error)
            if call.refusal is None:
                assert error.code() in TRANSPORT_FAILURES, (call.method, error)
            elif call.method == "UpdateSubscription" and call.refusal == ALREADY_ON_PLAN:
                pass  # the plan changed to the one asked for meanwhile
            else:
                assert call.refusal in EXPECTED_REFUSALS, (call.method, call.refusal, error)


@dataclass
class Known:
    """What the load learned about one subscription from its answers."""

    subscription_id: str
    invoices: list[tuple[str, int]]
    charges: list[tuple[str, str, int]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    items: list[tuple[str, str]] = field(default_factory=list)


class Load:
    """A mixed load of mutating calls on a pool of subscriptions."""

    def __init__(self, plans: list[str], seed: int) -> None:
        self.plans = plans
        self.seed = seed
        self.known: list[Known] = []
        self.calls: list[Call] = []
        self.lock = threading.Lock()

    def next_call(self, rng: random.Random) -> Call:
        with self.lock:
            if len(self.known) < 8 or rng.random() < 0.12:
                return Call(
                    "CreateSubscription",
                    subscription_pb2.CreateSubscriptionRequest(
                        session_id=unique("user"), plan_id=rng.choice(self.plans), region="US"
                    ),
                )
            sub = rng.choice(self.known[-40:])
            sub_id = sub.subscription_id
            choice = rng.choices(
                ["pay", "fail", "refund", "cancel", "cancel_now", "uncancel", "pause", "resume",
                 "plan", "renew", "usage", "exchange", "confirm"],
                weights=[8, 2, 1, 2, 1, 2, 2, 2, 2, 1, 2, 2, 1],
            )[0]  # fmt: skip
            if choice in ("pay", "fail") and sub.invoices[-1][1] > 0:
                invoice_id, total = sub.invoices[-1]
                status = E.PAYMENT_RECORD_STATUS_SUCCEEDED
                if choice == "fail":
                    status = E.PAYMENT_RECORD_STATUS_FAILED
                call = Call("CreatePayment", payment_pb2.CreatePaymentRequest())
                call.request = payment_pb2.CreatePaymentRequest(
                    subscription_id=sub_id,
                    invoice_id=invoice_id,
                    amount=total,
                    status=status,
                    payment_intent_id=f"pi-{call.key}",
                    error_code="card_declined" if choice == "fail" else "",
                )
                return call
            if choice == "refund" and sub.charges:
                invoice_id, payment_id, amount = rng.choice(sub.charges)
                call = Call("CreatePayment", payment_pb2.CreatePaymentRequest())
                call.request = payment_pb2.CreatePaymentRequest(
                    subscription_id=sub_id,
                    invoice_id=invoice_id,
                    amount=-min(amount, rng.choice([100, 250])),
                    status=E.PAYMENT_RECORD_STATUS_SUCCEEDED,
                    original_payment_id=payment_id,
                    refund_reason="goodwill",
                    payment_intent_id=f"pi-{call.key}",
                )
                return call
            if choice in ("exchange", "confirm"):
                if choice == "exchange" and sub.codes:
                    request: Message = activation_pb2.ExchangeActivationCodeRequest(
                        activation_code=sub.codes.pop()
                    )
                    return Call("ExchangeActivationCode", request)
                if sub.items:
                    session_id, app_id = sub.items.pop()
                    request = activation_pb2.UpdateActivationItemRequest(
                        activation_session_id=session_id,
                        item_id=app_id,
                        status=E.ACTIVATION_ITEM_STATUS_ACTIVATED,
                        user_id="user-1",
                    )
                    return Call("UpdateActivationItem", request)
                choice = "usage"
            if choice == "usage":
                return Call(
                    "RecordUsage",
                    entitlement_pb2.RecordUsageRequest(
                        subscription_id=sub_id, feature_code="downloads", quantity=1
                    ),
                )
            requests: dict[str, tuple[str, Message]] = {
                "cancel": ("CancelSubscription", _cancel(sub_id, False)),
                "cancel_now": ("CancelSubscription", _cancel(sub_id, True)),
                "uncancel": (
                    "RenewSubscription",
                    subscription_pb2.RenewSubscriptionRequest(
                        subscription_id=sub_id, uncancel=True
                    ),
                ),
                "renew": (
                    "RenewSubscription",
                    subscription_pb2.RenewSubscriptionRequest(subscription_id=sub_id, cycles=1),
                ),
                "pause": (
                    "PauseSubscription",
                    subscription_pb2.PauseSubscriptionRequest(subscription_id=sub_id),
                ),
                "resume": (
                    "ResumeSubscription",
                    subscription_pb2.ResumeSubscriptionRequest(subscription_id=sub_id),
                ),
                "plan": (
                    "UpdateSubscription",
                    subscription_pb2.UpdateSubscriptionRequest(
                        subscription_id=sub_id, plan_id=rng.choice(self.plans)
                    ),
                ),
            }
            method, request = requests.get(choice, requests["pause"])
            return Call(method, request)

    def learn(self, call: Call) -> None:
        """Remembers what a successful call's answer tells about the store."""
        response = call.response
        if response is None:
            return
        with self.lock:
            if isinstance(response, subscription_pb2.CreateSubscriptionResponse):
                self.known.append(
                    Known(
                        response.subscription.subscription_id,
                        [(response.invoice.invoice_id, response.invoice.amounts.total_amount)],
                    )
                )
                return
            sub = next(
                (
                    k
                    for k in self.known
                    if k.subscription_id == getattr(call.request, "subscription_id", None)
                ),
                None,
            )
            if isinstance(response, payment_pb2.CreatePaymentResponse) and sub is not None:
                if response.payment.amount > 0 and response.payment.status == (
                    E.PAYMENT_RECORD_STATUS_SUCCEEDED
                ):
                    sub.charges.append(
                        (
                            response.payment.invoice_id,
                            response.payment.payment_id,
                            response.payment.amount,
                        )
                    )
                sub.codes.extend(_code(u.activation_url) for u in response.activation_urls)
            elif isinstance(response, subscription_pb2.UpdateSubscriptionResponse) and sub:
                if response.HasField("invoice"):
                    sub.invoices.append(
                        (response.invoice.invoice_id, response.invoice.amounts.total_amount)
                    )
            elif isinstance(response, subscription_pb2.RenewSubscriptionResponse) and sub:
                sub.invoices.extend(
                    (i.invoice_id, i.amounts.total_amount) for i in response.invoices
                )
            elif isinstance(response, activation_pb2.ExchangeActivationCodeResponse):
                for k in self.known:
                    if k.subscription_id == response.subscription_id:
                        k.items.append((response.activation_session_id, response.app_id))

    def run_until_killed(
        self, server: RunningServer, callers: list[Callers], kill_after: int
    ) -> list[Call]:
        """Runs the load on every caller until ``kill_after`` calls were made,
        then SIGKILLs the server mid-load. Returns this round's calls."""
        first = len(self.calls)
        dead = threading.Event()
        errors: list[BaseException] = []

        def work(index: int, mine: Callers) -> None:
            rng = random.Random(f"{self.seed}-{first}-{index}")
            try:
                while True:
                    call = self.next_call(rng)
                    # Some callers give up before the answer comes: their
                    # calls may commit unacknowledged, as at the kill.
                    mine.perform(call, rng.uniform(0.001, 0.02) if rng.random() < 0.1 else 20)
                    with self.lock:
                        self.calls.append(call)
                    self.learn(call)
                    if not call.acknowledged and dead.is_set():
                        return  # the server is gone
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(callers)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(self.calls) - first < kill_after and time.monotonic() < deadline and not errors:
            time.sleep(0.005)
        server.process.kill()  # SIGKILL, with calls in flight
        dead.set()
        for thread in threads:
            thread.join(60)
        server.stop(signal.SIGKILL)
        if errors:
            raise errors[0]
        assert len(self.calls) - first >= kill_after, "the load stalled before the kill"
        return self.calls[first:]


def _cancel(subscription_id: str, now_: bool) -> Message:
    return subscription_pb2.CancelSubscriptionRequest(
        subscription_id=subscription_id, cancel_now=now_
    )


def _answers(url: str, key_ids: dict[str, str], calls: list[Call]) -> dict[str, Message]:
    """The stored answers of ``calls``' idempotency keys, read from the store."""
    store = connect(url)
    try:
        found = {}
        for who, key_id in key_ids.items():
            keys = [c.key for c in calls if (c.method in PUBLISHER_METHODS) == (who == "publisher")]
            for start in range(0, len(keys), 200):
                rows = IdempotencyRecord.select().where(
                    (IdempotencyRecord.api_key_id == key_id)
                    & IdempotencyRecord.key.in_(keys[start : start + 200])
                )
                for row in rows:
                    found[row.key] = row
        by_key = {c.key: c for c in calls}
        return {
            key: RESPONSES[by_key[key].method].FromString(bytes(row.response))
            for key, row in found.items()
        }
    finally:
        store.close()


def _rows_named(url: str, calls: list[Call]) -> dict[str, int]:
    """How many subscriptions (payments) carry each create's session ID (each
    payment's intent ID): 1 for a call that happened, 0 for one that did not."""
    store = connect(url)
    try:
        sessions = dict(
            Subscription.select(Subscription.session_id, peewee.fn.COUNT(Subscription.id))
            .group_by(Subscription.session_id)
            .tuples()
        )
        intents = dict(
            Payment.select(Payment.payment_intent_id, peewee.fn.COUNT(Payment.id))
            .group_by(Payment.payment_intent_id)
            .tuples()
        )
    finally:
        store.close()
    named = {}
    for call in calls:
        if call.method == "CreateSubscription":
            named[call.key] = sessions.get(call.request.session_id, 0)  # type: ignore[attr-defined]
        elif call.method == "CreatePayment":
            named[call.key] = intents.get(call.request.payment_intent_id, 0)  # type: ignore[attr-defined]
    return named


def _states_in_log(caller: Caller, subscription_id: str) -> list[dict[str, Any]]:
    events = _events(caller, subscription_id=subscription_id)
    return [_state(dict(e.data["subscription"])) for e in events if "subscription" in e.data]


STATE_FIELDS = ("status", "payment_status", "plan_id", "cycle_count", "cancel_at_period_end")


def _state(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {name: snapshot[name] for name in STATE_FIELDS} | {
        "cycle_count": int(snapshot["cycle_count"])
    }


def _word(enum: Any, number: int) -> str:
    """The store's word of an enum value: SUBSCRIPTION_STATUS_PAST_DUE -> past_due."""
    prefix = enum.Name(0).removesuffix("UNSPECIFIED")
    return str(enum.Name(number)).removeprefix(prefix).lower()


def _state_of(sub: subscription_pb2.Subscription) -> dict[str, Any]:
    return {
        "status": _word(E.SubscriptionStatus, sub.status),
        "payment_status": _word(E.PaymentStatus, sub.payment_status),
        "plan_id": sub.plan_id,
        "cycle_count": sub.billing.cycle_count,
        "cancel_at_period_end": sub.cancellation.cancel_at_period_end,
    }


def _verify_acknowledged(
    url: str, callers: Callers, calls: list[Call], answers: dict[str, Message]
) -> None:
    """Every acknowledged write is in the store, as it was acknowledged."""
    lost = [c.key for c in calls if c.response is not None and c.key not in answers]
    assert not lost, f"{len(lost)} acknowledged writes lost: {lost[:10]}"
    for call in calls:
        if call.refusal is not None:
            assert call.key not in answers, f"a refused call stored an answer: {call}"
        if call.response is None:
            continue
        assert answers[call.key] == stripped(call.response), call.key
        p = callers.platform
        response: Any = call.response
        if call.method == "CreateSubscription":
            sub_id = response.subscription.subscription_id
            assert get_subscription(p, sub_id).subscription_id == sub_id
            invoice_id = response.invoice.invoice_id
            assert get_invoice(p, sub_id, invoice_id).invoice_id == invoice_id
        elif call.method == "CreatePayment":
            got = p(
                p.payments.GetPayment,
                payment_pb2.GetPaymentRequest(
                    subscription_id=response.payment.subscription_id,
                    invoice_id=response.payment.invoice_id,
                    payment_id=response.payment.payment_id,
                ),
            ).payment
            assert got == response.payment
        elif call.method in STATE_METHODS:
            # The state it acknowledged is in the subscription's history; the
            # checker proves the newest event is the subscription now.
            sub = response.subscription
            assert _state_of(sub) in _states_in_log(p, sub.subscription_id), call
        elif call.method == "UpdateActivationItem":
            session = callers.publisher(
                callers.activation.GetActivationSession,
                activation_pb2.GetActivationSessionRequest(
                    activation_session_id=call.request.activation_session_id  # type: ignore[attr-defined]
                ),
            ).activation_session
            assert any(
                i.app_id == response.activation_item.app_id
                and i.status == E.ACTIVATION_ITEM_STATUS_ACTIVATED
                for i in session.activation_items
            ), call
    assert_consistent(url)


def _retry_all(
    url: str, callers: Callers, load: Load, calls: list[Call], key_ids: dict[str, str]
) -> None:
    """Retries every call with its key and request: each happens exactly once."""
    answers = _answers(url, key_ids, calls)
    _verify_acknowledged(url, callers, calls, answers)

    # Calls that committed (acknowledged or not) replay their answer and change nothing.
    before = store_counts(url)
    for call in calls:
        if call.key in answers:
            assert stripped(callers.invoke(call)) == answers[call.key], call
            call.response, call.refusal = answers[call.key], None
    assert store_counts(url) == before, "a replay wrote something"

    # The others happen now, or are refused now.
    for call in calls:
        if call.key in answers:
            continue
        retried = Call(call.method, call.request, call.key)
        callers.perform(retried)
        assert retried.acknowledged, f"no answer after the restart: {call}"
        # What the key stands for from now on.
        call.response, call.refusal = retried.response, retried.refusal
        load.learn(retried)

    # A second retry of everything replays; nothing is done twice.
    answers = _answers(url, key_ids, calls)
    named = _rows_named(url, calls)
    for key, count in named.items():
        assert count == (1 if key in answers else 0), (key, count)
    before = store_counts(url)
    for call in calls:
        if call.key in answers:
            assert stripped(callers.invoke(call)) == answers[call.key], call
    assert store_counts(url) == before, "a second retry wrote something"
    assert_consistent(url)


def test_acknowledged_writes_survive_sigkill_and_retries_happen_once(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    url = fresh_backend_url
    server = start_server(url, tmp_path, test_clock=True)
    shop = make_shop(server, can_pause=True)
    plans = [shop.plan_id, shop.plan(can_pause=True, prices={"US": phases((1999, None))})]
    platform, publisher = shop.platform.credential, shop.tenancy.publisher.credential
    assert platform is not None and publisher is not None
    key_ids = {"platform": platform.split(":")[0], "publisher": publisher.split(":")[0]}
    load = Load(plans, seed=20_240_601)
    rng = random.Random(load.seed)
    rounds = scaled(1, 4)
    try:
        for _ in range(rounds):
            workers = [Callers(server, platform, publisher) for _ in range(8)]
            calls = load.run_until_killed(server, workers, kill_after=rng.randint(250, 350))
            assert sum(c.response is not None for c in calls) >= 50, "the load did little"
            assert any(not c.acknowledged for c in calls), "the kill cut no call short"
            server = start_server(url, tmp_path, test_clock=True)
            _retry_all(url, Callers(server, platform, publisher), load, calls, key_ids)
            # The next round starts later: pauses last a while, codes age. Less
            # than the 48 hours keys are kept in all, so every key still replays.
            advance(server.admin(), rng.randint(1, 10) * 3600)
        if rounds > 1:
            # Everything any round did still replays, once.
            _retry_all(url, Callers(server, platform, publisher), load, load.calls, key_ids)
    finally:
        server.stop()
    assert_audit_clean(url)


# --- SIGKILL in the middle of the billing clock's sweep -------------------------------------


def _due_work(url: str, at: datetime) -> list[str]:
    """The kinds of billing work due at ``at`` that have not run."""
    store = connect(url)
    try:
        deps = Deps(store=store, clock=TestClock(at))
        return [
            work.name
            for work in scheduler.DUE_WORK
            if (due := work.next_due(deps, set())) is not None and due <= at
        ]
    finally:
        store.close()


def _count(url: str, model: type[peewee.Model]) -> int:
    store = connect(url)
    try:
        return int(model.select().count())
    finally:
        store.close()


def test_a_sweep_cut_by_sigkill_is_finished_by_the_next_move_once(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """A move of the test clock commits the new time, then runs what fell due
    one piece per transaction. Killed in between, the store is consistent;
    the next move finishes the work, and none of it happens twice."""
    url = fresh_backend_url
    server = start_server(url, tmp_path, test_clock=True)
    shop = make_shop(server)
    p = shop.platform
    renewing = []
    for _ in range(scaled(30, 150)):
        created = subscribe(p, shop.plan_id)
        sub_id = created.subscription.subscription_id
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        renewing.append(sub_id)
    invoices = _count(url, Invoice)

    mover = server.admin()

    def forty_days_later() -> None:
        with contextlib.suppress(grpc.RpcError):  # cut short by the kill
            advance(mover, 40 * DAY)

    move = threading.Thread(target=forty_days_later, daemon=True)
    move.start()
    deadline = time.monotonic() + 60
    while _count(url, Invoice) < invoices + 5 and time.monotonic() < deadline:
        time.sleep(0.002)
    server.process.kill()
    move.join(30)
    server.stop(signal.SIGKILL)
    assert_consistent(url)

    server = start_server(url, tmp_path, test_clock=True)
    try:
        admin = server.admin()
        moved_to = now(admin).ToDatetime(tzinfo=UTC)
        assert _due_work(url, moved_to), "the kill came after the sweep, not during it"
        advance(admin, 1)
        assert _due_work(url, moved_to) == []
        assert_consistent(url)
    finally:
        server.stop()
    # Each renewed once (cycle 2), then lapsed once after its grace days.
    store = connect(url)
    try:
        statuses = dict(
            Subscription.select(Subscription.id, Subscription.status)
            .where(Subscription.id.in_(renewing))
            .tuples()
        )
        cycles: dict[str, list[int]] = {sub_id: [] for sub_id in renewing}
        for sub_id, cycle in (
            Invoice.select(Invoice.subscription, Invoice.billing_cycle)
            .order_by(Invoice.billing_cycle)
            .tuples()
        ):
            cycles[sub_id].append(cycle)
        lapses = Counter(
            sub_id
            for (sub_id,) in Event.select(Event.subscription_id)
            .where(Event.type == "subscription.canceled")
            .tuples()
        )
    finally:
        store.close()
    assert set(statuses.values()) == {"canceled"}, statuses
    assert all(c == [1, 2] for c in cycles.values()), cycles
    assert all(lapses[sub_id] == 1 for sub_id in renewing), lapses
    assert_audit_clean(url)


def _renewal_state(url: str, ids: list[str]) -> dict[str, tuple[int, list[int], Counter[str]]]:
    """Each subscription's current cycle, its invoices' cycles and its
    events by type (usage resets aside: they are work of their own)."""
    store = connect(url)
    try:
        current = dict(
            Subscription.select(Subscription.id, Subscription.current_cycle)
            .where(Subscription.id.in_(ids))
            .tuples()
        )
        cycles: dict[str, list[int]] = {sub_id: [] for sub_id in ids}
        for sub_id, cycle in (
            Invoice.select(Invoice.subscription, Invoice.billing_cycle)
            .where(Invoice.subscription.in_(ids))
            .order_by(Invoice.billing_cycle)
            .tuples()
        ):
            cycles[sub_id].append(cycle)
        types: dict[str, Counter[str]] = {sub_id: Counter() for sub_id in ids}
        for sub_id, event_type in (
            Event.select(Event.subscription_id, Event.type)
            .where(Event.subscription_id.in_(ids) & (Event.type != "usage.reset"))
            .tuples()
        ):
            types[sub_id][event_type] += 1
    finally:
        store.close()
    return {sub_id: (current[sub_id], cycles[sub_id], types[sub_id]) for sub_id in ids}


def test_a_renewal_batch_cut_by_sigkill_renews_each_subscription_once_or_not_at_all(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    """The clock renews many subscriptions per transaction, each in a
    savepoint. Killed while batches are in flight, every subscription is
    either renewed whole (its row, its invoice, its events) or untouched;
    the next move renews the untouched ones, and none twice."""
    url = fresh_backend_url
    server = start_server(url, tmp_path, test_clock=True)
    shop = make_shop(server)
    p = shop.platform

    def paid(_: int) -> str:
        created = subscribe(p, shop.plan_id)
        sub_id = created.subscription.subscription_id
        pay(p, sub_id, created.invoice.invoice_id, created.invoice.amounts.total_amount)
        return sub_id

    with ThreadPoolExecutor(4) as pool:
        renewing = list(pool.map(paid, range(scaled(300, 1000))))
    admin = server.admin()
    advance(admin, 8 * DAY)  # activation codes expire: only renewals fall due next
    before = _renewal_state(url, renewing)
    ends = {get_subscription(p, sub_id).period.end.seconds for sub_id in renewing}
    invoices = _count(url, Invoice)

    mover = server.admin()
    to_period_end = max(ends) - now(admin).seconds + 60

    def move() -> None:
        with contextlib.suppress(grpc.RpcError):  # cut short by the kill
            advance(mover, to_period_end)

    moving = threading.Thread(target=move, daemon=True)
    moving.start()
    deadline = time.monotonic() + 60
    while _count(url, Invoice) == invoices and time.monotonic() < deadline:
        time.sleep(0.002)
    server.process.kill()  # a batch has committed; the next ones are in flight
    moving.join(30)
    server.stop(signal.SIGKILL)
    assert_consistent(url)

    def renewal(sub_id: str, state: tuple[int, list[int], Counter[str]]) -> Counter[str]:
        current, cycles, types = state
        assert (current, cycles) in ((1, [1]), (2, [1, 2])), (sub_id, current, cycles)
        added = types - before[sub_id][2]
        assert types == before[sub_id][2] + added, "an event went missing"
        assert bool(added) == (current == 2), (sub_id, added)
        return added

    cut = _renewal_state(url, renewing)
    renewed = {sub_id for sub_id, (current, _, _) in cut.items() if current == 2}
    assert renewed, "the kill came before any batch committed"
    assert len(renewed) < len(renewing), "the kill came after the renewals, not during them"
    added = {frozenset(renewal(sub_id, state).items()) for sub_id, state in cut.items()}
    assert len(added - {frozenset()}) == 1, added  # each renewed one wrote one renewal

    server = start_server(url, tmp_path, test_clock=True)
    try:
        advance(server.admin(), 1)
        assert _due_work(url, now(server.admin()).ToDatetime(tzinfo=UTC)) == []
        assert_consistent(url)
    finally:
        server.stop()
    done = _renewal_state(url, renewing)
    assert all(current == 2 and cycles == [1, 2] for current, cycles, _ in done.values()), done
    assert {frozenset(renewal(sub_id, state).items()) for sub_id, state in done.items()} == (
        added - {frozenset()}
    )
    assert_audit_clean(url)
