"""The billing clock's work: renewals (trial ends among them), grace lapses
and the ends of subscriptions canceled at period end.

Each kind finds what fell due by an indexed column and handles one
subscription per transaction, re-checking under the row lock that the work
is still due: running it twice, or from two processes at once, changes
nothing the second time. On PostgreSQL, rows another process holds are
skipped (FOR UPDATE SKIP LOCKED) rather than waited for. Work is done "at"
its due time, so a server that was down catches up with the invoices and
events it would have written on time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import peewee

from bento_server.billing import account
from bento_server.billing.statuses import SubscriptionStatus
from bento_server.store.models import Subscription
from bento_server.usecases import accounts, subscriptions
from bento_server.usecases.context import Deps

log = logging.getLogger("bento.scheduler")

BATCH = 200
RENEWING = tuple(sorted(account.RENEWING))
# Every status but a trial's can owe an invoice whose deadline passes:
# a cancel or a pause does not stop a debt's clock.
LAPSING = tuple(s for s in SubscriptionStatus if s != SubscriptionStatus.TRIALING)


def _claim(deps: Deps, query: peewee.ModelSelect) -> Subscription | None:
    """Locks one subscription for this transaction, or None if another has it."""
    if deps.store.is_postgres:
        query = query.for_update("FOR UPDATE SKIP LOCKED")
    return query.first()


def _each_due(
    deps: Deps,
    due: peewee.Expression,
    order: peewee.Field,
    skip: set[str],
    handle: Callable[[Subscription], None],
    limit: int | None,
) -> int:
    """Runs ``handle`` on every subscription matching ``due`` (at most
    ``limit``), one per transaction."""
    done = 0
    while limit is None or done < limit:
        query = Subscription.select(Subscription.id).where(due)
        if skip:
            query = query.where(Subscription.id.not_in(list(skip)))
        batch = BATCH if limit is None else min(BATCH, limit - done)
        ids = [row.id for row in query.order_by(order).limit(batch)]
        if not ids:
            return done
        progressed = 0
        for subscription_id in ids:
            try:
                with deps.store.write():
                    sub = _claim(
                        deps,
                        Subscription.select().where((Subscription.id == subscription_id) & due),
                    )
                    if sub is None:
                        continue  # done meanwhile, or held by another process
                    handle(sub)
                    sub.save()
                progressed += 1
            except Exception:
                log.exception(
                    "due work on %s failed; skipped until the next sweep", subscription_id
                )
                skip.add(subscription_id)
        done += progressed
        if progressed == 0:
            return done  # every candidate is another process's now
    return done


def _next(due_column: peewee.Field, where: peewee.Expression, skip: set[str]) -> datetime | None:
    query = Subscription.select(peewee.fn.MIN(due_column)).where(where)
    if skip:
        query = query.where(Subscription.id.not_in(list(skip)))
    value = query.scalar()
    return None if value is None else due_column.python_value(value)


# --- renewals -------------------------------------------------------------------


def _renewal_due(at: datetime | None = None) -> peewee.Expression:
    due = Subscription.status.in_(RENEWING) & Subscription.next_billing_date.is_null(False)
    return due if at is None else due & (Subscription.next_billing_date <= at)


def next_renewal(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(Subscription.next_billing_date, _renewal_due(), skip)


def run_renewals(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    def renew(sub: Subscription) -> None:
        _start_next_period(deps, sub)

    return _each_due(deps, _renewal_due(at), Subscription.next_billing_date, skip, renew, limit)


def _start_next_period(deps: Deps, sub: Subscription) -> None:
    """The period ended: the next one starts with its invoice, or the plan closes."""
    fee_rate = accounts.fee_rate(sub.platform_id)
    _carry_out(deps, sub, sub.next_billing_date, lambda held: account.renew(held, fee_rate))


def _carry_out(
    deps: Deps,
    sub: Subscription,
    due: datetime,
    transition: Callable[[account.Account], account.Step],
) -> None:
    """Runs one transition of the core on ``sub`` "at" ``due`` and writes it."""
    loaded = accounts.load(sub)
    step = transition(loaded.account)
    sub.updated_at = due
    subscriptions.write_step(deps, loaded, step)


# --- grace lapses ---------------------------------------------------------------


def _lapse_due(at: datetime | None = None) -> peewee.Expression:
    # grace_period_end is set exactly while an invoice whose period began is unpaid.
    due = Subscription.status.in_(LAPSING) & Subscription.grace_period_end.is_null(False)
    return due if at is None else due & (Subscription.grace_period_end <= at)


def next_grace_lapse(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(Subscription.grace_period_end, _lapse_due(), skip)


def run_grace_lapses(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    def lapse(sub: Subscription) -> None:
        _carry_out(deps, sub, sub.grace_period_end, account.lapse)

    return _each_due(deps, _lapse_due(at), Subscription.grace_period_end, skip, lapse, limit)


# --- ends of cancels at period end ----------------------------------------------


def _end_due(at: datetime | None = None) -> peewee.Expression:
    due = (
        (Subscription.status == SubscriptionStatus.CANCELED)
        & (Subscription.end_handled == False)  # noqa: E712
        & Subscription.ended_at.is_null(False)
    )
    return due if at is None else due & (Subscription.ended_at <= at)


def next_period_end(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(Subscription.ended_at, _end_due(), skip)


def run_period_ends(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    def finish(sub: Subscription) -> None:
        _carry_out(deps, sub, sub.ended_at, account.expire)

    return _each_due(deps, _end_due(at), Subscription.ended_at, skip, finish, limit)
