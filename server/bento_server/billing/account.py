"""A subscription's billing as pure state transitions.

An ``Account`` is one subscription with the invoices that can still change:
every open or draft one, and every one of the current cycle or later. Each
function here is one thing that can happen to it (``pay``, ``fail``,
``refund``, ``renew``, ``lapse``, ``change_plan``, ``cancel``, ``pause``,
``resume``, ``expire`` ...): it takes the account and the time, and returns
a ``Step``: the account as it is afterwards (a copy; the argument is left
alone), the invoices it issued, and the events to write. The use cases load
an account under row locks, call one of these, and write what it returns.

The rules are docs/rules.md's "Billing rules". The one law over them:
money is never lost or invented. Every unit collected for an invoice is
either service consumed, still held as ``credit_balance``, or owed back as
``refund_due``; an invoice records what it handed back in ``credit_issued``
so that the law can be checked invoice by invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bento_server.billing import money
from bento_server.billing.money import (
    invoice_amounts,
    proration_credit,
    tax_share,
)
from bento_server.billing.periods import add_interval
from bento_server.billing.phases import Phase, phase_for_cycle
from bento_server.billing.statuses import (
    EndReason,
    EventType,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from bento_server.errors import FailedPrecondition

RETRIES_MAX = 3
RETRY_DELAY_MINUTES = 60
# The seed's invoices are due 30 days after they are issued; never after
# their period ends.
DUE_AFTER = timedelta(days=30)

S = SubscriptionStatus
I = InvoiceStatus  # noqa: E741
P = PaymentStatus

RENEWING = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE, S.UNPAID})
"""Statuses whose period rolls over at ``next_billing_date``."""
RUNNING = frozenset({S.ACTIVE, S.PAST_DUE, S.UNPAID})
"""Statuses of a subscription that started and bills."""
CHANGEABLE = frozenset({S.PENDING, S.TRIALING, S.ACTIVE, S.PAST_DUE, S.UNPAID})
"""Statuses in which the plan may change."""


@dataclass
class InvoiceState:
    """The billing fields of one invoice (the store keeps the rest)."""

    billing_cycle: int
    plan_id: str
    phase_id: str
    phase_order: int
    status: InvoiceStatus
    payment_status: PaymentStatus
    period_start: datetime
    period_end: datetime
    invoice_date: datetime
    due_date: datetime
    grace_period_end: datetime | None
    subtotal: int
    proration_credit: int
    credit_applied: int
    tax_amount: int
    total_amount: int
    platform_fee_rate: float
    platform_fee_amount: int
    amount_paid: int = 0
    amount_refunded: int = 0
    credit_issued: int = 0
    credit_paid_out: int = 0
    """Credit this invoice handed back that refunds later paid out as money."""
    retries_count: int = 0
    retries_max: int = RETRIES_MAX
    retries_delay_minutes: int = RETRY_DELAY_MINUTES
    retries_next_date: datetime | None = None
    retries_last_date: datetime | None = None
    payment_date: datetime | None = None
    id: str = ""
    """Empty for an invoice this step issued: the store names it."""

    @property
    def amount_due(self) -> int:
        return money.amount_due(self.status, self.total_amount, self.amount_paid)

    @property
    def credits_taken(self) -> int:
        return self.proration_credit + self.credit_applied

    @property
    def value_held(self) -> int:
        """What still pays for this invoice's service: money collected and
        credit taken, less what it handed back."""
        return self.amount_paid + self.credits_taken - self.credit_issued

    @property
    def revenue_held(self) -> int:
        """``value_held`` without the tax in the money collected."""
        tax = tax_share(self.tax_amount, self.total_amount, self.amount_paid)
        return max(self.value_held - tax, 0)


@dataclass
class SubscriptionState:
    """The billing fields of one subscription, named as the store names them."""

    id: str
    plan_id: str
    plan_tier: int
    status: SubscriptionStatus
    payment_status: PaymentStatus
    created_at: datetime
    billing_unit: str
    billing_value: int
    grace_period_days: int
    end_behavior: str
    phases: list[dict[str, Any]]
    tax_rate: float
    tax_behavior: str
    billing_anchor: datetime
    period_start: datetime
    period_end: datetime
    anchor_cycle: int = 1
    current_cycle: int = 0
    phase_cycle_offset: int = 0
    cycle_count: int = 0
    current_phase_id: str = ""
    next_billing_date: datetime | None = None
    grace_period_end: datetime | None = None
    trial_days: int = 0
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    ended_at: datetime | None = None
    end_handled: bool = False
    end_reason: str | None = None
    status_before_cancel: str | None = None
    paused_at: datetime | None = None
    status_before_pause: str | None = None
    paused_for: str | None = None
    proration_credit: int = 0
    credit_balance: int = 0
    refund_due: int = 0


@dataclass(frozen=True)
class PlanTerms:
    """What a subscription takes from a plan when it starts or changes to it."""

    plan_id: str
    tier: int
    billing_unit: str
    billing_value: int
    grace_period_days: int
    end_behavior: str
    phases: list[dict[str, Any]]
    """The price phases of the subscription's region, as stored."""
    free_trial_days: int = 0


