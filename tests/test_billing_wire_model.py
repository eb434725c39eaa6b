"""Random billing over the wire: sequences of payments, refunds, plan changes,
cancels, pauses and clock moves against the real test-clock server, with the
billing rules read back through the API after every step.

The in-process model (test_billing_model.py) drives the billing core alone;
this one goes through everything a platform touches: the services, the
store, the billing clock and the entitlement checks. Each sequence makes one
fresh subscription; after every step it reads the subscription, its
invoices and their payments, asks CheckAccess, and checks docs/rules.md's
"Billing rules": what an invoice collected matches its ledger, its amounts
add up, periods never overlap, credit and refunds owed are never negative,
a debt past its deadline never survives a clock move, a subscription that
never started owes back all it collected, and access follows the one access
rule. A refused step must be refused for a reason (FAILED_PRECONDITION,
ALREADY_EXISTS or INVALID_ARGUMENT, never INTERNAL or UNKNOWN) and must
change nothing; money on an invoice that is not open is always refused.

The test clock is shared by the whole session and only goes forward, so the
clock moves of all sequences together are capped (``TOTAL_DAYS``), and
those of one sequence too (``SEQUENCE_DAYS``): a move past either is
skipped. Shrinking a failure has a reserve of its own (see ``Budget``).
The audit of the whole store runs at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from hypothesis import HealthCheck, reject, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from bento.v1 import (
    common_pb2,
    entitlement_pb2,
    entitlement_pb2_grpc,
    enums_pb2,
    invoice_pb2,
    payment_pb2,
    subscription_pb2,
)
from tests.billing_support import (
    Shop,
    advance,
    get_subscription,
    list_invoices,
    make_shop,
    now,
    pay,
    subscribe,
)
from tests.support import (
    RunningServer,
    assert_audit_clean,
    phases,
    scaled,
    status_of,
    unique,
)

E = enums_pb2
HOUR = 3600
DAY = 24 * HOUR

# The session's clock is everyone's: all sequences of one run move it at
# most this far together, and one sequence at most SEQUENCE_DAYS.
TOTAL_DAYS = 400
SEQUENCE_DAYS = 75
# What shrinking a failed sequence may move it more (see Budget).
SHRINK_DAYS = 300

# A step the rules forbid in the state it finds is refused with one of these.
REFUSALS = frozenset(
    {
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
)
# Refund records that returned money (a refund with another status did not).
MONEY_RETURNED = frozenset(
    {
        E.PAYMENT_RECORD_STATUS_SUCCEEDED,
        E.PAYMENT_RECORD_STATUS_REFUNDED,
        E.PAYMENT_RECORD_STATUS_PARTIALLY_REFUNDED,
    }
)
GRANTING = frozenset(
    {
        E.SUBSCRIPTION_STATUS_TRIALING,
        E.SUBSCRIPTION_STATUS_ACTIVE,
        E.SUBSCRIPTION_STATUS_PAST_DUE,
        E.SUBSCRIPTION_STATUS_CANCELED,
    }
)
NEVER_GRANTING = frozenset(
    {
        E.SUBSCRIPTION_STATUS_PENDING,
        E.SUBSCRIPTION_STATUS_UNPAID,
        E.SUBSCRIPTION_STATUS_PAUSED,
    }
)

# What a subscription may start on, and what it may change to.
START_PLANS = ["monthly", "weekly", "yearly", "trial", "intro"]
CHANGE_PLANS = ["monthly", "weekly", "yearly"]


def make_plans(shop: Shop) -> dict[str, str]:
    """The shop's plans by name: monthly (999 for three cycles, then 1699),
    weekly with no grace days, yearly (no pausing), a monthly plan with a
    14-day trial, and a monthly plan whose first cycle is free."""

    def every(unit: int) -> common_pb2.BillingFrequency:
        return common_pb2.BillingFrequency(unit=unit, value=1)

    return {
        "monthly": shop.plan(grace_period_days=7, can_pause=True),
        "weekly": shop.plan(
            billing_frequency=every(E.BILLING_UNIT_WEEK),
            grace_period_days=0,
            prices={"US": phases((500, None))},
            can_pause=True,
        ),
        "yearly": shop.plan(
            billing_frequency=every(E.BILLING_UNIT_YEAR),
            grace_period_days=3,
            prices={"US": phases((9999, None))},
            can_pause=False,
        ),
        "trial": shop.plan(
            free_trial_days=14,
            grace_period_days=7,
            prices={"US": phases((1299, None))},
            can_pause=True,
        ),
        "intro": shop.plan(
            grace_period_days=2,
            prices={"US": phases((0, 1), (1499, None))},
            can_pause=False,
        ),
    }


def is_final_replay() -> bool:
    """Whether this is the replay that reports a failure (after shrinking)."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:  # not inside a test run
        return False


