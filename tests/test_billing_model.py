"""A model of the billing core: random sequences of what can happen to a
subscription, with the money law checked after every step.

Drives ``bento_server.billing.account`` alone (no store, no server, no
clock), so it runs hundreds of sequences in seconds: 200 in `make test`,
5,000 in `make test-long`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bento_server.billing import account, allocation
from bento_server.billing.access import decide_for
from bento_server.billing.account import Account, PlanTerms, Step, SubscriptionState
from bento_server.billing.statuses import InvoiceStatus, SubscriptionStatus
from bento_server.errors import BentoError
from tests.support import scaled

S = SubscriptionStatus
FEE = 0.15
START = datetime(2028, 1, 31, 12, tzinfo=UTC)


def terms(plan_id: str, price: int, unit: str, grace: int, trial: int = 0) -> PlanTerms:
    phase = {
        "phase_id": f"ph-{plan_id}",
        "order": 1,
        "billing_cycles": None,
        "price": {"price_in_cents": price, "currency_code": "USD", "tier_id": ""},
    }
    return PlanTerms(plan_id, 1, unit, 1, grace, "roll", [phase], trial)


# Two products in every plan, at wholesale prices that the weekly plan sells
# below (its platform share goes negative) and the others above.
WHOLESALE = (allocation.Wholesale("AP1", "PR1", 456), allocation.Wholesale("AP2", "PR2", 300))

PLANS = [
    terms("monthly", 1699, "month", 3),
    terms("yearly", 36000, "year", 7),
    terms("weekly", 500, "week", 0),
    terms("free-first", 0, "month", 2),
    terms("trial", 999, "month", 5, trial=14),
]


def _plus(sums: allocation.Split | None, change: allocation.Split) -> allocation.Split:
    """The sums of an invoice's allocations, with one more."""
    if sums is None:
        return change
    keys = dict.fromkeys([*sums.shares, *change.shares])
    return allocation.Split(
        tax=sums.tax + change.tax,
        platform_fee=sums.platform_fee + change.platform_fee,
        platform_share=sums.platform_share + change.platform_share,
        shares={k: sums.shares.get(k, 0) + change.shares.get(k, 0) for k in keys},
        cycles=sums.cycles + change.cycles,
    )


class BillingModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.account: Account | None = None
        self.next_id = 0
        # What the write path posts: each invoice's terms from its issue,
        # and the sums of its allocations' movements and lines.
        self.terms: dict[str, allocation.Terms] = {}
        self.moved: dict[str, int] = {}
        self.lines: dict[str, allocation.Split] = {}

    # --- driving -------------------------------------------------------------

    def _apply(self, step: Step) -> None:
        sub = step.account.subscription
        for invoice in step.issued:
            self.next_id += 1
            invoice.id = f"INV{self.next_id}"
            months = allocation.cycle_months(sub.billing_unit, sub.billing_value)
            priced = invoice.subtotal > 0
            self.terms[invoice.id] = allocation.Terms(months, WHOLESALE if priced else ())
        before = (
            {i.id: allocation.Holding.of(i) for i in self.account.invoices} if self.account else {}
        )
        for invoice in step.account.invoices:
            held = before.get(invoice.id, allocation.NOTHING)
            after = allocation.Holding.of(invoice)
            posting = allocation.post(held, after, self.terms[invoice.id])
            # The write path skips what moves nothing: post agrees.
            assert not allocation.moves_nothing(held, after) or posting is None
            if posting is None:
                continue
            assert posting.movement.net == posting.change.total, posting
            self.moved[invoice.id] = self.moved.get(invoice.id, 0) + posting.movement.net
            self.lines[invoice.id] = _plus(self.lines.get(invoice.id), posting.change)
        self.account = step.account

    def _try(self, make: Callable[[], Step]) -> None:
        try:
            step = make()
        except BentoError:
            return  # refused: the state must be as it was
        self._apply(step)

    @precondition(lambda self: self.account is None)
    @rule(plan=st.sampled_from(PLANS), tax=st.sampled_from(["none", "exclusive", "inclusive"]))
    def create(self, plan: PlanTerms, tax: str) -> None:
        sub = SubscriptionState(
            id="SUB1", plan_id=plan.plan_id, plan_tier=1, status=S.PENDING,
            payment_status=account.P.UNPAID, created_at=self.now, billing_unit=plan.billing_unit,
            billing_value=plan.billing_value, grace_period_days=plan.grace_period_days,
            end_behavior=plan.end_behavior, phases=plan.phases, tax_rate=0.0875,
            tax_behavior=tax, billing_anchor=self.now, period_start=self.now,
            period_end=self.now,
        )  # fmt: skip
        self._apply(account.start(sub, plan, self.now, FEE, None))

    def _open(self) -> list[account.InvoiceState]:
        assert self.account is not None
        return self.account.open_invoices()

    @precondition(lambda self: self.account is not None)
    @rule(whole=st.booleans(), part=st.integers(1, 5000))
    def pay(self, whole: bool, part: int) -> None:
        for invoice in self._open():
            amount = invoice.amount_due if whole else min(part, invoice.amount_due)
            if amount > 0:
                self._try(lambda: account.pay(self.account, invoice.id, amount, self.now))
            return

    @precondition(lambda self: self.account is not None)
    @rule()
    def fail(self) -> None:
        for invoice in self._open():
            self._try(lambda: account.fail(self.account, invoice.id, self.now))
            return

    @precondition(lambda self: self.account is not None)
    @rule(amount=st.integers(1, 40000))
    def refund(self, amount: int) -> None:
        assert self.account is not None
        paid = [i for i in self.account.invoices if i.amount_paid > 0]
        if paid:
            target = paid[amount % len(paid)]
            self._try(lambda: account.refund(self.account, target.id, amount, None, self.now))

    @precondition(lambda self: self.account is not None)
    @rule(plan=st.sampled_from(PLANS))
    def change_plan(self, plan: PlanTerms) -> None:
        self._try(lambda: account.change_plan(self.account, plan, self.now, FEE))

    @precondition(lambda self: self.account is not None)
    @rule(now_=st.booleans())
    def cancel(self, now_: bool) -> None:
        self._try(lambda: account.cancel(self.account, self.now, now_))

    @precondition(lambda self: self.account is not None)
    @rule()
    def uncancel(self) -> None:
        self._try(lambda: account.uncancel(self.account, self.now))

    @precondition(lambda self: self.account is not None)
    @rule()
    def pause(self) -> None:
        self._try(lambda: account.pause(self.account, self.now))

    @precondition(lambda self: self.account is not None)
    @rule()
    def resume(self) -> None:
        self._try(lambda: account.resume(self.account, self.now))

    @precondition(lambda self: self.account is not None)
    @rule(cycles=st.integers(1, 3))
    def pay_ahead(self, cycles: int) -> None:
        self._try(lambda: account.pay_ahead(self.account, cycles, self.now, FEE))

    @rule(seconds=st.sampled_from([3600, 86400, 3 * 86400, 29 * 86400, 31 * 86400, 366 * 86400]))
    def advance(self, seconds: int) -> None:
        """Moves the clock, running what fell due on the way, earliest first."""
        until = self.now + timedelta(seconds=seconds)
        while self.account is not None:
            sub = self.account.subscription
            dues = []
            if sub.status in account.RENEWING and sub.next_billing_date is not None:
                dues.append((sub.next_billing_date, "renew"))
            if sub.grace_period_end is not None and sub.status != S.TRIALING:
                dues.append((sub.grace_period_end, "lapse"))
            if sub.status == S.CANCELED and not sub.end_handled and sub.ended_at is not None:
                dues.append((sub.ended_at, "expire"))
            due = [d for d in dues if d[0] <= until]
            if not due:
                break
            at, kind = min(due)
            self.now = max(self.now, at)
            if kind == "renew":
                self._apply(account.renew(self.account, FEE))
            elif kind == "lapse":
                self._apply(account.lapse(self.account))
            else:
                self._apply(account.expire(self.account))
        self.now = until

    # --- the law -----------------------------------------------------------------

    @invariant()
    def money_is_never_lost_or_invented(self) -> None:
        if self.account is None:
            return
        sub = self.account.subscription
        handed_back = 0
        taken = 0
        for invoice in self.account.invoices:
            assert 0 <= invoice.amount_paid <= invoice.total_amount, invoice
            assert invoice.retries_count <= invoice.retries_max
            if invoice.retries_count == invoice.retries_max:
                assert invoice.retries_next_date is None
            net = invoice.subtotal - invoice.proration_credit - invoice.credit_applied
            assert net >= 0
            if sub.tax_behavior == "exclusive":
                assert invoice.total_amount == net + invoice.tax_amount
            else:
                assert invoice.total_amount == net
                assert sub.tax_behavior == "inclusive" or invoice.tax_amount == 0
            assert 0 <= invoice.credit_issued <= invoice.amount_paid + invoice.credits_taken
            handed_back += invoice.credit_issued
            taken += invoice.credits_taken
            if invoice.status == InvoiceStatus.OPEN:
                assert invoice.amount_paid < invoice.total_amount
        if sub.status == S.CANCELED and sub.status_before_cancel == S.PENDING:
            # Never started: nothing was consumed, so everything paid is owed back.
            assert sum(i.value_held for i in self.account.invoices) == 0
        # collected = consumed + credit balance + refund due, to the unit.
        assert sub.credit_balance >= 0 and sub.refund_due >= 0
        assert handed_back - taken == sub.credit_balance + sub.refund_due

    @invariant()
    def allocations_add_up_to_what_each_invoice_holds(self) -> None:
        """docs/rules.md, "Revenue distribution": for every invoice, tax +
        fee + publisher shares + platform share = what it holds, to the unit."""
        if self.account is None:
            return
        for invoice in self.account.invoices:
            lines = self.lines.get(invoice.id, allocation.Split())
            value = invoice.value_held
            assert lines.total == value == self.moved.get(invoice.id, 0), (invoice, lines)
            assert 0 <= lines.tax <= invoice.tax_amount, (invoice, lines)
            assert 0 <= lines.platform_fee <= invoice.platform_fee_amount, (invoice, lines)
            terms = self.terms[invoice.id]
            full = {
                (w.app_id, w.product_id): allocation.round_half_up(w.monthly * terms.months)
                for w in terms.wholesale
            }
            for key, share in lines.shares.items():
                assert 0 <= share <= full[key], (invoice, lines)
            assert lines.cycles == (1 if value > 0 else 0)
            if invoice.amount_paid == invoice.total_amount and invoice.credit_issued == 0:
                # Paid in full and nothing handed back: every party's whole part.
                assert (lines.tax, lines.platform_fee) == (
                    invoice.tax_amount,
                    invoice.platform_fee_amount,
                ), (invoice, lines)
                assert dict(lines.shares) == (full if value > 0 else dict.fromkeys(full, 0))

    @invariant()
    def periods_never_overlap(self) -> None:
        if self.account is None:
            return
        billed = sorted(
            (
                i
                for i in self.account.invoices
                if i.status != InvoiceStatus.VOID and i.billing_cycle
            ),
            key=lambda i: i.billing_cycle,
        )
        for before, after in pairwise(billed):
            assert before.period_end <= after.period_start, (before, after)

    @invariant()
    def access_only_where_the_rules_grant_it(self) -> None:
        if self.account is None:
            return
        sub = self.account.subscription
        # A debt past its deadline never survives a clock move: the lapse ran.
        assert sub.grace_period_end is None or self.now < sub.grace_period_end
        granted = decide_for(sub, self.now)
        if sub.status in (S.PENDING, S.UNPAID, S.PAUSED):
            assert not granted.allowed
        if sub.status in (S.ACTIVE, S.TRIALING) and sub.grace_period_end is None:
            # Paid up and renewed on time: access to the period's end.
            assert granted.allowed and granted.expires_at == sub.period_end


BillingModel.TestCase.settings = settings(
    max_examples=scaled(200, 5000), stateful_step_count=30, deadline=None
)
test_billing_model = BillingModel.TestCase