@dataclass
class Account:
    subscription: SubscriptionState
    invoices: list[InvoiceState]
    last_cycle: int
    """The highest billing cycle ever invoiced, loaded or not."""

    def invoice(self, invoice_id: str) -> InvoiceState:
        for invoice in self.invoices:
            if invoice.id == invoice_id:
                return invoice
        raise KeyError(invoice_id)

    def open_invoices(self) -> list[InvoiceState]:
        return sorted(
            (i for i in self.invoices if i.status == I.OPEN), key=lambda i: i.billing_cycle
        )

    def current(self) -> InvoiceState | None:
        cycle = self.subscription.current_cycle
        for invoice in self.invoices:
            if invoice.billing_cycle == cycle and invoice.status != I.VOID:
                return invoice
        return None


@dataclass(frozen=True)
class Emitted:
    """An event to write: its type, the invoice it concerns, its data."""

    type: EventType
    at: datetime
    invoice: InvoiceState | None = None
    data: dict[str, Any] = field(default_factory=dict)
    apps: bool = False
    """Whether the plan's publishers see it (subscription-wide events)."""


@dataclass
class Step:
    """What one event did: the new account and what to write."""

    account: Account
    issued: list[InvoiceState] = field(default_factory=list)
    events: list[Emitted] = field(default_factory=list)
    settled: list[InvoiceState] = field(default_factory=list)
    """Invoices this step settled: an activation may open for their plan's apps."""
    started: bool = False
    """The subscription started (its first period paid, or a trial began):
    plan levels decide now whether it runs or waits."""

    @property
    def subscription(self) -> SubscriptionState:
        return self.account.subscription

    def emit(
        self,
        kind: EventType,
        at: datetime,
        invoice: InvoiceState | None = None,
        apps: bool = False,
        **data: Any,
    ) -> None:
        self.events.append(Emitted(kind, at, invoice, data, apps))


def _begin(account: Account) -> Step:
    # A copy of each state, not a deep one: their fields are values, but for
    # the price phases, which no step changes in place (a plan change puts
    # new ones) and which the copy shares. Deep-copying them was a third of
    # a renewal's time in this core.
    return Step(
        Account(
            _copied(account.subscription),
            [_copied(invoice) for invoice in account.invoices],
            account.last_cycle,
        )
    )


_State = TypeVar("_State", "SubscriptionState", "InvoiceState")


def _copied(state: _State) -> _State:
    """``copy.copy`` of a plain dataclass, without its pickling protocol
    (``__reduce_ex__`` and a rebuild), which cost more than the rest of
    ``_begin``: a new instance of the class holding the same field values."""
    twin = object.__new__(type(state))
    twin.__dict__.update(state.__dict__)
    return twin


# --- pricing -------------------------------------------------------------------


def _phases(sub: SubscriptionState) -> list[Phase]:
    return [Phase.from_stored(p) for p in sub.phases]


def phase_of(sub: SubscriptionState, cycle: int) -> Phase | None:
    """The price phase of ``cycle``; None when the plan closes before it."""
    return phase_for_cycle(_phases(sub), cycle - sub.phase_cycle_offset, sub.end_behavior)


def cycle_period(sub: SubscriptionState, cycle: int) -> tuple[datetime, datetime]:
    """The period of billing cycle ``cycle``, by calendar from the anchor."""
    return _cycle_start(sub, cycle), _cycle_start(sub, cycle + 1)


def _cycle_start(sub: SubscriptionState, cycle: int) -> datetime:
    """Where billing cycle ``cycle`` starts (and the one before it ends)."""
    index = cycle - sub.anchor_cycle
    return add_interval(sub.billing_anchor, sub.billing_unit, sub.billing_value, index)


def _renewal_deadline(sub: SubscriptionState, period_start: datetime) -> datetime:
    # With no grace days, one retry delay: time for a platform that charges
    # at renewal to post the payment, with no free period.
    if sub.grace_period_days > 0:
        return period_start + timedelta(days=sub.grace_period_days)
    return period_start + timedelta(minutes=RETRY_DELAY_MINUTES)