@dataclass
class Budget:
    """The clock moves of one run, in seconds.

    Sequences move the clock at most ``TOTAL_DAYS`` together; a move past
    that is skipped. Once a sequence failed, shrinking it may move the clock
    ``SHRINK_DAYS`` more; a variant that needs more is rejected (neither
    passes nor fails). The replay that reports the failure always runs whole
    (at most ``SEQUENCE_DAYS``), so a failure never turns flaky for want of
    clock.
    """

    left: int = TOTAL_DAYS * DAY
    shrink_left: int = SHRINK_DAYS * DAY
    failed: bool = False
    used: int = 0
    skipped: int = 0

    def take(self, seconds: int) -> bool:
        if not is_final_replay():
            if self.failed:
                if seconds > self.shrink_left:
                    reject()
                self.shrink_left -= seconds
            elif seconds > self.left:
                self.skipped += 1
                return False
            else:
                self.left -= seconds
        self.used += seconds
        return True


@dataclass
class Seen:
    """The subscription as the API shows it after a step."""

    clock: datetime
    subscription: subscription_pb2.Subscription
    invoices: list[invoice_pb2.Invoice]
    payments: dict[str, list[payment_pb2.Payment]] = field(default_factory=dict)
    access: entitlement_pb2.CheckAccessResponse | None = None

    def open_invoices(self) -> list[invoice_pb2.Invoice]:
        return sorted(
            (i for i in self.invoices if i.status == E.INVOICE_STATUS_OPEN),
            key=lambda i: i.plan.billing_cycle,
        )

    def refundable(self) -> list[tuple[invoice_pb2.Invoice, payment_pb2.Payment, int]]:
        """Succeeded payments with something left to refund: (invoice, payment, left)."""
        found = []
        for invoice in sorted(self.invoices, key=lambda i: i.plan.billing_cycle):
            ledger = self.payments.get(invoice.invoice_id, [])
            for payment in sorted(ledger, key=lambda p: p.payment_id):
                if payment.amount <= 0 or payment.status != E.PAYMENT_RECORD_STATUS_SUCCEEDED:
                    continue
                refunded = sum(
                    -r.amount
                    for r in ledger
                    if r.amount < 0
                    and r.original_payment_id == payment.payment_id
                    and r.status in MONEY_RETURNED
                )
                if payment.amount - refunded > 0:
                    found.append((invoice, payment, payment.amount - refunded))
        return found


