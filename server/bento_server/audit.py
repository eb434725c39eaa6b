"""`bento audit`: the money invariants, checked over a whole live store.

Read only: the store is opened so that it cannot write (SQLite
``query_only``, a PostgreSQL ``READ ONLY`` transaction) and every check
reads one snapshot (one read transaction; REPEATABLE READ on PostgreSQL),
so a server may keep serving meanwhile. Sums are taken in SQL (GROUP BY,
window functions), only the offending rows come back where SQL can tell,
and rows are streamed (a server-side cursor on PostgreSQL), never loaded
all at once: a store of 100,000 subscriptions is a few passes over its
tables, in seconds and constant memory.

Each check is a function yielding ``Violation``s; ``run_audit`` runs them
all. The invariants (docs/rules.md, "Billing rules"):

- invoice payments: ``amount_paid`` is the succeeded charges less the
  refunds that returned money, ``amount_refunded`` is those refunds, and
  ``0 <= amount_paid <= total_amount``;
- invoice status: an open invoice is not fully paid; a paid one was paid
  in full (``amount_paid + amount_refunded >= total_amount``) or is a zero
  invoice with ``no_payment_required``;
- invoice amounts: ``net = subtotal - proration_credit - credit_applied``
  is not negative; the tax and total follow the tax behaviour; the
  platform fee is ``round((total - tax) * fee_rate)``;
- retries: the count never passes the maximum, and the last one schedules
  no next retry;
- periods: a subscription's billed cycles do not overlap;
- credit: what a subscription's invoices handed back as credit, less what
  its invoices took, is its credit balance plus its refund due; no invoice
  hands back more than it was paid and took; neither is negative;
- allocations: for every invoice, tax + fee + publisher shares + platform
  share is what it holds, to the unit (docs/rules.md, "Revenue
  distribution");
- access fails closed: no running subscription is more than a day past its
  period end, and no subscription is pending more than a day past its
  deadline.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

import peewee

from bento_server.billing.money import round_half_up
from bento_server.billing.statuses import MONEY_RETURNED, SubscriptionStatus
from bento_server.clock import SystemClock
from bento_server.store.database import Store, open_database
from bento_server.store.fields import from_micros, to_micros
from bento_server.store.migrations import LATEST_VERSION, current_version
from bento_server.store.models import (
    Allocation,
    AllocationShare,
    Invoice,
    Payment,
    Subscription,
    TestClockState,
)

# Statuses that grant access while the period runs.
RUNNING = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
# How far past a due renewal or deadline the clock may be before it is reported.
SLACK = timedelta(days=1)
_DAY_US = 86_400 * 1_000_000
# Products of an amount and a rate are exact at 60 digits.
_EXACT = Context(prec=60)
_ONE = Decimal(1)

# SQLite is opened so that it cannot write: no journal mode change, no
# synchronous setting, and query_only refuses any write statement.
READ_ONLY_SQLITE_PRAGMAS = {"query_only": 1, "foreign_keys": 1, "busy_timeout": 15_000}


@dataclass(frozen=True)
class Violation:
    """One broken invariant: its kind, the IDs it concerns, and what is wrong."""

    kind: str
    ids: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Scope:
    """What one audit looked at: the clock it judged by and the rows it read."""

    now: datetime
    subscriptions: int
    invoices: int
    payments: int


# --- opening the store --------------------------------------------------------------------


def open_read_only(url: str) -> Store:
    """Opens the store at ``url`` so that nothing can be written through it.

    Unlike ``store.database.connect`` it creates nothing: a SQLite file that
    does not exist is an error, not a new empty database.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        raw_path = unquote(url[len("sqlite://") :])
        path = raw_path[1:] if raw_path.startswith("/") else ""
        if path and path != ":memory:" and not Path(path).is_file():
            raise ValueError(f"no database at {url!r}")
    db = open_database(url)
    if isinstance(db, peewee.SqliteDatabase):
        db.init(db.database, pragmas=READ_ONLY_SQLITE_PRAGMAS, check_same_thread=False)
    store = Store(db=db, url=url)
    store.bind()
    return store


@contextlib.contextmanager
def snapshot(store: Store, now: datetime | None = None) -> Iterator[Scope]:
    """One read-only transaction over the store; yields what it holds.

    ``now`` is the instant the access checks judge by: by default the
    store's test clock when one ever ran on it, else the wall clock.
    Raises ValueError when the schema is older than this code's.
    """
    if store.is_postgres:
        with store.db.atomic(isolation_level="REPEATABLE READ"):
            store.db.execute_sql("SET TRANSACTION READ ONLY")
            yield _scope(store, now)
    else:
        with store.read():
            yield _scope(store, now)