def first_deadline(sub: SubscriptionState, issued: datetime) -> datetime:
    """When a subscription whose first invoice is unpaid ends (incomplete_expired)."""
    return issued + timedelta(days=max(sub.grace_period_days, 1))


def _issue(
    step: Step,
    cycle: int,
    now: datetime,
    fee_rate: float,
    period: tuple[datetime, datetime],
    *,
    deadline: datetime | None,
    prorated: int = 0,
    status: InvoiceStatus = I.OPEN,
) -> InvoiceState:
    """Prices ``cycle`` and adds its invoice; credit is taken before any charge.

    Plan-change credit the invoice cannot take goes to the credit balance;
    an invoice whose total is 0 is settled at once.
    """
    sub = step.subscription
    if cycle == 0:
        phase, subtotal = None, 0
    else:
        phase = phase_of(sub, cycle)
        if phase is None:
            raise FailedPrecondition(
                f"the plan has no billing cycle {cycle - sub.phase_cycle_offset}: it closes before",
                "no_more_cycles",
            )
        subtotal = phase.price_in_cents
    taken = min(prorated, subtotal)
    sub.credit_balance += prorated - taken
    amounts = invoice_amounts(
        subtotal,
        tax_rate=sub.tax_rate,
        tax_behavior=sub.tax_behavior,
        fee_rate=fee_rate,
        proration_credit=taken,
        credit_applied=sub.credit_balance,
    )
    sub.credit_balance -= amounts.credit_applied
    start, end = period
    invoice = InvoiceState(
        billing_cycle=cycle,
        plan_id=sub.plan_id,
        phase_id=phase.phase_id if phase else "",
        phase_order=phase.order if phase else 0,
        status=status,
        payment_status=P.UNPAID,
        period_start=start,
        period_end=end,
        invoice_date=now,
        due_date=min(now + DUE_AFTER, end),
        grace_period_end=deadline,
        subtotal=amounts.subtotal,
        proration_credit=amounts.proration_credit,
        credit_applied=amounts.credit_applied,
        tax_amount=amounts.tax_amount,
        total_amount=amounts.total_amount,
        platform_fee_rate=fee_rate,
        platform_fee_amount=amounts.platform_fee_amount,
    )
    if phase is not None and cycle <= max(sub.current_cycle, 1):
        sub.current_phase_id = phase.phase_id
    step.account.invoices.append(invoice)
    step.account.last_cycle = max(step.account.last_cycle, cycle)
    step.issued.append(invoice)
    step.emit(EventType.INVOICE_CREATED, now, invoice)
    if cycle == 0:
        # A trial's zero invoice: nothing to pay, nothing starts.
        invoice.status, invoice.payment_status = I.PAID, P.NO_PAYMENT_REQUIRED
    elif invoice.total_amount == 0 and status == I.OPEN:
        invoice.payment_status = P.NO_PAYMENT_REQUIRED
        _settle(step, invoice, now)
    return invoice


# --- dunning -------------------------------------------------------------------


def _debts(account: Account) -> list[InvoiceState]:
    """Open invoices whose period has begun: what the subscription owes now."""
    cycle = account.subscription.current_cycle
    return [i for i in account.open_invoices() if i.billing_cycle <= max(cycle, 1)]


def _refresh(account: Account) -> None:
    """The subscription's grace deadline and payment status follow its debts."""
    sub = account.subscription
    debts = [i for i in _debts(account) if i.grace_period_end is not None]
    if debts:
        oldest = min(debts, key=lambda i: (i.grace_period_end, i.billing_cycle))
        sub.grace_period_end = oldest.grace_period_end
        sub.payment_status = oldest.payment_status
        return
    sub.grace_period_end = None
    current = account.current()
    if current is not None and current.status == I.PAID:
        sub.payment_status = current.payment_status
    elif sub.status not in (S.PENDING, S.PAUSED):
        sub.payment_status = P.PAID if sub.cycle_count > 0 else sub.payment_status


def _settle(step: Step, invoice: InvoiceState, now: datetime) -> None:
    """The invoice is paid in full: what that does to its subscription."""
    sub = step.subscription
    invoice.status = I.PAID
    if invoice.payment_status != P.NO_PAYMENT_REQUIRED:
        invoice.payment_status = P.PAID
    invoice.payment_date = now
    invoice.retries_next_date = None
    began = 1 <= invoice.billing_cycle <= sub.current_cycle
    if began:
        sub.cycle_count += 1
    step.settled.append(invoice)
    _refresh(step.account)
    step.emit(EventType.INVOICE_PAID, now, invoice)
    if not began:
        return  # paid ahead: its period has not begun
    owes = bool(_debts(step.account))
    if sub.status == S.PENDING and not owes:
        sub.status = S.ACTIVE
        step.started = True
        step.emit(EventType.SUBSCRIPTION_ACTIVATED, now, invoice, apps=True)
    elif sub.status in RUNNING and not owes:
        sub.status = S.ACTIVE
        step.emit(EventType.SUBSCRIPTION_RENEWED, now, invoice, apps=True)


