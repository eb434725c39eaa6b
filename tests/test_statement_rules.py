"""Statements follow the money, by the rules of docs/rules.md, "Revenue
distribution", over the wire on both stores.

Each test sells the worked example's bundle (two apps' products at
wholesale 456 and 300, a monthly plan at 1,699, 8.75% exclusive tax, a 15%
fee), moves money, and reads statements over periods cut between the
moves: the test clock only moves when a test moves it, so a period from
one instant to the next holds exactly the moves made in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from google.protobuf import timestamp_pb2

from bento.v1 import enums_pb2, settlement_pb2, subscription_pb2
from tests.billing_support import (
    advance,
    get_subscription,
    list_invoices,
    now,
    pay,
    subscribe,
)
from tests.support import (
    Caller,
    RunningServer,
    Tenancy,
    make_tenancy,
    phases,
    plan_request,
    product_request,
    usd,
)

E = enums_pb2
TAX = {
    "tax_rate": 0.0875,
    "tax_type": E.TAX_TYPE_SALES_TAX,
    "tax_behavior": E.TAX_BEHAVIOR_EXCLUSIVE,
}


def half_up(value: Fraction) -> int:
    """The rules' rounding, written out here so the test does not borrow the server's."""
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


@dataclass
class Bundle:
    t: Tenancy
    first: str
    """The product at wholesale 456, of ``t.app_id``."""
    second: str
    """The product at wholesale 300, of ``t.other_app_id``."""
    plan_id: str

    def plan(self, price: int, *products: str) -> str:
        request = plan_request(list(products), prices={"US": phases((price, None))})
        return self.t.platform(self.t.platform.catalog.CreatePlan, request).plan.plan_id


def bundle(server: RunningServer) -> Bundle:
    t = make_tenancy(server)
    first = t.publisher(
        t.publisher.catalog.CreateProduct, product_request(price_wholesale=usd(456))
    ).product.product_id
    second = t.other_publisher(
        t.other_publisher.catalog.CreateProduct, product_request(price_wholesale=usd(300))
    ).product.product_id
    b = Bundle(t, first, second, "")
    b.plan_id = b.plan(1699, first, second)
    return b


class Clock:
    """The shared test clock, read and moved by the admin."""

    def __init__(self, admin: Caller) -> None:
        self.admin = admin

    def now(self) -> timestamp_pb2.Timestamp:
        return now(self.admin)

    def tick(self) -> timestamp_pb2.Timestamp:
        """Moves a minute on; returns the instant after every earlier move."""
        return advance(self.admin, 60)


Amounts = dict[str, int]
FIELDS = (
    "cycles",
    "gross",
    "tax",
    "platform_fee",
    "publisher_share",
    "platform_share",
    "refunded",
    "credit_applied",
    "credit_issued",
)


def _amounts(message: settlement_pb2.StatementAmounts) -> Amounts:
    return {name: getattr(message, name) for name in FIELDS}


def amounts(**values: int) -> Amounts:
    return {name: values.get(name, 0) for name in FIELDS}


@dataclass
class Read:
    lines: dict[tuple[str, str, str], Amounts]
    """By (counterpart, plan, product)."""
    totals: Amounts


def statement(
    caller: Caller,
    tenant_id: str,
    start: timestamp_pb2.Timestamp,
    end: timestamp_pb2.Timestamp,
) -> Read:
    answer = caller(
        caller.settlement.GetStatement,
        settlement_pb2.GetStatementRequest(
            tenant_id=tenant_id, currency="USD", period_start=start, period_end=end
        ),
    ).statement
    lines = {
        (line.counterpart_id, line.plan_id, line.product_id): _amounts(line.amounts)
        for line in answer.lines
    }
    assert len(lines) == len(answer.lines), "one line per counterpart, plan and product"
    return Read(lines, _amounts(answer.totals))


def after(stamp: timestamp_pb2.Timestamp, seconds: int = 1) -> timestamp_pb2.Timestamp:
    moved = timestamp_pb2.Timestamp()
    moved.FromDatetime(stamp.ToDatetime() + timedelta(seconds=seconds))
    return moved


def first_invoice(b: Bundle) -> tuple[str, str]:
    created = subscribe(b.t.platform, b.plan_id, **TAX)
    invoice = created.invoice
    assert (invoice.amounts.tax_amount, invoice.amounts.total_amount) == (149, 1848)
    assert invoice.plan.platform_fee_amount == 255
    return created.subscription.subscription_id, invoice.invoice_id


def refund(b: Bundle, sub_id: str, invoice_id: str, amount: int) -> None:
    pay(
        b.t.platform,
        sub_id,
        invoice_id,
        -amount,
        E.PAYMENT_RECORD_STATUS_SUCCEEDED,
        refund_reason="requested_by_customer",
    )


# --- the worked example, a renewal, a closed period ------------------------------


def test_the_worked_example_then_a_renewal_adds_a_cycle(server: RunningServer) -> None:
    b = bundle(server)
    t, clock = b.t, Clock(b.t.admin)
    start = clock.tick()
    sub_id, invoice_id = first_invoice(b)
    pay(t.platform, sub_id, invoice_id, 1848)
    first_end = clock.tick()

    paid_once = statement(t.platform, t.platform_id, start, first_end)
    assert paid_once.lines == {
        ("", b.plan_id, ""): amounts(
            cycles=1, gross=1848, tax=149, platform_fee=255, platform_share=688
        ),
        (t.app_id, b.plan_id, b.first): amounts(cycles=1, publisher_share=456),
        (t.other_app_id, b.plan_id, b.second): amounts(cycles=1, publisher_share=300),
    }
    assert paid_once.totals == amounts(
        cycles=1, gross=1848, tax=149, platform_fee=255, publisher_share=756, platform_share=688
    )
    # Each publisher sees its own line, and nothing of the other's.
    mine = statement(t.publisher, t.app_id, start, first_end)
    assert mine.lines == {
        (t.platform_id, b.plan_id, b.first): amounts(cycles=1, publisher_share=456)
    }
    assert mine.totals == amounts(cycles=1, publisher_share=456)
    theirs = statement(t.other_publisher, t.other_app_id, start, first_end)
    assert theirs.lines == {
        (t.platform_id, b.plan_id, b.second): amounts(cycles=1, publisher_share=300)
    }

    # The renewal: the next period's invoice, paid.
    renews_at = get_subscription(t.platform, sub_id).billing.next_billing_date
    seconds = renews_at.seconds - clock.now().seconds + 60
    advance(t.admin, seconds)
    [renewal, _] = list_invoices(t.platform, sub_id)  # newest first
    assert renewal.plan.billing_cycle == 2 and renewal.amounts.amount_due == 1848
    renewed_from = clock.tick()
    pay(t.platform, sub_id, renewal.invoice_id, 1848)
    end = clock.tick()

    assert statement(t.platform, t.platform_id, start, first_end) == paid_once, (
        "a period's statement does not change once it is over"
    )
    second = statement(t.platform, t.platform_id, renewed_from, end)
    assert second.lines == paid_once.lines
    both = statement(t.platform, t.platform_id, start, end)
    assert both.totals == amounts(
        cycles=2,
        gross=3696,
        tax=298,
        platform_fee=510,
        publisher_share=1512,
        platform_share=1376,
    )
    assert both.lines[(t.app_id, b.plan_id, b.first)] == amounts(cycles=2, publisher_share=912)


# --- refunds ----------------------------------------------------------------------


def test_a_partial_then_a_full_refund(server: RunningServer) -> None:
    b = bundle(server)
    t, clock = b.t, Clock(b.t.admin)
    start = clock.tick()
    sub_id, invoice_id = first_invoice(b)
    pay(t.platform, sub_id, invoice_id, 1848)
    half_from = clock.tick()
    refund(b, sub_id, invoice_id, 924)
    half_to = clock.tick()

    # Half the money held: half of every part, each rounded half up, the
    # platform's the rest: tax 74.5 -> 75, fee 127.5 -> 128, 228, 150.
    after_half = statement(t.platform, t.platform_id, start, half_to)
    assert after_half.lines == {
        ("", b.plan_id, ""): amounts(
            cycles=1, gross=1848, refunded=924, tax=75, platform_fee=128, platform_share=343
        ),
        (t.app_id, b.plan_id, b.first): amounts(cycles=1, publisher_share=228),
        (t.other_app_id, b.plan_id, b.second): amounts(cycles=1, publisher_share=150),
    }
    # The refund's own period holds only what it reversed: a late refund
    # shows in the month it happened.
    the_refund = statement(t.platform, t.platform_id, half_from, half_to)
    assert the_refund.totals == amounts(
        refunded=924, tax=-74, platform_fee=-127, publisher_share=-378, platform_share=-345
    )

    refund(b, sub_id, invoice_id, 924)
    end = clock.tick()
    nothing_held = statement(t.platform, t.platform_id, start, end)
    assert nothing_held.lines == {
        ("", b.plan_id, ""): amounts(gross=1848, refunded=1848),
        (t.app_id, b.plan_id, b.first): amounts(),
        (t.other_app_id, b.plan_id, b.second): amounts(),
    }, "a full refund takes the cycle back and owes no one anything"
    assert statement(t.platform, t.platform_id, start, half_to) == after_half
    mine = statement(t.publisher, t.app_id, half_to, end)
    assert mine.totals == amounts(cycles=-1, publisher_share=-228)


# --- a plan change's credit ---------------------------------------------------------


def test_a_plan_changes_credit_moves_the_shares(server: RunningServer) -> None:
    b = bundle(server)
    t, clock = b.t, Clock(b.t.admin)
    solo = b.plan(2999, b.first)  # the first product alone, dearer
    start = clock.tick()
    sub_id, old_id = first_invoice(b)
    pay(t.platform, sub_id, old_id, 1848)
    advance(t.admin, 10 * 86400)
    change_from = clock.tick()
    t.platform(
        t.platform.subscriptions.UpdateSubscription,
        subscription_pb2.UpdateSubscriptionRequest(subscription_id=sub_id, plan_id=solo),
    )
    change_to = clock.tick()

    [new, old] = list_invoices(t.platform, sub_id)
    assert old.invoice_id == old_id
    credit = new.amounts.proration_credit
    assert 0 < credit < 1699, "the unused two thirds of the month, or so, without tax"
    # The credit is revenue without tax: the old invoice keeps its tax and
    # fee, its shares shrink in proportion to the revenue it still holds.
    kept = Fraction(1699 - credit, 1699)
    old_first, old_second = half_up(456 * kept), half_up(300 * kept)
    old_platform = 1848 - credit - 149 - 255 - old_first - old_second
    # The new invoice takes the credit now, as part of its whole revenue
    # (2999, exclusive tax): the first product's share of that part.
    new_tax, new_fee = new.amounts.tax_amount, new.plan.platform_fee_amount
    taken_first = half_up(Fraction(456 * credit, 2999))

    change = statement(t.platform, t.platform_id, change_from, change_to)
    assert change.lines == {
        ("", b.plan_id, ""): amounts(credit_issued=credit, platform_share=old_platform - 688),
        (t.app_id, b.plan_id, b.first): amounts(publisher_share=old_first - 456),
        (t.other_app_id, b.plan_id, b.second): amounts(publisher_share=old_second - 300),
        ("", solo, ""): amounts(
            cycles=1, credit_applied=credit, platform_share=credit - taken_first
        ),
        (t.app_id, solo, b.first): amounts(cycles=1, publisher_share=taken_first),
    }

    pay(t.platform, sub_id, new.invoice_id, new.amounts.total_amount)
    end = clock.tick()
    whole = statement(t.platform, t.platform_id, start, end)
    assert whole.lines[("", solo, "")] == amounts(
        cycles=1,
        gross=new.amounts.total_amount,
        credit_applied=credit,
        tax=new_tax,
        platform_fee=new_fee,
        platform_share=new.amounts.total_amount + credit - new_tax - new_fee - 456,
    )
    assert whole.lines[(t.app_id, solo, b.first)] == amounts(cycles=1, publisher_share=456)
    assert whole.lines[("", b.plan_id, "")] == amounts(
        cycles=1,
        gross=1848,
        credit_issued=credit,
        tax=149,
        platform_fee=255,
        platform_share=old_platform,
    )
    # Every unit is somewhere: what came in is what the parts hold.
    totals = whole.totals
    came_in = (
        totals["gross"] - totals["refunded"] + totals["credit_applied"] - totals["credit_issued"]
    )
    parts = ("tax", "platform_fee", "publisher_share", "platform_share")
    assert came_in == sum(totals[name] for name in parts) == 1848 + new.amounts.total_amount