def _scope(store: Store, now: datetime | None) -> Scope:
    version = current_version(store)
    if version < LATEST_VERSION:
        raise ValueError(
            f"the database schema is at version {version}, the audit needs {LATEST_VERSION}: "
            "run `bento migrate` first"
        )
    if now is None:
        row = TestClockState.get_or_none(TestClockState.id == 1)
        now = row.now if row is not None else SystemClock().now()
    assert now is not None
    return Scope(
        now=now.astimezone(UTC),
        subscriptions=Subscription.select().count(),
        invoices=Invoice.select().count(),
        payments=Payment.select().count(),
    )


def run_audit(store: Store, now: datetime | None = None) -> list[Violation]:
    """Every violation in the store, in one snapshot."""
    with snapshot(store, now) as scope:
        return list(violations(store, scope))


def violations(store: Store, scope: Scope) -> Iterator[Violation]:
    """Runs every check; call it inside ``snapshot``."""
    yield from check_invoices(store)
    yield from check_periods(store)
    yield from check_credit(store)
    yield from check_allocations(store)
    yield from check_never_started(store)
    yield from check_running_past_period(store, scope.now)
    yield from check_forever_pending(store, scope.now)


def summary(scope: Scope, found: Mapping[str, int]) -> str:
    """The audit's last line: how many violations of each kind, over what."""
    over = (
        f"{scope.subscriptions} subscriptions, {scope.invoices} invoices, "
        f"{scope.payments} payments at {_when(scope.now)}"
    )
    total = sum(found.values())
    if not total:
        return f"audit: no violations in {over}"
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(found.items()))
    return f"audit: {total} violation{'s' if total != 1 else ''} ({kinds}) in {over}"


# --- per invoice --------------------------------------------------------------------------


def _payment_sums() -> Any:
    """Per invoice: the succeeded charges and the refunds that returned money."""
    charge = peewee.Case(
        None, [((Payment.amount > 0) & (Payment.status == "succeeded"), Payment.amount)], 0
    )
    refund = peewee.Case(
        None, [((Payment.amount < 0) & Payment.status.in_(MONEY_RETURNED), Payment.amount * -1)], 0
    )
    return (
        Payment.select(
            Payment.invoice.alias("invoice_id"),
            peewee.fn.SUM(charge).alias("charged"),
            peewee.fn.SUM(refund).alias("refunded"),
        )
        .group_by(Payment.invoice)
        .alias("sums")
    )


def check_invoices(store: Store) -> Iterator[Violation]:
    """Invariants 1 to 4 and the per-invoice half of 6, in one pass over the invoices."""
    sums = _payment_sums()
    rows = _rows(
        store,
        Invoice.select(
            Invoice.id,
            Invoice.subscription,
            Invoice.status,
            Invoice.payment_status,
            Invoice.subtotal,
            Invoice.proration_credit,
            Invoice.credit_applied,
            Invoice.tax_behavior,
            Invoice.tax_rate,
            Invoice.tax_amount,
            Invoice.total_amount,
            Invoice.platform_fee_rate,
            Invoice.platform_fee_amount,
            Invoice.amount_paid,
            Invoice.amount_refunded,
            Invoice.credit_issued,
            Invoice.retries_count,
            Invoice.retries_max,
            Invoice.retries_next_date,
            peewee.fn.COALESCE(sums.c.charged, 0),
            peewee.fn.COALESCE(sums.c.refunded, 0),
        )
        .join(sums, peewee.JOIN.LEFT_OUTER, on=(sums.c.invoice_id == Invoice.id))
        .order_by(Invoice.id),
    )
    for row in rows:
        # SUM arrives as a Decimal from PostgreSQL.
        *columns, charged, refunded = row
        yield from _invoice_violations(_InvoiceRow._make([*columns, int(charged), int(refunded)]))


class _InvoiceRow(NamedTuple):
    id: str
    subscription_id: str
    status: str
    payment_status: str
    subtotal: int
    proration_credit: int
    credit_applied: int
    tax_behavior: str
    tax_rate: float
    tax_amount: int
    total_amount: int
    platform_fee_rate: float
    platform_fee_amount: int
    amount_paid: int
    amount_refunded: int
    credit_issued: int
    retries_count: int
    retries_max: int
    retries_next_date: Any
    charged: int
    refunded: int