def pay(account: Account, invoice_id: str, amount: int, now: datetime) -> Step:
    """A succeeded payment of ``amount`` (> 0) on an invoice."""
    step = _begin(account)
    invoice = step.account.invoice(invoice_id)
    refuse_settled(invoice)
    if amount > invoice.amount_due:
        raise FailedPrecondition(
            f"the payment of {amount} exceeds the {invoice.amount_due} due", "amount_exceeds_due"
        )
    invoice.amount_paid += amount
    if invoice.amount_paid >= invoice.total_amount:
        _settle(step, invoice, now)
    return step


def mark_paid(account: Account, invoice_id: str, now: datetime) -> tuple[Step, int]:
    """Settles an invoice without a payment from the caller: the amount due
    is recorded as collected. Returns the step and that amount, for the
    store to write as a payment record so the ledger stays whole."""
    due = account.invoice(invoice_id).amount_due
    return pay(account, invoice_id, due, now), due


def refuse_settled(invoice: InvoiceState) -> None:
    if invoice.status == I.PAID:
        raise FailedPrecondition(f"invoice {invoice.id} is already paid", "invoice_already_paid")
    if invoice.status == I.DRAFT:
        raise FailedPrecondition(
            f"invoice {invoice.id} is a draft: its subscription waits for its turn", "invoice_draft"
        )
    if invoice.status == I.VOID:
        raise FailedPrecondition(
            f"invoice {invoice.id} is void: its subscription ended before it was paid",
            "invoice_void",
        )


def fail(account: Account, invoice_id: str, now: datetime) -> Step:
    """A failed payment: count a retry (never past the maximum); a renewing
    subscription falls past due, then unpaid once the retries ran out."""
    step = _begin(account)
    sub = step.subscription
    invoice = step.account.invoice(invoice_id)
    refuse_settled(invoice)
    if invoice.retries_count < invoice.retries_max:
        invoice.retries_count += 1
    invoice.retries_last_date = now
    last = invoice.retries_count >= invoice.retries_max
    invoice.retries_next_date = (
        None if last else now + timedelta(minutes=invoice.retries_delay_minutes)
    )
    invoice.payment_status = P.FAILED
    _refresh(step.account)
    step.emit(EventType.PAYMENT_FAILED, now, invoice)
    if invoice not in _debts(step.account) or sub.status not in RUNNING:
        return step  # a first invoice keeps its subscription pending
    target = S.UNPAID if last else S.PAST_DUE
    if sub.status == S.UNPAID and target == S.PAST_DUE:
        return step  # another invoice's retries ran out already
    if target != sub.status:
        sub.status = target
        kind = (
            EventType.SUBSCRIPTION_PAST_DUE
            if target == S.PAST_DUE
            else EventType.SUBSCRIPTION_UPDATED
        )
        step.emit(kind, now, invoice, apps=True, status=str(target))
    return step


def mark_status(account: Account, invoice_id: str, status: PaymentStatus, now: datetime) -> Step:
    """A collection state the platform reports without money moving (processing ...)."""
    step = _begin(account)
    invoice = step.account.invoice(invoice_id)
    refuse_settled(invoice)
    invoice.payment_status = status
    _refresh(step.account)
    return step


def refund(
    account: Account, invoice_id: str, amount: int, payment_left: int | None, now: datetime
) -> Step:
    """A refund of ``amount`` (> 0) that returned money.

    ``payment_left`` is what is left of the payment it names (None when it
    names none). It pays out what the subscription owes back first
    (``refund_due``, then ``credit_balance``, as far as this invoice handed
    them out), then the invoice's own collected money, which must still pay
    for service: a refund never gives back money already spent as credit.
    """
    step = _begin(account)
    sub = step.subscription
    invoice = step.account.invoice(invoice_id)
    from_due = min(amount, sub.refund_due, invoice.credit_issued)
    from_balance = min(amount - from_due, sub.credit_balance, invoice.credit_issued - from_due)
    rest = amount - from_due - from_balance
    own = invoice.value_held
    limit = min(invoice.amount_paid, from_due + from_balance + max(own, 0))
    if payment_left is not None:
        limit = min(limit, payment_left)
    if amount > limit:
        raise FailedPrecondition(
            f"the refund of {amount} exceeds the {limit} this "
            + ("payment" if payment_left is not None and limit == payment_left else "invoice")
            + " collected and has not given back",
            "refund_exceeds_paid",
        )
    assert rest <= own
    sub.refund_due -= from_due
    sub.credit_balance -= from_balance
    invoice.credit_issued -= from_due + from_balance
    invoice.credit_paid_out += from_due + from_balance
    invoice.amount_paid -= amount
    invoice.amount_refunded += amount
    _refresh(step.account)
    return step


