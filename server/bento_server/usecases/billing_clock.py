"""The billing clock's work: renewals (trial ends among them), grace lapses
and the ends of subscriptions canceled at period end.

Each kind finds what fell due by an indexed column and handles it in
batches: one write transaction claims up to ``BATCH`` due subscriptions
with one query (on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so replicas share
the work and never take the same row), reads their rows and accounts with
three more, and runs every subscription's step, their writes sent together
(``_Stepper``). If that fails, the batch is run again with each step in
its own savepoint: a step that fails is rolled back alone, logged, and
skipped until the next sweep; the rest of the batch commits. Every
subscription is still decided by the billing core's own rule (``account.renew``, ``lapse``, ``expire``), on its
row as read under the lock, so running the work twice, or from two
processes at once, changes nothing the second time, and a crash leaves each
subscription of a batch either done once or not at all. Work is done "at"
its due time, so a server that was down catches up with the invoices and
events it would have written on time.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import peewee

from bento_server.billing import account
from bento_server.billing.statuses import SubscriptionStatus
from bento_server.store import statements
from bento_server.store.models import Subscription
from bento_server.usecases import accounts, subscriptions
from bento_server.usecases.context import Deps

log = logging.getLogger("bento.scheduler")

# Subscriptions claimed per transaction: one commit (one fsync on SQLite)
# and the batch's reads are shared by this many.
BATCH = 100
# A batch takes no further subscription after this long, so the locks it
# holds (SQLite's one write lock, the claimed rows on PostgreSQL) never keep
# the API's writers waiting much longer than this. What it left stays due
# for the next batch.
BATCH_SECONDS = 0.25
RENEWING = tuple(sorted(account.RENEWING))
# Every status but a trial's can owe an invoice whose deadline passes:
# a cancel or a pause does not stop a debt's clock.
LAPSING = tuple(s for s in SubscriptionStatus if s != SubscriptionStatus.TRIALING)


class _Batch:
    """What the subscriptions of one batch share: their rows and accounts,
    read once for all of them, and the platforms' fee rates."""

    def __init__(self, deps: Deps, ids: list[str]) -> None:
        self._store = deps.store
        self.rows: dict[str, Subscription] = {}
        self.loaded: dict[str, accounts.Loaded] = {}
        self.handled: set[str] = set()
        self._fee_rates: dict[str, float] = {}
        # A row or invoice the store cannot turn into values must fail only
        # its own subscription: then each reads its own, in its savepoint.
        try:
            with deps.store.savepoint():
                among = statements.listed(deps.store, ids)
                self.rows = {
                    r.id: r for r in statements.SUBSCRIPTIONS_AMONG.all(deps.store, ids=among)
                }
        except Exception:
            log.warning("a batch's subscriptions could not be read together", exc_info=True)
            return
        try:
            with deps.store.savepoint():
                self.loaded = accounts.load_many(deps.store, list(self.rows.values()))
        except Exception:
            log.warning("a batch's invoices could not be read together", exc_info=True)

    def fee_rate(self, platform_id: str) -> float:
        rate = self._fee_rates.get(platform_id)
        if rate is None:
            rate = self._fee_rates[platform_id] = accounts.fee_rate(platform_id)
        return rate

    def take(self, subscription_id: str, due: peewee.Expression) -> accounts.Loaded | None:
        """The subscription's account to work on, or None if it is not due any more.

        A step that ended a subscription may have resumed those that waited
        for it (plan levels), writing rows this batch read before: such a
        row is read again, as is one the batch could not read."""
        self.handled.add(subscription_id)
        row = self.rows.get(subscription_id)
        if row is not None and row.paused_for not in self.handled:
            return self.loaded.get(subscription_id) or accounts.load(self._store, row)
        row = Subscription.select().where((Subscription.id == subscription_id) & due).first()
        return None if row is None else accounts.load(self._store, row)


def _claim(deps: Deps, work: _Work, skip: set[str], size: int) -> list[str]:
    """Locks up to ``size`` due subscriptions, earliest first, for this
    transaction; on PostgreSQL those other processes hold are passed over.

    Ordered by the due column alone, which its index gives: ordering ties by
    ID too would sort every subscription due at that instant for each batch.
    The batch's own are put in (due, ID) order here."""
    if skip:
        order = work.kind.order
        query = Subscription.select(Subscription.id, order).where(
            work.due & Subscription.id.not_in(list(skip))
        )
        query = statements.skip_locked(deps.store, query.order_by(order).limit(size))
        rows: list[tuple[Any, ...]] = list(query.tuples())
    else:
        # As nearly every sweep claims: the statement built once.
        until = work.kind.order.db_value(work.until)
        rows = work.kind.claim.rows(deps.store, until=until, size=size)
    return [subscription_id for subscription_id, _ in sorted(rows, key=lambda r: (r[1], r[0]))]


