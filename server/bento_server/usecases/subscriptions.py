"""Subscriptions: create, read, update, cancel, pause, resume, renew, change plan.

Every operation that changes a subscription locks its row first (and any
invoice after it, always in that order), decides with the pure rules of
``bento_server.billing``, and writes the change with its events in one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bento_server import ids
from bento_server.billing import account
from bento_server.billing.status import check_transition
from bento_server.billing.statuses import EventType, PaymentStatus, PlanStatus, SubscriptionStatus
from bento_server.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from bento_server.store import statements
from bento_server.store.database import Store
from bento_server.store.models import Invoice, Plan, Subscription
from bento_server.usecases import (
    accounts,
    activation,
    events,
    features,
    paging,
    plan_levels,
    scoping,
)
from bento_server.usecases.context import Deps, Principal

S = SubscriptionStatus


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
    events.append(
        deps,
        kind,
        sub,
        now,
        app_ids=events.plan_app_ids(deps.store, sub.plan_id),
        data=data or None,
    )


# --- create -------------------------------------------------------------------


def create(deps: Deps, principal: Principal, request: NewSubscription, ip: str) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        plan = scoping.plan(deps.store, principal, request.plan_id)
        platform = scoping.platform(deps.store, plan.platform_id)
        if plan.status != PlanStatus.ACTIVE:
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
        _refuse_duplicate(deps.store, plan, request.session_id, now)

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
            status=S.PENDING,
            payment_status=PaymentStatus.UNPAID,
            billing_anchor=now,
            period_start=now,
            period_end=now,
        )
        _take_plan(sub, plan)
        # Plan levels: an equal or lower tier waits for the holder; a higher
        # one takes the place when it starts (plan_levels.arbitrate).
        holder = plan_levels.holder_of(deps, platform, sub, now)
        waits_for = holder.id if holder is not None and plan.tier <= holder.plan_tier else None
        step = account.start(
            accounts.subscription_state(sub),
            accounts.terms_of(plan, request.region),
            now,
            platform.fee_rate,
            waits_for,
        )
        accounts.apply(sub, step.account.subscription)
        statements.NEW_SUBSCRIPTION.save_new(deps.store, sub)
        event(deps, EventType.SUBSCRIPTION_CREATED, sub, now)
        features.sync(deps, sub, now, new=True)
        loaded = accounts.Loaded(sub, [], 0)
        rows = accounts.write(deps, loaded, step, ip)
        opened = None
        if step.started:
            plan_levels.arbitrate(deps, platform, sub, now)
        if sub.status == S.TRIALING:
            opened = activation.open_session(deps, sub, rows[id(step.issued[0])], now)
        opened = accounts.open_activations(deps, loaded, step, rows, now) or opened
        statements.save_changes(deps.store, sub)
        return Outcome(sub, rows[id(step.issued[0])], activation=opened)


def _take_plan(sub: Subscription, plan: Plan) -> None:
    # The billing terms come with the core's step (PlanTerms); these are
    # the plan's words the subscription and its invoices show.
    sub.plan = plan.id
    sub.plan_name = plan.name
    sub.plan_type = plan.plan_type


def _refuse_duplicate(store: Store, plan: Plan, session_id: str, now: datetime) -> None:
    held = statements.SUBSCRIPTION_HELD.first_row(
        store,
        platform_id=plan.platform_id,
        session_id=session_id,
        plan_id=plan.id,
        now=Subscription.ended_at.db_value(now),
    )
    if held is not None:
        raise AlreadyExists(
            f"session {session_id!r} already holds subscription {held[0]} to plan {plan.id!r}",
            "already_subscribed",
            metadata={"subscription_id": held[0]},
        )


# --- read ---------------------------------------------------------------------


def get(deps: Deps, principal: Principal, subscription_id: str) -> Subscription:
    return scoping.subscription(deps.store, principal, subscription_id)


async def get_on_loop(deps: Deps, principal: Principal, subscription_id: str) -> Subscription:
    """``get`` on the event loop, through its own connection (PostgreSQL)."""
    assert deps.loop_reads is not None
    return await scoping.subscription_on_loop(deps.loop_reads, principal, subscription_id)


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
        statements.save_changes(deps.store, sub)
        return Outcome(sub)


def _cancel(deps: Deps, sub: Subscription, now: datetime, cancel_now: bool) -> None:
    plan = Plan.get_by_id(sub.plan_id)
    if not plan.can_cancel:
        raise FailedPrecondition(
            f"plan {plan.id!r} does not allow cancellation", "cancel_not_allowed"
        )
    loaded = accounts.load(deps.store, sub)
    write_step(deps, loaded, account.cancel(loaded.account, now, cancel_now))


def write_step(deps: Deps, loaded: accounts.Loaded, step: account.Step) -> None:
    """Writes a step that may end the subscription: its place (Subgate's plan
    levels) goes to whoever waited for it, from the moment it ended."""
    sub = loaded.row
    was_handled = sub.end_handled
    accounts.write(deps, loaded, step)
    if sub.end_handled and not was_handled and sub.ended_at is not None:
        resume_waiting(deps, sub, sub.ended_at)


def resume_waiting(deps: Deps, ended: Subscription, now: datetime) -> None:
    """Resumes the subscriptions that waited for ``ended`` (Subgate's plan levels)."""
    # Locked: one canceled meanwhile is not resumed here.
    waiting = list(
        scoping.lock_rows(
            deps.store,
            Subscription.select()
            .where((Subscription.paused_for == ended.id) & (Subscription.status == S.PAUSED))
            .order_by(Subscription.plan_tier.desc(), Subscription.id),
        )
    )
    if not waiting:
        return
    first, *others = waiting
    loaded = accounts.load(deps.store, first)
    step = account.resume(loaded.account, now)
    rows = accounts.write(deps, loaded, step)
    accounts.open_activations(deps, loaded, step, rows, now)
    for sub in others:
        # The others now wait for the one that took the place.
        sub.paused_for = first.id
        statements.save_changes(deps.store, sub)


def _uncancel(deps: Deps, sub: Subscription, now: datetime) -> None:
    loaded = accounts.load(deps.store, sub)
    accounts.write(deps, loaded, account.uncancel(loaded.account, now))


# --- pause, resume ----------------------------------------------------------------


def pause(deps: Deps, principal: Principal, subscription_id: str, ip: str) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        _pause(deps, sub, now)
        _touch(sub, now, ip)
        statements.save_changes(deps.store, sub)
        return Outcome(sub)


def _pause(deps: Deps, sub: Subscription, now: datetime) -> None:
    plan = Plan.get_by_id(sub.plan_id)
    if not plan.can_pause:
        raise FailedPrecondition(f"plan {plan.id!r} does not allow pausing", "pause_not_allowed")
    loaded = accounts.load(deps.store, sub)
    accounts.write(deps, loaded, account.pause(loaded.account, now))


def resume(deps: Deps, principal: Principal, subscription_id: str, ip: str) -> Outcome:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        _resume(deps, sub, now)
        _touch(sub, now, ip)
        statements.save_changes(deps.store, sub)
        return Outcome(sub)


def _resume(deps: Deps, sub: Subscription, now: datetime) -> None:
    if sub.status == S.PAUSED and sub.paused_for is not None:
        raise FailedPrecondition(
            f"the subscription waits for {sub.paused_for} to end (one active subscription "
            "per user on this platform)",
            "invalid_status_transition",
        )
    loaded = accounts.load(deps.store, sub)
    accounts.write(deps, loaded, account.resume(loaded.account, now))


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
            loaded = accounts.load(deps.store, sub)
            step = account.pay_ahead(
                loaded.account, cycles, now, accounts.fee_rate(sub.platform_id)
            )
            rows = accounts.write(deps, loaded, step, ip)
            issued = [rows[id(invoice)] for invoice in step.issued]
        _touch(sub, now, ip)
        statements.save_changes(deps.store, sub)
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
            event(deps, EventType.SUBSCRIPTION_UPDATED, sub, now, changed=sorted(details))
        invoice = None
        opened = None
        if changes.plan_id is not None and changes.plan_id != sub.plan_id:
            invoice, opened = _change_plan(deps, principal, sub, changes.plan_id, now, ip)
        elif changes.plan_id is not None:
            raise InvalidArgument.field("plan_id", "the subscription is already on this plan")
        if changes.cancel_at_period_end is True:
            _cancel(deps, sub, now, cancel_now=False)
        elif changes.cancel_at_period_end is False and sub.cancel_at_period_end:
            _uncancel(deps, sub, now)
        if changes.status is not None and changes.status != sub.status:
            _change_status(deps, sub, changes.status, now)
        _touch(sub, now, ip)
        statements.save_changes(deps.store, sub)
        return Outcome(sub, invoice, activation=opened)


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
    if target == S.CANCELED:
        _cancel(deps, sub, now, cancel_now=False)
    elif target == S.PAUSED:
        _pause(deps, sub, now)
    elif target == S.ACTIVE and sub.status == S.PAUSED:
        _resume(deps, sub, now)
    elif target == S.ACTIVE and sub.status == S.CANCELED:
        _uncancel(deps, sub, now)
    else:
        check_transition(sub.status, target)
        sub.status = target
        kind = (
            EventType.SUBSCRIPTION_PAST_DUE
            if target == S.PAST_DUE
            else EventType.SUBSCRIPTION_UPDATED
        )
        event(deps, kind, sub, now, status=target)


def _change_plan(
    deps: Deps, principal: Principal, sub: Subscription, plan_id: str, now: datetime, ip: str
) -> tuple[Invoice | None, activation.Opened | None]:
    """Moves to another plan now, crediting the unused part of the paid period."""
    plan = scoping.plan(deps.store, principal, plan_id)
    if plan.platform_id != sub.platform_id:
        raise InvalidArgument.field("plan_id", "the plan belongs to another platform")
    if plan.status != PlanStatus.ACTIVE:
        raise FailedPrecondition(
            f"plan {plan.id!r} is {plan.status}, not active", "plan_not_active"
        )
    phases = plan.prices.get(sub.region)
    if plan.free or not phases:
        raise InvalidArgument.field("plan_id", f"the plan is not priced in {sub.region!r}")
    if phases[0]["price"]["currency_code"] != sub.currency:
        raise InvalidArgument.field("plan_id", f"the plan is not priced in {sub.currency}")
    loaded = accounts.load(deps.store, sub)
    step = account.change_plan(
        loaded.account, accounts.terms_of(plan, sub.region), now, accounts.fee_rate(sub.platform_id)
    )
    _take_plan(sub, plan)
    rows = accounts.write(deps, loaded, step, ip)
    features.sync(deps, sub, now)
    # Codes for apps the new plan adds open once the change is paid (for a
    # trial, once its first charged invoice is).
    opened = accounts.open_activations(deps, loaded, step, rows, now)
    if step.started:
        plan_levels.arbitrate(deps, scoping.platform(deps.store, sub.platform_id), sub, now)
    issued = rows[id(step.issued[0])] if step.issued else None
    return issued, opened