# --- the clock ---------------------------------------------------------------------


def renew(account: Account, fee_rate: float) -> Step:
    """The period ended: the next one starts with its invoice, or the plan closes.

    Runs "at" ``next_billing_date``, so a clock that was late catches up
    with what it would have written on time.
    """
    step = _begin(account)
    sub = step.subscription
    due = sub.next_billing_date
    if due is None or sub.status not in RENEWING:
        raise FailedPrecondition(f"a {sub.status} subscription does not renew", "not_due")
    cycle = sub.current_cycle + 1
    if phase_of(sub, cycle) is None:
        sub.status_before_cancel, sub.status = sub.status, S.CANCELED
        sub.canceled_at = due
        _end(step, due, EndReason.PLAN_CLOSED)
        step.emit(EventType.SUBSCRIPTION_CANCELED, due, apps=True, reason="plan_closed")
        return step
    # Back to back: the next period starts exactly where this one ended.
    start = sub.period_end
    end = _cycle_start(sub, cycle + 1)
    if end <= start:
        end = add_interval(start, sub.billing_unit, sub.billing_value)
    sub.current_cycle = cycle
    sub.period_start, sub.period_end = start, end
    sub.next_billing_date = end
    if sub.status == S.TRIALING:
        sub.status = S.ACTIVE
    ahead = next((i for i in step.account.invoices if i.billing_cycle == cycle), None)
    if ahead is None:
        deadline = _renewal_deadline(sub, start)
        invoice = _issue(step, cycle, due, fee_rate, (start, end), deadline=deadline)
    else:
        invoice = ahead
        invoice.period_start, invoice.period_end = start, end
        sub.current_phase_id = invoice.phase_id
        if invoice.status == I.PAID:
            sub.cycle_count += 1
    _refresh(step.account)
    if invoice.status == I.PAID:
        if not step.settled:  # a settle at issue already said so
            step.emit(EventType.SUBSCRIPTION_RENEWED, due, invoice, apps=True)
    else:
        step.emit(EventType.SUBSCRIPTION_UPDATED, due, invoice, apps=True, change="period_started")
    return step


def lapse(account: Account) -> Step:
    """The oldest unpaid invoice passed its grace deadline: the subscription
    ends (``incomplete_expired`` if it never started) and its open invoices
    are void."""
    step = _begin(account)
    sub = step.subscription
    deadline = sub.grace_period_end
    if deadline is None:
        raise FailedPrecondition("nothing owed lapses", "not_due")
    never_served = sub.status == S.PENDING
    ended = sub.status == S.CANCELED and sub.ended_at is not None and sub.ended_at <= deadline
    if not (never_served or ended):
        # Access ends at the deadline: time paid for past it is owed back.
        sub.credit_balance += _stop_service(step, deadline, sub.status == S.PAUSED)
    # Nothing served at all: what was paid towards it is owed back too.
    sub.credit_balance += _void_open(step, never_served)[0]
    if ended:
        _refresh(step.account)  # its access ended already: the debt just goes void
        return step
    reason = EndReason.INCOMPLETE_EXPIRED if never_served else EndReason.GRACE_PERIOD_LAPSED
    if sub.status == S.CANCELED:
        sub.ended_at = deadline
    else:
        sub.status_before_cancel, sub.status = sub.status, S.CANCELED
        sub.canceled_at = deadline
    sub.cancel_at_period_end = False
    _end(step, deadline, reason)
    step.emit(EventType.SUBSCRIPTION_CANCELED, deadline, apps=True, reason=str(reason))
    return step


def expire(account: Account) -> Step:
    """A subscription canceled at period end reached its ``ended_at``."""
    step = _begin(account)
    sub = step.subscription
    if sub.status != S.CANCELED or sub.ended_at is None:
        raise FailedPrecondition("only a canceled subscription expires", "not_due")
    _end(step, sub.ended_at, EndReason(sub.end_reason or EndReason.CANCELED))
    step.emit(EventType.SUBSCRIPTION_CANCELED, sub.ended_at, apps=True, reason="period_ended")
    return step


def _hand_back(invoice: InvoiceState, amount: int) -> int:
    amount = max(min(amount, invoice.value_held), 0)
    invoice.credit_issued += amount
    return amount