def _invoice_violations(i: _InvoiceRow) -> Iterator[Violation]:
    ids = (i.id, i.subscription_id)
    where = f"invoice {i.id} of {i.subscription_id}"

    def violation(kind: str, message: str) -> Violation:
        return Violation(kind, ids, f"{where}: {message}")

    # 1. What was paid is the ledger's charges less its refunds.
    if i.amount_paid != i.charged - i.refunded:
        yield violation(
            "amount_paid",
            f"amount_paid {i.amount_paid} != succeeded {i.charged} - refunds {i.refunded}",
        )
    if i.amount_refunded != i.refunded:
        yield violation(
            "amount_refunded", f"amount_refunded {i.amount_refunded} != refunds {i.refunded}"
        )
    if not 0 <= i.amount_paid <= i.total_amount:
        yield violation(
            "amount_paid_range",
            f"amount_paid {i.amount_paid} outside 0..total_amount {i.total_amount}",
        )

    # 2. The status agrees with what was paid.
    if i.status == "open" and i.amount_paid >= i.total_amount:
        yield violation(
            "invoice_status",
            f"open with amount_paid {i.amount_paid} >= total_amount {i.total_amount}",
        )
    if i.status == "paid":
        free = i.payment_status == "no_payment_required" and i.total_amount == 0
        if not free and i.amount_paid + i.amount_refunded < i.total_amount:
            yield violation(
                "invoice_status",
                f"paid ({i.payment_status}) with amount_paid {i.amount_paid} + "
                f"amount_refunded {i.amount_refunded} < total_amount {i.total_amount}",
            )

    # 3. The amounts are the billing rules applied to the subtotal.
    net = i.subtotal - i.proration_credit - i.credit_applied
    if net < 0:
        yield violation(
            "negative_net",
            f"net {net} = subtotal {i.subtotal} - proration_credit {i.proration_credit} "
            f"- credit_applied {i.credit_applied} is below 0",
        )
    yield from (violation(kind, message) for kind, message in _tax_problems(i, net))
    yield from (violation(kind, message) for kind, message in _fee_problems(i))

    # 4. Retries stop at the maximum, and the last schedules nothing.
    if i.retries_count > i.retries_max:
        yield violation(
            "retries_over_max", f"retries_count {i.retries_count} > retries_max {i.retries_max}"
        )
    elif i.retries_count == i.retries_max and i.retries_next_date is not None:
        yield violation(
            "retry_after_last",
            f"retries_count {i.retries_count} == retries_max {i.retries_max} "
            f"but a next retry is set at {_when(i.retries_next_date)}",
        )

    # 6 (per invoice). Credit handed back comes from what the invoice was paid or took.
    backing = i.amount_paid + i.proration_credit + i.credit_applied
    if i.credit_issued > backing:
        yield violation(
            "credit_issued_excess",
            f"credit_issued {i.credit_issued} > amount_paid {i.amount_paid} + proration_credit "
            f"{i.proration_credit} + credit_applied {i.credit_applied} = {backing}",
        )


def _tax_problems(i: _InvoiceRow, net: int) -> Iterator[tuple[str, str]]:
    behavior = i.tax_behavior
    if behavior == "exclusive":
        if i.total_amount != net + i.tax_amount:
            yield (
                "invoice_total",
                f"total_amount {i.total_amount} != net {net} + tax_amount {i.tax_amount} (exclusive)",
            )
    elif behavior == "inclusive":
        if i.total_amount != net:
            yield "invoice_total", f"total_amount {i.total_amount} != net {net} (inclusive)"
    elif behavior == "none":
        if i.tax_amount != 0 or i.total_amount != net:
            yield (
                "invoice_total",
                f"tax_amount {i.tax_amount} (must be 0) and total_amount {i.total_amount} "
                f"(must be net {net}) with no tax",
            )
        return
    else:
        yield "invoice_total", f"unknown tax_behavior {behavior!r}"
        return
    if not 0 <= i.tax_rate <= 1:  # also NaN
        yield "invoice_tax", f"tax_rate {i.tax_rate!r} outside 0..1"
        return
    rate = Decimal(str(i.tax_rate))
    with localcontext(_EXACT):
        if behavior == "exclusive":
            expected = round_half_up(net * rate)
        else:
            expected = net - round_half_up(Decimal(net) / (_ONE + rate))
    if i.tax_amount != expected:
        yield (
            "invoice_tax",
            f"tax_amount {i.tax_amount} != {expected} for net {net} at {rate} ({behavior})",
        )