def at(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def status_name(status: int) -> str:
    return E.SubscriptionStatus.Name(status).removeprefix("SUBSCRIPTION_STATUS_").lower()


class WireBilling(RuleBasedStateMachine):
    """One fresh subscription of the shop, driven over the wire."""

    def __init__(self, shop: Shop, plans: dict[str, str], budget: Budget) -> None:
        super().__init__()
        self.shop = shop
        self.p = shop.platform
        self.plans = plans
        self.plan_names = {plan_id: name for name, plan_id in plans.items()}
        self.budget = budget
        self.entitlements = entitlement_pb2_grpc.EntitlementServiceStub(self.p.channel)
        self.session_id = ""
        self.sub_id = ""
        self.seen: Seen | None = None
        self.moved = 0
        self.trace: list[str] = []

    # --- reading ------------------------------------------------------------------

    def _payments(self, invoice_id: str) -> list[payment_pb2.Payment]:
        return list(
            self.p(
                self.p.payments.ListPayments,
                payment_pb2.ListPaymentsRequest(
                    subscription_id=self.sub_id, invoice_id=invoice_id, page_size=100
                ),
            ).payments
        )

    def _read(self, with_access: bool = True) -> Seen:
        try:
            return self._read_all(with_access)
        except grpc.RpcError as error:
            got = status_of(error)
            self._fail(f"reading the subscription back failed: {got.code.name} {got.message}")
            raise

    def _read_all(self, with_access: bool) -> Seen:
        clock = at(now(self.shop.admin))
        sub = get_subscription(self.p, self.sub_id)
        invoices = list_invoices(self.p, self.sub_id)
        seen = Seen(clock, sub, invoices)
        for invoice in invoices:
            seen.payments[invoice.invoice_id] = self._payments(invoice.invoice_id)
        if with_access:
            seen.access = self.entitlements.CheckAccess(
                entitlement_pb2.CheckAccessRequest(
                    session_id=self.session_id, product_id=self.shop.product_id
                ),
                metadata=self.p.metadata(),
                timeout=30,
            )
        return seen

    def _fail(self, what: str, *detail: Any) -> None:
        self.budget.failed = True
        shown = "\n".join(str(d) for d in detail)
        steps = "\n".join(f"  {line}" for line in self.trace)
        raise AssertionError(f"{what}\n{shown}\nsteps of this sequence:\n{steps}")

    def _law(self, holds: bool, what: str, *detail: Any) -> None:
        if not holds:
            self._fail(what, *detail)

    # --- acting -------------------------------------------------------------------

    def _attempt(self, label: str, call: Callable[[], Any]) -> bool:
        """Runs one step; a refusal must name a reason the rules allow and change nothing."""
        try:
            call()
        except grpc.RpcError as error:
            got = status_of(error)
            self.trace.append(f"{label} -> refused {got.code.name} {got.reason}: {got.message}")
            self._law(
                got.code in REFUSALS,
                f"{label} failed with {got.code.name} ({got.reason}): {got.message}",
            )
            if self.seen is not None:
                after = self._read(with_access=False)
                before = self.seen
                self._law(
                    after.subscription == before.subscription,
                    f"the refused {label} changed the subscription",
                    before.subscription,
                    after.subscription,
                )
                self._law(
                    after.invoices == before.invoices and after.payments == before.payments,
                    f"the refused {label} changed an invoice or the ledger",
                )
            return False
        self.trace.append(f"{label} -> ok")
        return True

    def _target(self, newest: bool = False) -> tuple[invoice_pb2.Invoice, int]:
        """The oldest (or newest) open invoice and what it still owes; with
        none open, the newest invoice (paid or void), which must refuse money."""
        assert self.seen is not None
        opened = self.seen.open_invoices()
        if opened:
            invoice = opened[-1] if newest else opened[0]
            return invoice, invoice.amounts.total_amount - invoice.amounts.amount_paid
        invoice = max(self.seen.invoices, key=lambda i: i.plan.billing_cycle)
        return invoice, max(invoice.amounts.total_amount, 1)

    def _pay(self, invoice: invoice_pb2.Invoice, amount: int, status: int, label: str) -> bool:
        name = E.PaymentRecordStatus.Name(status).removeprefix("PAYMENT_RECORD_STATUS_").lower()
        label = (
            f"{label}: {name} {amount} on cycle {invoice.plan.billing_cycle} "
            f"({E.InvoiceStatus.Name(invoice.status)}, "
            f"{invoice.amounts.amount_paid}/{invoice.amounts.total_amount} paid)"
        )
        done = self._attempt(
            label, lambda: pay(self.p, self.sub_id, invoice.invoice_id, amount, status)
        )
        self._law(
            not done or invoice.status == E.INVOICE_STATUS_OPEN,
            f"{label} was accepted on an invoice that is not open",
        )
        return done

    def _sub_request(self, method: Any, request: Any, label: str) -> None:
        self._attempt(label, lambda: self.p(method, request))

    # --- the steps -----------------------------------------------------------------

    @initialize(
        plan=st.sampled_from(START_PLANS),
        tax=st.sampled_from(
            [E.TAX_BEHAVIOR_NONE, E.TAX_BEHAVIOR_EXCLUSIVE, E.TAX_BEHAVIOR_INCLUSIVE]
        ),
        paid=st.booleans(),
    )
    def create(self, plan: str, tax: int, paid: bool) -> None:
        self.session_id = unique("wire")
        try:
            created = subscribe(
                self.p,
                self.plans[plan],
                session_id=self.session_id,
                tax_rate=0.0875,
                tax_behavior=tax,
            )
            self.sub_id = created.subscription.subscription_id
            self.trace.append(
                f"create on {plan}, tax {E.TaxBehavior.Name(tax)} -> "
                f"{status_name(created.subscription.status)}"
            )
            if paid and created.invoice.status == E.INVOICE_STATUS_OPEN:
                # Most of what can happen needs a subscription that started.
                invoice = created.invoice
                pay(self.p, self.sub_id, invoice.invoice_id, invoice.amounts.total_amount)
                self.trace.append(f"pay the first invoice: {invoice.amounts.total_amount} -> ok")
        except grpc.RpcError as error:
            got = status_of(error)
            self._fail(f"subscribing on {plan} failed: {got.code.name} {got.message}")
        self.seen = self._read()

    @rule(newest=st.booleans())
    def pay_in_full(self, newest: bool) -> None:
        invoice, due = self._target(newest)
        self._pay(invoice, due, E.PAYMENT_RECORD_STATUS_SUCCEEDED, "pay in full")

    @rule(tenths=st.integers(1, 9))
    def pay_part(self, tenths: int) -> None:
        invoice, due = self._target()
        amount = max(due * tenths // 10, 1)
        self._pay(invoice, amount, E.PAYMENT_RECORD_STATUS_SUCCEEDED, "pay part")

    @rule(times=st.integers(1, 3))
    def pay_and_fail(self, times: int) -> None:
        """One to three failed payments in a row (the retries run out at three)."""
        for attempt in range(times):
            if attempt:
                self.seen = self._read(with_access=False)
            invoice, due = self._target()
            if not self._pay(invoice, due, E.PAYMENT_RECORD_STATUS_FAILED, "failed payment"):
                return

    @rule(pick=st.integers(0, 7), tenths=st.integers(1, 10))
    def refund(self, pick: int, tenths: int) -> None:
        assert self.seen is not None
        candidates = self.seen.refundable()
        if not candidates:
            # Nothing was collected to refund: a refund must be refused.
            invoice, _ = self._target()
            label = f"refund 1 on cycle {invoice.plan.billing_cycle} with nothing to refund"
            done = self._attempt(
                label,
                lambda: pay(
                    self.p,
                    self.sub_id,
                    invoice.invoice_id,
                    -1,
                    E.PAYMENT_RECORD_STATUS_SUCCEEDED,
                    refund_reason="requested_by_customer",
                ),
            )
            self._law(not done, f"{label} was accepted", invoice)
            return
        invoice, payment, left = candidates[pick % len(candidates)]
        amount = max(left * tenths // 10, 1)
        self._attempt(
            f"refund {amount} of {payment.amount} on cycle {invoice.plan.billing_cycle} "
            f"({E.InvoiceStatus.Name(invoice.status)})",
            lambda: pay(
                self.p,
                self.sub_id,
                invoice.invoice_id,
                -amount,
                E.PAYMENT_RECORD_STATUS_SUCCEEDED,
                original_payment_id=payment.payment_id,
                refund_reason="requested_by_customer",
            ),
        )

    @rule(plan=st.sampled_from(CHANGE_PLANS))
    def change_plan(self, plan: str) -> None:
        assert self.seen is not None
        if self.plans[plan] == self.seen.subscription.plan_id:
            plan = CHANGE_PLANS[(CHANGE_PLANS.index(plan) + 1) % len(CHANGE_PLANS)]
        self._sub_request(
            self.p.subscriptions.UpdateSubscription,
            subscription_pb2.UpdateSubscriptionRequest(
                subscription_id=self.sub_id, plan_id=self.plans[plan]
            ),
            f"change plan from {self.plan_names.get(self.seen.subscription.plan_id)} to {plan}",
        )

    @rule(cancel_now=st.booleans())
    def cancel_or_uncancel(self, cancel_now: bool) -> None:
        """Cancels now or at period end; a canceled subscription is canceled
        now, or uncanceled (both refused once it ended)."""
        assert self.seen is not None
        if self.seen.subscription.status == E.SUBSCRIPTION_STATUS_CANCELED and not cancel_now:
            self._sub_request(
                self.p.subscriptions.RenewSubscription,
                subscription_pb2.RenewSubscriptionRequest(
                    subscription_id=self.sub_id, uncancel=True
                ),
                "uncancel",
            )
            return
        self._sub_request(
            self.p.subscriptions.CancelSubscription,
            subscription_pb2.CancelSubscriptionRequest(
                subscription_id=self.sub_id, cancel_now=cancel_now
            ),
            "cancel now" if cancel_now else "cancel at period end",
        )

    @rule()
    def pause_or_resume(self) -> None:
        """Resumes a paused subscription, pauses any other (refused where the
        plan or the status does not allow it)."""
        assert self.seen is not None
        if self.seen.subscription.status == E.SUBSCRIPTION_STATUS_PAUSED:
            self._sub_request(
                self.p.subscriptions.ResumeSubscription,
                subscription_pb2.ResumeSubscriptionRequest(subscription_id=self.sub_id),
                "resume",
            )
            return
        self._sub_request(
            self.p.subscriptions.PauseSubscription,
            subscription_pb2.PauseSubscriptionRequest(subscription_id=self.sub_id),
            "pause",
        )

    @rule()
    def pay_ahead(self) -> None:
        self._sub_request(
            self.p.subscriptions.RenewSubscription,
            subscription_pb2.RenewSubscriptionRequest(subscription_id=self.sub_id, cycles=1),
            "renew one cycle ahead",
        )

    def _advance(self, seconds: int) -> None:
        label = f"advance {seconds // DAY}d" if seconds >= DAY else f"advance {seconds // HOUR}h"
        if self.moved + seconds > SEQUENCE_DAYS * DAY or not self.budget.take(seconds):
            self.trace.append(f"{label} -> skipped (clock budget spent)")
            return
        self.moved += seconds
        try:
            advance(self.shop.admin, seconds)
        except grpc.RpcError as error:
            got = status_of(error)
            self._fail(f"{label} failed: {got.code.name} {got.message}")
        self.trace.append(f"{label} -> ok")

    @rule(seconds=st.sampled_from([HOUR, DAY, 3 * DAY]))
    def advance_a_little(self, seconds: int) -> None:
        self._advance(seconds)

    @rule(seconds=st.sampled_from([10 * DAY, 32 * DAY]))
    def advance_a_lot(self, seconds: int) -> None:
        self._advance(seconds)

    # --- the rules, read back ---------------------------------------------------------

    @invariant()
    def billing_rules_hold(self) -> None:
        if not self.sub_id:
            return
        seen = self._read()
        self.seen = seen
        sub = seen.subscription
        self.trace.append(
            f"  = {status_name(sub.status)} on {self.plan_names.get(sub.plan_id)}, "
            f"{len(seen.invoices)} invoices, credit {sub.credit_balance}, "
            f"refund due {sub.refund_due}, access {seen.access.allowed if seen.access else '?'}"
        )
        for invoice in seen.invoices:
            self._check_invoice(invoice, seen.payments[invoice.invoice_id])
        self._check_periods(seen)
        self._check_subscription(seen)
        self._check_access(seen)

    def _check_invoice(
        self, invoice: invoice_pb2.Invoice, ledger: list[payment_pb2.Payment]
    ) -> None:
        a = invoice.amounts
        cycle = invoice.plan.billing_cycle
        charged = sum(
            p.amount
            for p in ledger
            if p.amount > 0 and p.status == E.PAYMENT_RECORD_STATUS_SUCCEEDED
        )
        refunded = sum(-p.amount for p in ledger if p.amount < 0 and p.status in MONEY_RETURNED)
        self._law(
            a.amount_paid == charged - refunded and a.amount_refunded == refunded,
            f"cycle {cycle}: amount_paid {a.amount_paid} / amount_refunded {a.amount_refunded} "
            f"disagree with the ledger (charged {charged}, refunded {refunded})",
            invoice,
            *ledger,
        )
        self._law(
            0 <= a.amount_paid <= a.total_amount,
            f"cycle {cycle}: amount_paid {a.amount_paid} outside 0..{a.total_amount}",
            invoice,
        )
        if invoice.status == E.INVOICE_STATUS_OPEN:
            self._law(
                a.amount_paid < a.total_amount,
                f"cycle {cycle}: open though {a.amount_paid} of {a.total_amount} is paid",
                invoice,
            )
        due = a.total_amount - a.amount_paid if invoice.status == E.INVOICE_STATUS_OPEN else 0
        self._law(
            a.amount_due == due,
            f"cycle {cycle}: amount_due {a.amount_due}, expected {due}",
            invoice,
        )
        retries = invoice.retries
        self._law(
            retries.count <= retries.max,
            f"cycle {cycle}: {retries.count} retries, more than {retries.max}",
            invoice,
        )
        if retries.count == retries.max:
            self._law(
                not retries.HasField("next_date"),
                f"cycle {cycle}: a retry is scheduled after the last one",
                invoice,
            )
        net = a.subtotal - a.proration_credit - a.credit_applied
        self._law(net >= 0, f"cycle {cycle}: net {net} below 0", invoice)
        exclusive = invoice.tax.behavior == E.TAX_BEHAVIOR_EXCLUSIVE
        total = net + a.tax_amount if exclusive else net
        self._law(
            a.total_amount == total,
            f"cycle {cycle}: total {a.total_amount}, expected {total} "
            f"({E.TaxBehavior.Name(invoice.tax.behavior)}, net {net}, tax {a.tax_amount})",
            invoice,
        )
        self._law(
            a.subtotal_excluding_tax == a.total_amount - a.tax_amount,
            f"cycle {cycle}: subtotal_excluding_tax {a.subtotal_excluding_tax} is not "
            f"total {a.total_amount} - tax {a.tax_amount}",
            invoice,
        )

    def _check_periods(self, seen: Seen) -> None:
        billed = sorted(
            (
                i
                for i in seen.invoices
                if i.status != E.INVOICE_STATUS_VOID and i.plan.billing_cycle >= 1
            ),
            key=lambda i: i.plan.billing_cycle,
        )
        for invoice in billed:
            self._law(
                at(invoice.period.start) <= at(invoice.period.end),
                f"cycle {invoice.plan.billing_cycle}: its period ends before it starts",
                invoice,
            )
        for before, after in pairwise(billed):
            self._law(
                at(after.period.start) >= at(before.period.end),
                f"cycles {before.plan.billing_cycle} and {after.plan.billing_cycle} overlap",
                before,
                after,
            )

    def _check_subscription(self, seen: Seen) -> None:
        sub = seen.subscription
        self._law(
            sub.credit_balance >= 0 and sub.refund_due >= 0,
            f"credit_balance {sub.credit_balance}, refund_due {sub.refund_due}",
            sub,
        )
        if (
            sub.status == E.SUBSCRIPTION_STATUS_CANCELED
            and sub.cancellation.reason == E.END_REASON_INCOMPLETE_EXPIRED
        ):
            # It never started, so it served nothing: every unit it kept is owed
            # back, as when a pending subscription is canceled (money is never
            # lost or invented).
            kept = sum(i.amounts.amount_paid for i in seen.invoices)
            self._law(
                sub.refund_due == kept,
                f"a subscription that never started ended keeping {kept} it collected "
                f"with refund_due {sub.refund_due}",
                sub,
                *seen.invoices,
            )
        if not seen.open_invoices():
            self._law(
                not sub.billing.HasField("grace_period_end"),
                "a grace deadline with nothing open",
                sub,
            )
        if sub.billing.HasField("grace_period_end") and sub.status != (
            E.SUBSCRIPTION_STATUS_TRIALING
        ):
            # The billing clock ends what passed its deadline before a move answers.
            self._law(
                at(sub.billing.grace_period_end) > seen.clock,
                f"a debt past its deadline survived (now {seen.clock})",
                sub,
                *seen.open_invoices(),
            )

    def _check_access(self, seen: Seen) -> None:
        sub = seen.subscription
        access = seen.access
        assert access is not None
        status = status_name(sub.status)
        grace = (
            at(sub.billing.grace_period_end) if sub.billing.HasField("grace_period_end") else None
        )
        ended = at(sub.cancellation.ended_at) if sub.cancellation.HasField("ended_at") else None
        detail = (access, sub)
        if access.allowed:
            self._law(sub.status in GRANTING, f"a {status} subscription grants access", *detail)
            self._law(
                grace is None or seen.clock < grace,
                f"access past the grace deadline {grace} (now {seen.clock})",
                *detail,
            )
            if sub.status == E.SUBSCRIPTION_STATUS_CANCELED:
                self._law(
                    ended is not None and seen.clock < ended,
                    f"a canceled subscription grants access past its end {ended}",
                    *detail,
                )
        self._law(
            not (access.allowed and sub.status in NEVER_GRANTING),
            f"a {status} subscription grants access",
            *detail,
        )
        # And the rules grant what they grant.
        within_grace = grace is None or seen.clock < grace
        if sub.status in (E.SUBSCRIPTION_STATUS_ACTIVE, E.SUBSCRIPTION_STATUS_PAST_DUE):
            should = within_grace and seen.clock < at(sub.period.end)
        elif sub.status == E.SUBSCRIPTION_STATUS_TRIALING:
            should = seen.clock < at(sub.period.end)
        elif sub.status == E.SUBSCRIPTION_STATUS_CANCELED:
            should = within_grace and ended is not None and seen.clock < ended
        else:
            should = False
        self._law(
            access.allowed == should,
            f"a {status} subscription {'grants' if access.allowed else 'refuses'} access "
            f"(now {seen.clock}, grace {grace}, ended {ended}, period end {at(sub.period.end)})",
            *detail,
        )


def test_billing_over_the_wire(server: RunningServer, backend_url: str) -> None:
    shop = make_shop(server)
    plans = make_plans(shop)
    budget = Budget()
    try:
        run_state_machine_as_test(
            lambda: WireBilling(shop, plans, budget),
            settings=settings(
                max_examples=scaled(10, 100),
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )
    finally:
        print(
            f"clock moved {budget.used / DAY:.1f} days; {budget.skipped} moves skipped over budget"
        )
    assert_audit_clean(backend_url)