def _unused_credit(
    invoice: InvoiceState | None, start: datetime, end: datetime, used_until: datetime
) -> int:
    if invoice is None or invoice.status == I.VOID or invoice.billing_cycle == 0:
        return 0
    return proration_credit(invoice.revenue_held, end - used_until, end - start)


def _void_open(step: Step, never_served: bool) -> tuple[int, datetime | None]:
    """Voids the open and draft invoices. Those of a subscription that never
    started hand back all they took. Returns that credit and the earliest
    deadline they carried."""
    credit, deadline = 0, None
    for invoice in step.account.invoices:
        if invoice.status not in (I.OPEN, I.DRAFT):
            continue
        if never_served:
            credit += _hand_back(invoice, invoice.value_held)
        if invoice.grace_period_end is not None:
            deadline = min(deadline or invoice.grace_period_end, invoice.grace_period_end)
        invoice.status = I.VOID
    return credit, deadline


def _forgo_ahead(step: Step) -> int:
    """Cycles paid ahead that will not be served give back all they took."""
    cycle = step.subscription.current_cycle
    credit = 0
    for invoice in step.account.invoices:
        if invoice.billing_cycle > cycle and invoice.status in (I.PAID, I.OPEN, I.DRAFT):
            credit += _hand_back(invoice, invoice.value_held)
            invoice.status = I.VOID
    return credit


def _end(step: Step, at: datetime, reason: EndReason) -> None:
    """Access ends at ``at``: nothing more is billed, and what the user holds
    as credit is owed back."""
    sub = step.subscription
    sub.ended_at = at
    sub.end_handled = True
    sub.end_reason = str(reason)
    sub.next_billing_date = None
    sub.credit_balance += _forgo_ahead(step)
    sub.refund_due += sub.credit_balance
    sub.credit_balance = 0
    _refresh(step.account)


# --- the platform's requests ---------------------------------------------------------


def cancel(account: Account, now: datetime, cancel_now: bool) -> Step:
    """Cancels at period end (access until then, or until a debt's deadline),
    or now. Neither moves a deadline nor voids a debt; only a first invoice
    never served is void."""
    step = _begin(account)
    sub = step.subscription
    if sub.status == S.CANCELED:
        if cancel_now and sub.ended_at is not None and sub.ended_at > now:
            _cancel_now(step, now)
            return step
        raise FailedPrecondition(
            "the subscription is already canceled", "invalid_status_transition"
        )
    if sub.status not in (S.PENDING, S.TRIALING, S.ACTIVE, S.PAST_DUE, S.UNPAID, S.PAUSED):
        raise FailedPrecondition(
            f"a {sub.status} subscription cannot be canceled", "invalid_status_transition"
        )
    sub.status_before_cancel = str(sub.status)
    sub.canceled_at = now
    sub.next_billing_date = None
    sub.end_reason = str(EndReason.CANCELED)
    never_served = sub.status == S.PENDING or (
        sub.status == S.PAUSED and sub.status_before_pause == S.PENDING
    )
    ends_now = cancel_now or sub.status in (S.PENDING, S.UNPAID, S.PAUSED)
    sub.status = S.CANCELED
    if never_served:
        sub.credit_balance += _void_open(step, never_served=True)[0]
    if ends_now:
        _cancel_now(step, now)
        return step
    sub.cancel_at_period_end = True
    sub.ended_at = sub.period_end
    _refresh(step.account)
    step.emit(EventType.SUBSCRIPTION_CANCELED, now, apps=True, cancel_now=False)
    return step


def _stop_service(step: Step, at: datetime, paused: bool) -> int:
    """Service ends at ``at`` inside the current period: the current invoice
    hands back what it collected for the time not served (net of tax), and
    its period ends there. A paused subscription was served up to the pause."""
    sub = step.subscription
    current = step.account.current()
    used_until = sub.paused_at if paused and sub.paused_at is not None else at
    if current is None or sub.period_end <= used_until:
        return 0
    credit = _unused_credit(current, sub.period_start, sub.period_end, used_until)
    current.period_end = max(min(current.period_end, at), current.period_start)
    return _hand_back(current, credit)


def _cancel_now(step: Step, now: datetime) -> None:
    sub = step.subscription
    sub.cancel_at_period_end = False
    if sub.status_before_cancel != S.PENDING:
        sub.credit_balance += _stop_service(step, now, sub.status_before_cancel == S.PAUSED)
    _end(step, now, EndReason(sub.end_reason or EndReason.CANCELED))
    step.emit(
        EventType.SUBSCRIPTION_CANCELED, now, apps=True, cancel_now=True, refund_due=sub.refund_due
    )


