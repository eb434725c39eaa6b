"""Subscriptions: create, read, update, cancel, pause, resume, renew, change plan.

Every operation that changes a subscription locks its row first (and any
invoice after it, always in that order), decides with the pure rules of
``bento_server.billing``, and writes the change with its events in one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bento_server import ids
from bento_server.billing.money import proration_credit
from bento_server.billing.periods import add_interval, period_bounds
from bento_server.billing.status import check_transition
from bento_server.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from bento_server.store.models import Invoice, Plan, Platform, Subscription
from bento_server.usecases import activation, events, features, invoicing, paging, scoping
from bento_server.usecases.context import Deps, Principal

# Statuses of a subscription the user still holds (ALREADY_EXISTS guards
# against a second one to the same plan); canceled ones hold until ended_at.
LIVE = ("pending", "trialing", "active", "past_due", "unpaid", "paused")
# Statuses that hold the one active place on a single-active platform.
HOLDS_ACCESS = ("trialing", "active", "past_due")


@dataclass(frozen=True)
class NewSubscription:
    """What CreateSubscription asks for, checked by the transport."""

    session_id: str
    plan_id: str
    region: str
    tax_rate: float
    tax_type: str
    tax_jurisdiction: str
    tax_behavior: str
    tax_note: str
    device_info: dict[str, Any]
    metadata: dict[str, Any]


@dataclass
class Changes:
    """What UpdateSubscription asks for: None means "leave alone"."""

    status: str | None = None
    payment_method_id: str | None = None
    cancel_at_period_end: bool | None = None
    plan_id: str | None = None
    activation_url: str | None = None
    activation_token: str | None = None
    tax: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    subscription: Subscription
    invoice: Invoice | None = None
    invoices: tuple[Invoice, ...] = ()
    # A trial opens its activation session at once; the codes, for this
    # response only.
    activation: activation.Opened | None = None


def _touch(sub: Subscription, now: datetime, ip: str) -> None:
    sub.updated_at = now
    if ip:
        sub.updated_ip = ip


def event(deps: Deps, kind: str, sub: Subscription, now: datetime, **data: Any) -> None:
    events.append(deps, kind, sub, now, app_ids=events.plan_app_ids(sub.plan_id), data=data or None)


# --- create -------------------------------------------------------------------


def create(deps: Deps, principal: Principal, request: NewSubscription, ip: str) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        plan = scoping.plan(principal, request.plan_id)
        platform = Platform.get_by_id(plan.platform_id)
        if plan.status != "active":
            raise FailedPrecondition(
                f"plan {plan.id!r} is {plan.status}, not active", "plan_not_active"
            )
        if plan.free:
            raise FailedPrecondition(
                f"plan {plan.id!r} is free: every user of the platform holds it already",
                "plan_is_free",
            )
        phases = plan.prices.get(request.region)
        if not phases:
            raise InvalidArgument.field(
                "region", f"plan {plan.id!r} is not priced in {request.region!r}"
            )
        # Serializes creates for one user, so two concurrent creates cannot
        # both pass the checks below.
        deps.store.lock(f"session:{plan.platform_id}:{request.session_id}")
        _refuse_duplicate(plan, request.session_id, now)

        sub = Subscription(
            id=ids.new_id(ids.SUBSCRIPTION),
            platform=plan.platform_id,
            plan=plan.id,
            session_id=request.session_id,
            region=request.region,
            currency=phases[0]["price"]["currency_code"],
            phases=phases,
            metadata=request.metadata,
            device_info=request.device_info,
            tax_rate=request.tax_rate,
            tax_type=request.tax_type,
            tax_jurisdiction=request.tax_jurisdiction,
            tax_behavior=request.tax_behavior,
            tax_note=request.tax_note,
            created_ip=ip,
            updated_ip=ip,
            created_at=now,
            updated_at=now,
        )
        _take_plan(sub, plan)
        if plan.free_trial_days > 0:
            trial_end = now + timedelta(days=plan.free_trial_days)
            sub.status, sub.payment_status = "trialing", "no_payment_required"
            sub.trial_days, sub.trial_end = plan.free_trial_days, trial_end
            sub.billing_anchor, sub.current_cycle = trial_end, 0
            sub.period_start, sub.period_end = now, trial_end
        else:
            sub.status, sub.payment_status = "pending", "unpaid"
            sub.billing_anchor, sub.current_cycle = now, 1
            sub.period_start, sub.period_end = period_bounds(
                now, sub.billing_unit, sub.billing_value, 0
            )
        sub.next_billing_date = sub.period_end
        sub.grace_period_end = sub.period_end + timedelta(days=sub.grace_period_days)
        waits_for = _single_active_place(deps, platform, plan, sub, now)
        if waits_for is not None:
            sub.status_before_pause, sub.status = sub.status, "paused"
            sub.paused_at, sub.paused_for = now, waits_for.id
        sub.save(force_insert=True)
        event(deps, events.SUBSCRIPTION_CREATED, sub, now)
        features.sync(deps, sub, now)
        if sub.current_cycle == 0:
            invoice = invoicing.issue(deps, sub, 0, now, period=(now, sub.period_end), ip=ip)
        else:
            # A subscription waiting for its turn gets its first invoice as a
            # draft: it is finalized, with its period, when it resumes.
            status = "draft" if sub.status == "paused" else "open"
            invoice = invoicing.issue(deps, sub, 1, now, ip=ip, status=status)
        if sub.status == "paused":
            event(deps, events.SUBSCRIPTION_PAUSED, sub, now, paused_for=sub.paused_for)
        opened = None
        if sub.status == "trialing":
            opened = activation.open_session(deps, sub, invoice, now)
        sub.save()
        return Outcome(sub, invoice, activation=opened)


def _take_plan(sub: Subscription, plan: Plan) -> None:
    sub.plan = plan.id
    sub.plan_name = plan.name
    sub.plan_type = plan.plan_type
    sub.plan_tier = plan.tier
    sub.billing_unit = plan.billing_unit
    sub.billing_value = plan.billing_value
    sub.grace_period_days = plan.grace_period_days
    sub.end_behavior = plan.end_behavior


def _refuse_duplicate(plan: Plan, session_id: str, now: datetime) -> None:
    held = (
        Subscription.select(Subscription.id)
        .where(
            (Subscription.platform == plan.platform_id)
            & (Subscription.session_id == session_id)
            & (Subscription.plan == plan.id)
            & (
                Subscription.status.in_(LIVE)
                | ((Subscription.status == "canceled") & (Subscription.ended_at > now))
            )
        )
        .first()
    )
    if held is not None:
        raise AlreadyExists(
            f"session {session_id!r} already holds subscription {held.id} to plan {plan.id!r}",
            "already_subscribed",
            metadata={"subscription_id": held.id},
        )


def _single_active_place(
    deps: Deps, platform: Platform, plan: Plan, new: Subscription, now: datetime
) -> Subscription | None:
    """Subgate's plan levels: one subscription with access per user.

    A higher tier pauses the holder and takes its place; an equal or lower
    tier waits, paused, for the holder to end. Returns the holder the new
    subscription waits for, if it waits.
    """
    if not platform.single_active_subscription:
        return None
    # Locked: a holder canceled or paused meanwhile is not paused again here.
    holder = scoping.lock_rows(
        deps.store,
        Subscription.select()
        .where(
            (Subscription.platform == platform.id)
            & (Subscription.session_id == new.session_id)
            & Subscription.status.in_(HOLDS_ACCESS)
        )
        .order_by(Subscription.plan_tier.desc()),
    ).first()
    if holder is None:
        return None
    if plan.tier <= holder.plan_tier:
        return holder
    holder.status_before_pause, holder.status = holder.status, "paused"
    holder.paused_at, holder.paused_for = now, new.id
    _touch(holder, now, "")
    holder.save()
    event(deps, events.SUBSCRIPTION_PAUSED, holder, now, paused_for=new.id)
    return None


# --- read ---------------------------------------------------------------------


def get(deps: Deps, principal: Principal, subscription_id: str) -> Subscription:
    return scoping.subscription(deps.store, principal, subscription_id)


def list_(
    deps: Deps,
    principal: Principal,
    session_id: str,
    status: str | None,
    page_size: int,
    page_token: str,
) -> paging.Listed[Subscription]:
    scope = f"ListSubscriptions|{principal.tenant_id}|{session_id}|{status}"
    page = paging.page(page_size, page_token, scope)
    query = scoping.subscriptions(principal)
    if session_id:
        query = query.where(Subscription.session_id == session_id)
    if status:
        query = query.where(Subscription.status == status)
    return paging.fetch(query, page, Subscription.id, newest_first=True)


# --- cancel, uncancel -----------------------------------------------------------


def cancel(deps: Deps, principal: Principal, subscription_id: str, now_: bool, ip: str) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        _cancel(deps, sub, now, cancel_now=now_)
        _touch(sub, now, ip)
        sub.save()
        return Outcome(sub)


def _cancel(deps: Deps, sub: Subscription, now: datetime, cancel_now: bool) -> None:
    plan = Plan.get_by_id(sub.plan_id)
    if not plan.can_cancel:
        raise FailedPrecondition(
            f"plan {plan.id!r} does not allow cancellation", "cancel_not_allowed"
        )
    if sub.status == "canceled":
        if cancel_now and sub.ended_at is not None and sub.ended_at > now:
            sub.cancel_at_period_end = False
            end(deps, sub, now)
            event(deps, events.SUBSCRIPTION_CANCELED, sub, now, cancel_now=True)
            return
        raise FailedPrecondition(
            "the subscription is already canceled", "invalid_status_transition"
        )
    check_transition(sub.status, "canceled")
    sub.status_before_cancel = sub.status
    sub.canceled_at = now
    sub.next_billing_date = None
    # Nothing paid for, or no access now: nothing to keep until period end.
    ends_now = cancel_now or sub.status in ("pending", "unpaid", "paused")
    sub.status = "canceled"
    if ends_now:
        sub.cancel_at_period_end = False
        end(deps, sub, now)
    else:
        sub.cancel_at_period_end = True
        sub.ended_at = sub.period_end
    event(deps, events.SUBSCRIPTION_CANCELED, sub, now, cancel_now=ends_now)


def end(deps: Deps, sub: Subscription, at: datetime) -> None:
    """Access ends at ``at``: unpaid invoices are voided, and a subscription
    waiting for this one's place (Subgate's plan levels) resumes."""
    sub.ended_at = at
    sub.end_handled = True
    sub.next_billing_date = None
    sub.grace_period_end = None
    Invoice.update(status="void", updated_at=at).where(
        (Invoice.subscription == sub.id) & Invoice.status.in_(("open", "draft"))
    ).execute()
    resume_waiting(deps, sub, at)


def resume_waiting(deps: Deps, ended: Subscription, now: datetime) -> None:
    """Resumes the subscriptions that waited for ``ended`` (Subgate's plan levels)."""
    # Locked: one canceled meanwhile is not resumed here.
    waiting = list(
        scoping.lock_rows(
            deps.store,
            Subscription.select()
            .where((Subscription.paused_for == ended.id) & (Subscription.status == "paused"))
            .order_by(Subscription.plan_tier.desc(), Subscription.id),
        )
    )
    if not waiting:
        return
    first, *others = waiting
    _resume(deps, first, now)
    first.save()
    for sub in others:
        # The others now wait for the one that took the place.
        sub.paused_for = first.id
        sub.save()


def _uncancel(deps: Deps, sub: Subscription, now: datetime) -> None:
    if not (
        sub.status == "canceled"
        and sub.cancel_at_period_end
        and sub.ended_at is not None
        and sub.ended_at > now
    ):
        raise FailedPrecondition(
            "only a subscription canceled at period end can be uncanceled, before that end",
            "invalid_status_transition",
        )
    sub.status = sub.status_before_cancel or "active"
    sub.status_before_cancel = None
    sub.cancel_at_period_end = False
    sub.canceled_at = None
    sub.ended_at = None
    sub.next_billing_date = sub.period_end
    sub.grace_period_end = sub.period_end + timedelta(days=sub.grace_period_days)
    event(deps, events.SUBSCRIPTION_UPDATED, sub, now, change="uncanceled")


# --- pause, resume ----------------------------------------------------------------


def pause(deps: Deps, principal: Principal, subscription_id: str, ip: str) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        _pause(deps, sub, now)
        _touch(sub, now, ip)
        sub.save()
        return Outcome(sub)


def _pause(deps: Deps, sub: Subscription, now: datetime) -> None:
    plan = Plan.get_by_id(sub.plan_id)
    if not plan.can_pause:
        raise FailedPrecondition(f"plan {plan.id!r} does not allow pausing", "pause_not_allowed")
    if sub.status == "paused":
        raise FailedPrecondition("the subscription is already paused", "invalid_status_transition")
    check_transition(sub.status, "paused")
    sub.status_before_pause, sub.status = sub.status, "paused"
    sub.paused_at = now
    event(deps, events.SUBSCRIPTION_PAUSED, sub, now)


def resume(deps: Deps, principal: Principal, subscription_id: str, ip: str) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        if sub.status != "paused":
            raise FailedPrecondition(
                f"only a paused subscription can resume; this one is {sub.status}",
                "invalid_status_transition",
            )
        if sub.paused_for is not None:
            raise FailedPrecondition(
                f"the subscription waits for {sub.paused_for} to end (one active subscription "
                "per user on this platform)",
                "invalid_status_transition",
            )
        _resume(deps, sub, now)
        _touch(sub, now, ip)
        sub.save()
        return Outcome(sub)


def _resume(deps: Deps, sub: Subscription, now: datetime) -> None:
    """Ends a pause: every date ahead moves by the time spent paused."""
    assert sub.paused_at is not None
    shift = now - sub.paused_at
    sub.billing_anchor += shift
    sub.period_start += shift
    sub.period_end += shift
    for name in ("next_billing_date", "grace_period_end", "trial_end"):
        value = getattr(sub, name)
        if value is not None:
            setattr(sub, name, value + shift)
    unpaid = Invoice.select().where(
        (Invoice.subscription == sub.id)
        & (Invoice.billing_cycle == sub.current_cycle)
        & Invoice.status.in_(("open", "draft"))
    )
    for invoice in unpaid:
        invoice.period_start += shift
        invoice.period_end += shift
        invoice.due_date += shift
        invoice.status = "open"
        invoice.updated_at = now
        invoice.save()
    sub.status = sub.status_before_pause or "active"
    sub.status_before_pause = None
    sub.paused_at = None
    sub.paused_for = None
    event(deps, events.SUBSCRIPTION_RESUMED, sub, now, paused_seconds=int(shift.total_seconds()))


# --- renew ----------------------------------------------------------------------------


def renew(
    deps: Deps, principal: Principal, subscription_id: str, cycles: int, uncancel: bool, ip: str
) -> Outcome:
    """Uncancels, and/or bills the next ``cycles`` cycles now (paying ahead)."""
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        if uncancel:
            _uncancel(deps, sub, now)
        issued: list[Invoice] = []
        if cycles:
            if sub.status != "active" or sub.payment_status != "paid":
                raise FailedPrecondition(
                    "only an active subscription with its current invoice paid can renew ahead; "
                    f"this one is {sub.status} and {sub.payment_status}",
                    "invalid_status_transition",
                )
            last = (
                Invoice.select(Invoice.billing_cycle)
                .where(Invoice.subscription == sub.id)
                .order_by(Invoice.billing_cycle.desc())
                .first()
            )
            for cycle in range(last.billing_cycle + 1, last.billing_cycle + 1 + cycles):
                issued.append(invoicing.issue(deps, sub, cycle, now, ip=ip))
        _touch(sub, now, ip)
        sub.save()
        return Outcome(sub, invoices=tuple(issued))


# --- update ------------------------------------------------------------------------------


def update(
    deps: Deps, principal: Principal, subscription_id: str, changes: Changes, ip: str
) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        details = _set_fields(sub, changes)
        if details:
            event(deps, events.SUBSCRIPTION_UPDATED, sub, now, changed=sorted(details))
        invoice = None
        if changes.plan_id is not None and changes.plan_id != sub.plan_id:
            invoice = _change_plan(deps, principal, sub, changes.plan_id, now, ip)
        elif changes.plan_id is not None:
            raise InvalidArgument.field("plan_id", "the subscription is already on this plan")
        if changes.cancel_at_period_end is True:
            _cancel(deps, sub, now, cancel_now=False)
        elif changes.cancel_at_period_end is False and sub.cancel_at_period_end:
            _uncancel(deps, sub, now)
        if changes.status is not None and changes.status != sub.status:
            _change_status(deps, sub, changes.status, now)
        _touch(sub, now, ip)
        sub.save()
        return Outcome(sub, invoice)


def _set_fields(sub: Subscription, changes: Changes) -> list[str]:
    changed = []
    for name in ("payment_method_id", "activation_url", "activation_token"):
        value = getattr(changes, name)
        if value is not None and value != getattr(sub, name):
            setattr(sub, name, value)
            changed.append(name)
    for name, value in changes.tax.items():
        if value != getattr(sub, name):
            setattr(sub, name, value)
            changed.append(name)
    if changes.metadata is not None and changes.metadata != sub.metadata:
        sub.metadata = changes.metadata
        changed.append("metadata")
    return changed


def _change_status(deps: Deps, sub: Subscription, target: str, now: datetime) -> None:
    if target == "canceled":
        _cancel(deps, sub, now, cancel_now=False)
    elif target == "paused":
        _pause(deps, sub, now)
    elif target == "active" and sub.status == "paused":
        if sub.paused_for is not None:
            raise FailedPrecondition(
                f"the subscription waits for {sub.paused_for} to end", "invalid_status_transition"
            )
        _resume(deps, sub, now)
    elif target == "active" and sub.status == "canceled":
        _uncancel(deps, sub, now)
    else:
        check_transition(sub.status, target)
        sub.status = target
        kind = events.SUBSCRIPTION_PAST_DUE if target == "past_due" else events.SUBSCRIPTION_UPDATED
        event(deps, kind, sub, now, status=target)


def _change_plan(
    deps: Deps, principal: Principal, sub: Subscription, plan_id: str, now: datetime, ip: str
) -> Invoice:
    """Moves to another plan now, crediting the unused part of the paid period."""
    if sub.status not in ("pending", "trialing", "active", "past_due"):
        raise FailedPrecondition(
            f"a {sub.status} subscription cannot change plan", "invalid_status_transition"
        )
    plan = scoping.plan(principal, plan_id)
    if plan.platform_id != sub.platform_id:
        raise InvalidArgument.field("plan_id", "the plan belongs to another platform")
    if plan.status != "active":
        raise FailedPrecondition(
            f"plan {plan.id!r} is {plan.status}, not active", "plan_not_active"
        )
    phases = plan.prices.get(sub.region)
    if plan.free or not phases:
        raise InvalidArgument.field("plan_id", f"the plan is not priced in {sub.region!r}")
    if phases[0]["price"]["currency_code"] != sub.currency:
        raise InvalidArgument.field("plan_id", f"the plan is not priced in {sub.currency}")

    current = (
        Invoice.select()
        .where((Invoice.subscription == sub.id) & (Invoice.billing_cycle == sub.current_cycle))
        .first()
    )
    credit = 0
    if current is not None and current.status == "paid" and current.billing_cycle > 0:
        credit = proration_credit(
            current.subtotal, sub.period_end - now, sub.period_end - sub.period_start
        )
    Invoice.update(status="void", updated_at=now).where(
        (Invoice.subscription == sub.id) & Invoice.status.in_(("open", "draft"))
    ).execute()
    # Invoices paid ahead for later cycles of the old plan are not carried
    # over; they stay as issued, and their cycles are skipped.
    later = (
        Invoice.select(Invoice.billing_cycle)
        .where(Invoice.subscription == sub.id)
        .order_by(Invoice.billing_cycle.desc())
        .first()
    )
    old_plan_id = sub.plan_id
    _take_plan(sub, plan)
    sub.phases = phases
    cycle = later.billing_cycle + 1
    sub.phase_cycle_offset = cycle - 1
    sub.current_cycle = cycle
    sub.billing_anchor = now
    sub.period_start, sub.period_end = now, add_interval(now, sub.billing_unit, sub.billing_value)
    sub.next_billing_date = sub.period_end
    sub.grace_period_end = now + timedelta(days=sub.grace_period_days)
    sub.trial_end = None if sub.status == "trialing" else sub.trial_end
    sub.proration_credit = credit
    sub.status = "active" if sub.cycle_count > 0 else "pending"
    sub.payment_status = "unpaid"
    invoice = invoicing.issue(deps, sub, cycle, now, proration_credit=credit, ip=ip)
    features.sync(deps, sub, now)
    if invoice.status == "paid":
        # The credit covered the whole first period of the new plan.
        sub.payment_status = "paid"
        sub.status = "active"
        sub.cycle_count += 1
    event(
        deps,
        events.SUBSCRIPTION_PLAN_CHANGED,
        sub,
        now,
        from_plan_id=old_plan_id,
        proration_credit=credit,
    )
    return invoice