def _fee_problems(i: _InvoiceRow) -> Iterator[tuple[str, str]]:
    if not 0 <= i.platform_fee_rate <= 1:  # also NaN
        yield "platform_fee", f"platform_fee_rate {i.platform_fee_rate!r} outside 0..1"
        return
    rate = Decimal(str(i.platform_fee_rate))
    with localcontext(_EXACT):
        expected = round_half_up((i.total_amount - i.tax_amount) * rate)
    if i.platform_fee_amount != expected:
        yield (
            "platform_fee",
            f"platform_fee_amount {i.platform_fee_amount} != round((total_amount "
            f"{i.total_amount} - tax_amount {i.tax_amount}) * {rate}) = {expected}",
        )


# --- per subscription ---------------------------------------------------------------------


def check_periods(store: Store) -> Iterator[Violation]:
    """5. The billed cycles of a subscription do not overlap.

    A window over each subscription's non-void invoices of cycle 1 and up, in
    cycle order, pairs every invoice with the one before it; only the pairs
    where the later one starts before the earlier one ends come back.
    """
    window = peewee.Window(partition_by=[Invoice.subscription], order_by=[Invoice.billing_cycle])
    ordered = (
        Invoice.select(
            Invoice.id.alias("id"),
            Invoice.subscription.alias("subscription_id"),
            Invoice.billing_cycle.alias("cycle"),
            Invoice.period_start.alias("period_start"),
            peewee.fn.LAG(Invoice.id).over(window=window).alias("previous_id"),
            peewee.fn.LAG(Invoice.billing_cycle).over(window=window).alias("previous_cycle"),
            peewee.fn.LAG(Invoice.period_end).over(window=window).alias("previous_end"),
        )
        .where((Invoice.status != "void") & (Invoice.billing_cycle >= 1))
        .window(window)
        .alias("ordered")
    )
    c = ordered.c
    rows = _rows(
        store,
        Invoice.select(
            c.subscription_id,
            c.previous_id,
            c.previous_cycle,
            c.previous_end,
            c.id,
            c.cycle,
            c.period_start,
        )
        .from_(ordered)
        .where(c.previous_end.is_null(False) & (c.period_start < c.previous_end))
        .order_by(c.subscription_id, c.cycle),
    )
    for sub_id, previous_id, previous_cycle, previous_end, invoice_id, cycle, start in rows:
        yield Violation(
            "overlapping_periods",
            (sub_id, previous_id, invoice_id),
            f"subscription {sub_id}: invoice {invoice_id} (cycle {cycle}) starts at "
            f"{_when(start)}, before invoice {previous_id} (cycle {previous_cycle}) ends "
            f"at {_when(previous_end)}",
        )


def check_credit(store: Store) -> Iterator[Violation]:
    """6. Credit handed out less credit taken is what a subscription holds or is owed.

    Sums per subscription in SQL; only the subscriptions that break it come back.
    """
    totals = (
        Invoice.select(
            Invoice.subscription.alias("subscription_id"),
            peewee.fn.SUM(Invoice.credit_issued).alias("issued"),
            peewee.fn.SUM(Invoice.proration_credit + Invoice.credit_applied).alias("taken"),
        )
        .group_by(Invoice.subscription)
        .alias("totals")
    )
    issued = peewee.fn.COALESCE(totals.c.issued, 0)
    taken = peewee.fn.COALESCE(totals.c.taken, 0)
    rows = _rows(
        store,
        Subscription.select(
            Subscription.id, Subscription.credit_balance, Subscription.refund_due, issued, taken
        )
        .join(totals, peewee.JOIN.LEFT_OUTER, on=(totals.c.subscription_id == Subscription.id))
        .where(
            (issued - taken != Subscription.credit_balance + Subscription.refund_due)
            | (Subscription.credit_balance < 0)
            | (Subscription.refund_due < 0)
        )
        .order_by(Subscription.id),
    )
    for sub_id, balance, refund_due, issued_sum, taken_sum in rows:
        handed, took = int(issued_sum), int(taken_sum)
        where = f"subscription {sub_id}"
        if handed - took != balance + refund_due:
            yield Violation(
                "credit_not_conserved",
                (sub_id,),
                f"{where}: credit issued {handed} - credit taken {took} = {handed - took} "
                f"!= credit_balance {balance} + refund_due {refund_due}",
            )
        if balance < 0 or refund_due < 0:
            yield Violation(
                "negative_credit",
                (sub_id,),
                f"{where}: credit_balance {balance} and refund_due {refund_due} must not be negative",
            )