def uncancel(account: Account, now: datetime) -> Step:
    """Takes back a cancel at period end, before that end. Deadlines stay."""
    step = _begin(account)
    sub = step.subscription
    if not (
        sub.status == S.CANCELED
        and sub.cancel_at_period_end
        and sub.ended_at is not None
        and sub.ended_at > now
    ):
        raise FailedPrecondition(
            "only a subscription canceled at period end can be uncanceled, before that end",
            "invalid_status_transition",
        )
    sub.status = S(sub.status_before_cancel or S.ACTIVE)
    sub.status_before_cancel = None
    sub.cancel_at_period_end = False
    sub.canceled_at = None
    sub.ended_at = None
    sub.end_reason = None
    sub.next_billing_date = sub.period_end
    _refresh(step.account)
    step.emit(EventType.SUBSCRIPTION_UPDATED, now, apps=True, change="uncanceled")
    return step


def pause(account: Account, now: datetime, waits_for: str | None = None) -> Step:
    """No access and no billing until resumed. A debt's deadline runs on."""
    step = _begin(account)
    sub = step.subscription
    if sub.status == S.PAUSED:
        raise FailedPrecondition("the subscription is already paused", "invalid_status_transition")
    if sub.status not in (S.TRIALING, S.ACTIVE, S.PAST_DUE) and waits_for is None:
        raise FailedPrecondition(
            f"a subscription cannot go from {sub.status} to paused", "invalid_status_transition"
        )
    sub.status_before_pause, sub.status = str(sub.status), S.PAUSED
    sub.paused_at = now
    sub.paused_for = waits_for
    waiting: dict[str, Any] = {"paused_for": waits_for} if waits_for else {}
    step.emit(EventType.SUBSCRIPTION_PAUSED, now, apps=True, **waiting)
    return step


def resume(account: Account, now: datetime) -> Step:
    """Ends a pause: the period end moves by the time spent paused, and the
    next cycle starts at that moved end. A debt's deadline does not move."""
    step = _begin(account)
    sub = step.subscription
    if sub.status != S.PAUSED or sub.paused_at is None:
        raise FailedPrecondition(
            f"only a paused subscription can resume; this one is {sub.status}",
            "invalid_status_transition",
        )
    shift = now - sub.paused_at
    sub.period_end += shift
    if sub.status_before_pause == S.PENDING or sub.status_before_pause is None:
        sub.period_start += shift
    if sub.next_billing_date is not None:
        sub.next_billing_date = sub.period_end
    if sub.trial_end is not None and sub.status_before_pause == S.TRIALING:
        sub.trial_end += shift
    # Re-anchored: cycle n+1 starts exactly where the moved period ends.
    sub.billing_anchor = sub.period_end
    sub.anchor_cycle = sub.current_cycle + 1
    sub.status = S(sub.status_before_pause or S.ACTIVE)
    for invoice in step.account.invoices:
        if invoice.billing_cycle > sub.current_cycle and invoice.status != I.VOID:
            # Paid ahead: its period moves with the new anchor.
            invoice.period_start, invoice.period_end = cycle_period(sub, invoice.billing_cycle)
        if invoice.billing_cycle != sub.current_cycle or invoice.status == I.VOID:
            continue
        invoice.period_end = sub.period_end
        if invoice.status == I.DRAFT:
            # A subscription that waited for its turn starts now: its first
            # invoice is issued now, with a first invoice's deadline.
            invoice.period_start = sub.period_start
            invoice.status = I.OPEN
            invoice.invoice_date = now
            invoice.due_date = min(now + DUE_AFTER, invoice.period_end)
            invoice.grace_period_end = first_deadline(sub, now)
            if invoice.total_amount == 0:
                _settle(step, invoice, now)
    sub.status_before_pause = None
    sub.paused_at = None
    sub.paused_for = None
    _refresh(step.account)
    step.emit(
        EventType.SUBSCRIPTION_RESUMED, now, apps=True, paused_seconds=int(shift.total_seconds())
    )
    return step


def pay_ahead(account: Account, cycles: int, now: datetime, fee_rate: float) -> Step:
    """Bills the next ``cycles`` cycles now; each is served when its period comes."""
    step = _begin(account)
    sub = step.subscription
    if sub.status != S.ACTIVE or _debts(step.account):
        raise FailedPrecondition(
            "only an active subscription with its current invoice paid can renew ahead; "
            f"this one is {sub.status} and {sub.payment_status}",
            "invalid_status_transition",
        )
    first = step.account.last_cycle + 1
    for cycle in range(first, first + cycles):
        start, end = cycle_period(sub, cycle)
        _issue(step, cycle, now, fee_rate, (start, end), deadline=_renewal_deadline(sub, start))
    return step