def _claims(due: Callable[[Any], peewee.Expression], order: peewee.Field) -> statements.NamedQuery:
    """The claim of one kind of due work: up to the argument ``size`` of
    the subscriptions due at the argument ``until`` (an instant as stored),
    as (ID, due instant as stored) rows."""
    return statements.NamedQuery(
        lambda: (
            Subscription.select(Subscription.id, order)
            .where(due(statements.argument("until")))
            .order_by(order)
            .limit(statements.argument("size"))
        ),
        skip_locked=True,
    )


# A transition of the core, given the subscription's account and its batch.
Transition = Callable[[_Batch, accounts.Loaded], account.Step]


@dataclass(frozen=True)
class _Kind:
    """One kind of due work: which subscriptions are due by an instant
    (``due``; given None, at any time), by the column ``order``, whose
    instant each one's work is done "at", and the core's transition that
    does it. Its claim is built once."""

    due: Callable[[Any], peewee.Expression]
    order: peewee.Field
    transition: Transition
    claim: statements.NamedQuery = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "claim", _claims(self.due, self.order))


@dataclass(frozen=True)
class _Work:
    """A kind of due work, of what fell due up to ``until``."""

    kind: _Kind
    until: datetime
    due: peewee.Expression = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "due", self.kind.due(self.until))

    def at(self, sub: Subscription) -> datetime:
        """The time the subscription's work is done "at"."""
        return getattr(sub, self.kind.order.name)  # type: ignore[no-any-return]


def _each_due(deps: Deps, work: _Work, skip: set[str], limit: int | None) -> int:
    """Runs ``work`` on every subscription it finds due (at most ``limit``),
    a batch per transaction.

    On PostgreSQL ``POSTGRES_WORKERS`` sweep side by side, each claiming
    its own batches as replicas do (``FOR UPDATE SKIP LOCKED``), so that
    one's waits on the database overlap another's work; SQLite has one
    writer at a time, so one sweeps."""
    quota = _Quota(limit)
    sweep = functools.partial(_sweep, deps, work, skip, quota)
    if deps.store.is_postgres and (limit is None or limit > BATCH):
        others = [_workers().submit(sweep) for _ in range(POSTGRES_WORKERS - 1)]
        try:
            sweep()
        finally:
            for other in others:
                other.result()
    else:
        sweep()
    return quota.done


