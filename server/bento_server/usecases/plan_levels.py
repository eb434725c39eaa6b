"""Subgate's plan levels: one subscription with access per user on a
single-active platform. A higher tier takes the place when it starts (paid,
or a trial), pausing the holder; an equal or lower tier waits, paused, for
the holder to end. Whether a subscription holds the place is the access
rule's answer, the same one CheckAccess gives."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from bento_server.billing import account
from bento_server.billing.access import decide_for
from bento_server.billing.statuses import SubscriptionStatus
from bento_server.store.models import Platform, Subscription
from bento_server.usecases import accounts, scoping
from bento_server.usecases.context import Deps

S = SubscriptionStatus
HOLDS_ACCESS = (S.TRIALING, S.ACTIVE, S.PAST_DUE)


def holder_of(
    deps: Deps, platform: Platform, new: Subscription, now: datetime
) -> Subscription | None:
    """The user's subscription holding the one place on a single-active
    platform (the highest tier that the access rule grants), locked."""
    if not platform.single_active_subscription:
        return None
    candidates = scoping.lock_rows(
        deps.store,
        Subscription.select()
        .where(
            (Subscription.platform == platform.id)
            & (Subscription.session_id == new.session_id)
            & (Subscription.id != new.id)
            & Subscription.status.in_(HOLDS_ACCESS)
        )
        .order_by(Subscription.plan_tier.desc(), Subscription.id),
    )
    for sub in candidates:
        if decide_for(sub, now).allowed:
            return cast("Subscription | None", sub)
    return None


def arbitrate(deps: Deps, platform: Platform, sub: Subscription, now: datetime) -> None:
    """Subgate's plan levels, when ``sub`` starts (paid, or a trial): a
    higher tier takes the place and pauses the holder; an equal or lower
    one waits, paused, until the holder ends."""
    holder = holder_of(deps, platform, sub, now)
    if holder is None:
        return
    if account.takes_place(sub.plan_tier, holder.plan_tier):
        held = accounts.load(deps.store, holder)
        accounts.write(deps, held, account.pause(held.account, now, waits_for=sub.id))
        return
    waiting = accounts.load(deps.store, sub)
    accounts.write(deps, waiting, account.pause(waiting.account, now, waits_for=holder.id))