def change_plan(account: Account, terms: PlanTerms, now: datetime, fee_rate: float) -> Step:
    """Moves to another plan now.

    The new plan's period starts now. What was collected for the unused
    rest of the current period, net of tax, is credit: the new invoice
    takes what it can as ``proration_credit``, the rest is kept as credit
    balance. A trial stays a trial; a first invoice never paid is replaced;
    an older debt stays owed with its deadline.
    """
    step = _begin(account)
    sub = step.subscription
    if sub.status not in CHANGEABLE:
        raise FailedPrecondition(
            f"a {sub.status} subscription cannot change plan", "invalid_status_transition"
        )
    from_plan = sub.plan_id
    _take_terms(sub, terms)
    if sub.status == S.TRIALING:
        # The trial goes on; the new plan bills when it ends.
        sub.phase_cycle_offset = 0
        sub.billing_anchor = sub.trial_end or sub.period_end
        sub.anchor_cycle = 1
        sub.proration_credit = 0
        step.emit(
            EventType.SUBSCRIPTION_PLAN_CHANGED,
            now,
            apps=True,
            from_plan_id=from_plan,
            proration_credit=0,
        )
        return step
    deadline: datetime | None = None
    if sub.status == S.PENDING:
        # Never served: its first invoice is replaced, what was paid on it
        # becomes credit, and its deadline carries over.
        credit, deadline = _void_open(step, never_served=True)
    else:
        credit = _stop_service(step, now, paused=False)
    credit += _forgo_ahead(step)
    cycle = step.account.last_cycle + 1
    sub.phase_cycle_offset = cycle - 1
    sub.current_cycle = cycle
    sub.billing_anchor, sub.anchor_cycle = now, cycle
    sub.period_start, sub.period_end = cycle_period(sub, cycle)
    sub.next_billing_date = sub.period_end
    sub.proration_credit = credit
    if deadline is None:
        deadline = _renewal_deadline(sub, now)
    _issue(
        step,
        cycle,
        now,
        fee_rate,
        (sub.period_start, sub.period_end),
        deadline=deadline,
        prorated=credit,
    )
    _refresh(step.account)
    step.emit(
        EventType.SUBSCRIPTION_PLAN_CHANGED,
        now,
        apps=True,
        from_plan_id=from_plan,
        proration_credit=credit,
    )
    return step


def _take_terms(sub: SubscriptionState, terms: PlanTerms) -> None:
    sub.plan_id = terms.plan_id
    sub.plan_tier = terms.tier
    sub.billing_unit = terms.billing_unit
    sub.billing_value = terms.billing_value
    sub.grace_period_days = terms.grace_period_days
    sub.end_behavior = terms.end_behavior
    sub.phases = terms.phases


# --- starting ---------------------------------------------------------------------------


def start(
    sub: SubscriptionState, terms: PlanTerms, now: datetime, fee_rate: float, waits_for: str | None
) -> Step:
    """A new subscription: a trial, or a first invoice to pay.

    ``waits_for`` names the subscription holding the user's one place on a
    single-active platform that this one waits for (Subgate's plan levels):
    it starts paused, its first invoice a draft until its turn.
    """
    _take_terms(sub, terms)
    step = Step(Account(sub, [], 0))
    if terms.free_trial_days > 0:
        trial_end = now + timedelta(days=terms.free_trial_days)
        sub.status, sub.payment_status = S.TRIALING, P.NO_PAYMENT_REQUIRED
        sub.trial_days, sub.trial_end = terms.free_trial_days, trial_end
        sub.billing_anchor, sub.anchor_cycle, sub.current_cycle = trial_end, 1, 0
        sub.period_start, sub.period_end = now, trial_end
        sub.next_billing_date = trial_end
        _issue(step, 0, now, fee_rate, (now, trial_end), deadline=None)
        step.started = waits_for is None
    else:
        sub.status, sub.payment_status = S.PENDING, P.UNPAID
        sub.billing_anchor, sub.anchor_cycle, sub.current_cycle = now, 1, 1
        sub.period_start, sub.period_end = cycle_period(sub, 1)
        sub.next_billing_date = sub.period_end
        _issue(
            step,
            1,
            now,
            fee_rate,
            (sub.period_start, sub.period_end),
            deadline=first_deadline(sub, now),
            status=I.DRAFT if waits_for else I.OPEN,
        )
    if waits_for is not None:
        sub.status_before_pause, sub.status = str(sub.status), S.PAUSED
        sub.paused_at, sub.paused_for = now, waits_for
    _refresh(step.account)
    return step


def takes_place(new_tier: int, holder_tier: int) -> bool:
    """Plan levels: whether a starting subscription displaces the holder."""
    return new_tier > holder_tier