# Sweepers side by side on PostgreSQL (the calling thread among them).
POSTGRES_WORKERS = 2
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    """Threads kept for the sweeps: each keeps its connection (and the
    statements prepared on it) from one sweep to the next."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(POSTGRES_WORKERS - 1, thread_name_prefix="bento-sweep")
        return _pool


class _Quota:
    """How many of ``limit`` the sweepers of one kind may still claim."""

    def __init__(self, limit: int | None) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._claimed = 0
        self.done = 0

    def claim(self, size: int) -> int:
        with self._lock:
            if self._limit is not None:
                size = min(size, self._limit - self._claimed)
            self._claimed += max(size, 0)
            return max(size, 0)

    def settle(self, claimed: int, done: int) -> None:
        """A batch took ``claimed`` of the quota and did ``done``: the rest goes back."""
        with self._lock:
            self._claimed -= claimed - done
            self.done += done


def _sweep(deps: Deps, work: _Work, skip: set[str], quota: _Quota) -> None:
    # As many as the last batch's pace lets one batch do in BATCH_SECONDS:
    # claiming more would read rows only to leave them to the next batch.
    fits = BATCH
    while size := quota.claim(fits):
        began = time.monotonic()
        step = _Stepper(deps, work, began)
        ids: list[str] = []
        committed = False
        try:
            with deps.store.write():
                ids = _claim(deps, work, skip, size)
                if not ids:
                    return  # nothing due, or every candidate is another process's
                try:
                    with deps.store.savepoint(flush=True), deps.store.held_writes():
                        step.whole(_Batch(deps, ids), ids)
                except Exception:
                    log.info(
                        "a batch failed as a whole; its subscriptions go one by one",
                        exc_info=True,
                    )
                    # Read again: the pass that failed changed the rows in memory.
                    step.each(_Batch(deps, ids), ids, skip)
            committed = True
        finally:
            quota.settle(size, step.progressed if committed else 0)
        if step.progressed == 0 and skip.isdisjoint(ids):
            return  # what was claimed was done meanwhile
        if len(ids) < size and not step.cut_short:
            # That was all there was: no transaction more only to find
            # nothing. What the batch itself made due, the sweep sees next.
            return
        if step.progressed:
            pace = (time.monotonic() - began) / step.progressed
            fits = max(1, min(BATCH, int(BATCH_SECONDS / pace)))


class _Stepper:
    """Runs one batch's transitions: ``whole`` all in one piece, the way a
    batch nearly always goes (no savepoint per subscription, its writes held
    and sent together: ``Store.held_writes``), or, when that failed, ``each``
    in its own savepoint, so a subscription that fails is rolled back
    alone, logged, and skipped until the next sweep."""

    def __init__(self, deps: Deps, work: _Work, began: float) -> None:
        self._deps = deps
        self._work = work
        self._began = began
        self.progressed = 0
        self.cut_short = False

    def whole(self, batch: _Batch, ids: list[str]) -> None:
        if len(batch.rows) < len(ids):
            raise LookupError("the batch's rows could not all be read together")
        for subscription_id in ids:
            if self._out_of_time():
                break
            if self._one(batch, subscription_id):
                self.progressed += 1

    def each(self, batch: _Batch, ids: list[str], skip: set[str]) -> None:
        self.progressed = 0
        self.cut_short = False
        for subscription_id in ids:
            if self._out_of_time():
                break
            try:
                with self._deps.store.savepoint(flush=True):
                    if self._one(batch, subscription_id):
                        self.progressed += 1
            except Exception:
                log.exception(
                    "due work on %s failed; skipped until the next sweep", subscription_id
                )
                skip.add(subscription_id)

    def _out_of_time(self) -> bool:
        if self.progressed and time.monotonic() - self._began > BATCH_SECONDS:
            self.cut_short = True  # the rest stays due, for the next batch
        return self.cut_short

    def _one(self, batch: _Batch, subscription_id: str) -> bool:
        """The subscription's transition, written; False if it was not due any more."""
        loaded = batch.take(subscription_id, self._work.due)
        if loaded is None:
            return False  # done meanwhile
        step = self._work.kind.transition(batch, loaded)
        loaded.row.updated_at = self._work.at(loaded.row)
        subscriptions.write_step(self._deps, loaded, step)
        return True


def _next(kind: _Kind, skip: set[str]) -> datetime | None:
    """When the first subscription of ``kind`` falls due (None: none will)."""
    query = Subscription.select(peewee.fn.MIN(kind.order)).where(kind.due(None))
    if skip:
        query = query.where(Subscription.id.not_in(list(skip)))
    value = query.scalar()
    return None if value is None else kind.order.python_value(value)


# --- renewals -------------------------------------------------------------------


def _renewal_due(at: datetime | None = None) -> peewee.Expression:
    due = Subscription.status.in_(RENEWING) & Subscription.next_billing_date.is_null(False)
    return due if at is None else due & (Subscription.next_billing_date <= at)


def _renew(batch: _Batch, loaded: accounts.Loaded) -> account.Step:
    """The period ended: the next one starts with its invoice, or the plan closes."""
    return account.renew(loaded.account, batch.fee_rate(loaded.row.platform_id))


_RENEWALS = _Kind(_renewal_due, Subscription.next_billing_date, _renew)


def next_renewal(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(_RENEWALS, skip)


def run_renewals(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    return _each_due(deps, _Work(_RENEWALS, at), skip, limit)


# --- grace lapses ---------------------------------------------------------------


def _lapse_due(at: datetime | None = None) -> peewee.Expression:
    # grace_period_end is set exactly while an invoice whose period began is unpaid.
    due = Subscription.status.in_(LAPSING) & Subscription.grace_period_end.is_null(False)
    return due if at is None else due & (Subscription.grace_period_end <= at)


_LAPSES = _Kind(
    _lapse_due, Subscription.grace_period_end, lambda batch, loaded: account.lapse(loaded.account)
)


def next_grace_lapse(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(_LAPSES, skip)


def run_grace_lapses(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    return _each_due(deps, _Work(_LAPSES, at), skip, limit)


# --- ends of cancels at period end ----------------------------------------------


def _end_due(at: datetime | None = None) -> peewee.Expression:
    due = (
        (Subscription.status == SubscriptionStatus.CANCELED)
        & (Subscription.end_handled == False)  # noqa: E712
        & Subscription.ended_at.is_null(False)
    )
    return due if at is None else due & (Subscription.ended_at <= at)


_ENDS = _Kind(_end_due, Subscription.ended_at, lambda batch, loaded: account.expire(loaded.account))


def next_period_end(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(_ENDS, skip)


def run_period_ends(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    return _each_due(deps, _Work(_ENDS, at), skip, limit)