def check_allocations(store: Store) -> Iterator[Violation]:
    """10. The allocation law (docs/rules.md, "Revenue distribution"): for
    every invoice, its allocations' tax + fee + publisher shares + platform
    share, and what their movements brought in, are each what the invoice
    holds (paid net of refunds, plus credit taken, less credit handed back),
    to the unit; no tax, fee or share is negative; every allocation is in
    the invoice's currency.

    Sums per invoice in SQL; only the invoices that break it come back.
    """
    moved = (
        Allocation.paid - Allocation.refunded + Allocation.credit_applied - Allocation.credit_issued
    )
    posted = (
        Allocation.select(
            Allocation.invoice.alias("invoice_id"),
            peewee.fn.SUM(Allocation.tax).alias("tax"),
            peewee.fn.SUM(Allocation.platform_fee).alias("fee"),
            peewee.fn.SUM(Allocation.platform_share).alias("platform"),
            peewee.fn.SUM(moved).alias("moved"),
            peewee.fn.MIN(Allocation.currency).alias("low"),
            peewee.fn.MAX(Allocation.currency).alias("high"),
        )
        .group_by(Allocation.invoice)
        .alias("posted")
    )
    by_product = (
        AllocationShare.select(
            Allocation.invoice.alias("invoice_id"),
            AllocationShare.product_id,
            peewee.fn.SUM(AllocationShare.amount).alias("amount"),
        )
        .join(Allocation, on=(AllocationShare.allocation == Allocation.id))
        .group_by(Allocation.invoice, AllocationShare.product_id)
        .alias("by_product")
    )
    shares = (
        by_product.select_from(
            by_product.c.invoice_id,
            peewee.fn.SUM(by_product.c.amount).alias("owed"),
            peewee.fn.MIN(by_product.c.amount).alias("least"),
        )
        .group_by(by_product.c.invoice_id)
        .alias("shares")
    )
    held = (
        Invoice.amount_paid
        + Invoice.proration_credit
        + Invoice.credit_applied
        - Invoice.credit_issued
    )
    tax = peewee.fn.COALESCE(posted.c.tax, 0)
    fee = peewee.fn.COALESCE(posted.c.fee, 0)
    platform = peewee.fn.COALESCE(posted.c.platform, 0)
    came_in = peewee.fn.COALESCE(posted.c.moved, 0)
    owed = peewee.fn.COALESCE(shares.c.owed, 0)
    least = peewee.fn.COALESCE(shares.c.least, 0)
    rows = _rows(
        store,
        Invoice.select(
            Invoice.id,
            Invoice.subscription,
            Invoice.currency,
            held,
            tax,
            fee,
            platform,
            owed,
            came_in,
            least,
            posted.c.low,
            posted.c.high,
        )
        .join(posted, peewee.JOIN.LEFT_OUTER, on=(posted.c.invoice_id == Invoice.id))
        .join_from(Invoice, shares, peewee.JOIN.LEFT_OUTER, on=(shares.c.invoice_id == Invoice.id))
        .where(
            (tax + fee + platform + owed != held)
            | (came_in != held)
            | (tax < 0)
            | (fee < 0)
            | (least < 0)
            | (posted.c.low != Invoice.currency)
            | (posted.c.high != Invoice.currency)
        )
        .order_by(Invoice.id),
    )
    for row in rows:
        invoice_id, sub_id, currency, *sums, low, high = row
        value, tax_sum, fee_sum, platform_sum, owed_sum, came, least_share = map(int, sums)
        ids = (invoice_id, sub_id)
        where = f"invoice {invoice_id} of {sub_id}"
        split_sum = tax_sum + fee_sum + platform_sum + owed_sum
        if split_sum != value or came != value:
            yield Violation(
                "allocation_not_collected",
                ids,
                f"{where}: tax {tax_sum} + fee {fee_sum} + publisher shares {owed_sum} + "
                f"platform share {platform_sum} = {split_sum}, allocations brought in {came}, "
                f"the invoice holds {value}",
            )
        if min(tax_sum, fee_sum, least_share) < 0:
            yield Violation(
                "allocation_negative",
                ids,
                f"{where}: tax {tax_sum}, fee {fee_sum} and every publisher share (least "
                f"{least_share}) must not be negative",
            )
        if low is not None and (low != currency or high != currency):
            yield Violation(
                "allocation_currency",
                ids,
                f"{where}: allocations in {low}..{high}, the invoice in {currency}",
            )


