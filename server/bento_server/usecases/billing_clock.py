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
from datetime import datetime, timedelta

import peewee

from bento_server.store.models import Invoice, Subscription
from bento_server.usecases import events, invoicing, subscriptions
from bento_server.usecases.context import Deps

log = logging.getLogger("bento.scheduler")

BATCH = 200
RENEWING = ("trialing", "active", "past_due", "unpaid")
# Statuses whose current invoice can lapse.
LAPSING = ("active", "past_due", "unpaid")
UNPAID = ("unpaid", "failed", "processing", "canceled")


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
    due = sub.next_billing_date
    cycle = sub.current_cycle + 1
    if invoicing.phase_of(sub, cycle) is None:
        # end_behavior close: past the last finite phase the subscription ends.
        sub.status_before_cancel, sub.status = sub.status, "canceled"
        sub.canceled_at = due
        subscriptions.end(deps, sub, due)
        subscriptions.event(deps, events.SUBSCRIPTION_CANCELED, sub, due, reason="plan_closed")
        return
    sub.current_cycle = cycle
    sub.period_start, sub.period_end = invoicing.cycle_period(sub, cycle)
    sub.next_billing_date = sub.period_end
    invoice = (
        Invoice.select(Invoice.id, Invoice.status, Invoice.phase_id)
        .where((Invoice.subscription == sub.id) & (Invoice.billing_cycle == cycle))
        .first()
    )
    if invoice is None:
        invoice = invoicing.issue(deps, sub, cycle, due)
    else:
        sub.current_phase_id = invoice.phase_id
    if sub.status == "trialing":
        sub.status = "active"
        sub.trial_end = sub.trial_end or due
    sub.updated_at = due
    if invoice.status == "paid":
        # Paid ahead (RenewSubscription): the new period starts paid.
        sub.payment_status = "paid"
        sub.grace_period_end = sub.period_end + timedelta(days=sub.grace_period_days)
        subscriptions.event(deps, events.SUBSCRIPTION_RENEWED, sub, due, invoice_id=invoice.id)
    else:
        sub.payment_status = "unpaid"
        sub.grace_period_end = grace_deadline(sub)
        subscriptions.event(deps, events.SUBSCRIPTION_UPDATED, sub, due, change="period_started")


def grace_deadline(sub: Subscription) -> datetime:
    """When an unpaid invoice of the current period lapses.

    period.start + grace_period_days, as the rules say; a plan without grace
    days lapses at the period's end, not the moment its invoice is issued.
    """
    start: datetime = sub.period_start
    end: datetime = sub.period_end
    if sub.grace_period_days <= 0:
        return end
    return start + timedelta(days=sub.grace_period_days)


# --- grace lapses ---------------------------------------------------------------


def _lapse_due(at: datetime | None = None) -> peewee.Expression:
    due = (
        Subscription.status.in_(LAPSING)
        & Subscription.payment_status.in_(UNPAID)
        & Subscription.grace_period_end.is_null(False)
    )
    return due if at is None else due & (Subscription.grace_period_end <= at)


def next_grace_lapse(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(Subscription.grace_period_end, _lapse_due(), skip)


def run_grace_lapses(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    def lapse(sub: Subscription) -> None:
        deadline = sub.grace_period_end
        sub.status_before_cancel, sub.status = sub.status, "canceled"
        sub.canceled_at = deadline
        sub.cancel_at_period_end = False
        sub.updated_at = deadline
        subscriptions.end(deps, sub, deadline)
        subscriptions.event(
            deps, events.SUBSCRIPTION_CANCELED, sub, deadline, reason="grace_period_lapsed"
        )

    return _each_due(deps, _lapse_due(at), Subscription.grace_period_end, skip, lapse, limit)


# --- ends of cancels at period end ----------------------------------------------


def _end_due(at: datetime | None = None) -> peewee.Expression:
    due = (
        (Subscription.status == "canceled")
        & (Subscription.end_handled == False)  # noqa: E712
        & Subscription.ended_at.is_null(False)
    )
    return due if at is None else due & (Subscription.ended_at <= at)


def next_period_end(deps: Deps, skip: set[str]) -> datetime | None:
    return _next(Subscription.ended_at, _end_due(), skip)


def run_period_ends(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    def finish(sub: Subscription) -> None:
        ended = sub.ended_at
        sub.updated_at = ended
        subscriptions.end(deps, sub, ended)
        subscriptions.event(deps, events.SUBSCRIPTION_CANCELED, sub, ended, reason="period_ended")

    return _each_due(deps, _end_due(at), Subscription.ended_at, skip, finish, limit)