def check_never_started(store: Store) -> Iterator[Violation]:
    """9. A subscription that ended before it started consumed nothing: every
    unit paid towards it was handed back (to refund_due)."""
    held = peewee.fn.SUM(
        Invoice.amount_paid
        + Invoice.proration_credit
        + Invoice.credit_applied
        - Invoice.credit_issued
    )
    rows = _rows(
        store,
        Invoice.select(Invoice.subscription, held)
        .join(Subscription, on=(Invoice.subscription == Subscription.id))
        .where(
            (Subscription.status == "canceled") & (Subscription.status_before_cancel == "pending")
        )
        .group_by(Invoice.subscription)
        .having(held != 0)
        .order_by(Invoice.subscription),
    )
    for sub_id, kept in rows:
        yield Violation(
            "kept_unserved",
            (sub_id,),
            f"subscription {sub_id} ended before it started but keeps {int(kept)} paid towards it",
        )


def check_running_past_period(store: Store, now: datetime) -> Iterator[Violation]:
    """7. Access fails closed: a running subscription more than a day past its
    period end is a renewal the billing clock failed to do."""
    rows = _rows(
        store,
        Subscription.select(Subscription.id, Subscription.status, Subscription.period_end)
        .where(Subscription.status.in_(RUNNING) & (Subscription.period_end < now - SLACK))
        .order_by(Subscription.id),
    )
    for sub_id, status, period_end in rows:
        yield Violation(
            "stale_period",
            (sub_id,),
            f"subscription {sub_id}: {status} but its period ended at {_when(period_end)}, "
            f"more than a day before {_when(now)}: the billing clock did not renew or end it",
        )


def check_forever_pending(store: Store, now: datetime) -> Iterator[Violation]:
    """8. A pending subscription ends at its first invoice's deadline (its
    ``grace_period_end``: creation + max(grace days, 1), carried over by a plan
    change); one still pending more than a day after it, or with none, is stuck."""
    rows = _rows(
        store,
        Subscription.select(Subscription.id, Subscription.created_at, Subscription.grace_period_end)
        .where(
            (Subscription.status == "pending")
            & (
                Subscription.grace_period_end.is_null()
                | (Subscription.grace_period_end < to_micros(now - SLACK))
            )
        )
        .order_by(Subscription.id),
    )
    for sub_id, created_at, deadline in rows:
        due = "none" if deadline is None else _when(_instant(deadline))
        yield Violation(
            "forever_pending",
            (sub_id,),
            f"subscription {sub_id}: pending since {_when(_instant(created_at))}, its deadline "
            f"{due} passed more than a day before {_when(now)}",
        )


# --- helpers --------------------------------------------------------------------------------

# Rows a PostgreSQL cursor hands over per round trip.
_FETCH = 5_000
_cursor_numbers = itertools.count(1)


def _rows(store: Store, query: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` as the database stores them (instants in
    microseconds), streamed.

    SQLite's cursor steps through the result as it is read. psycopg2's
    ordinary cursor would fetch the whole result into memory at once, so
    PostgreSQL reads go through a server-side cursor, a batch at a time
    (inside the audit's transaction, which a cursor needs).
    """
    sql, params = query.sql()
    if not store.is_postgres:
        yield from store.db.execute_sql(sql, params)
        return
    name = f"bento_audit_{next(_cursor_numbers)}"
    store.db.execute_sql(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", params)
    try:
        while batch := store.db.execute_sql(f"FETCH {_FETCH} FROM {name}").fetchall():
            yield from batch
    finally:
        # Gone already if the transaction ended before the rows were all read.
        with contextlib.suppress(peewee.DatabaseError):
            store.db.execute_sql(f"CLOSE {name}")


def _instant(value: Any) -> datetime:
    """An instant as read: microseconds since the epoch (or a datetime already)."""
    if isinstance(value, datetime):
        return value
    return from_micros(int(value))


def _when(value: Any) -> str:
    return _instant(value).astimezone(UTC).isoformat().replace("+00:00", "Z")
